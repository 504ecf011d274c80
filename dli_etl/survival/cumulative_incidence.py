"""Cumulative incidence with competing risks (Aalen-Johansen), with the delta-method variance of
Gray's cmprsk::cuminc (tie-corrected) and log(-log) confidence intervals, as tidycmprsk reports them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.survival.distributions import normal_quantile


def cumulative_incidence(time: np.ndarray, status: np.ndarray, cause: int = 1, conf_level: float = 0.95) -> pd.DataFrame:
    """One row per distinct time with any event: estimate, std_error, conf_low, conf_high.

    ``status``: 0 censored, any other code an event of that cause.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=int)
    z = normal_quantile(1 - (1 - conf_level) / 2)
    km, cif = 1.0, 0.0  # all-cause survival just before t, and the CIF of ``cause``
    v1 = v2 = v3 = 0.0
    rows = []
    for t in np.unique(time[status > 0]):
        at_risk = (time >= t).sum()
        d_cause = ((time == t) & (status == cause)).sum()
        d_other = ((time == t) & (status > 0) & (status != cause)).sum()
        km_next = km * (at_risk - d_cause - d_other) / at_risk
        cif += km * d_cause / at_risk
        for count, is_cause in ((d_other, False), (d_cause, True)):
            if count == 0 or (not is_cause and km_next <= 0):
                continue
            ties = 1 - (count - 1) / (at_risk - 1) if count > 1 else 1.0
            t6 = km * km * ties * count / (at_risk * at_risk)
            t3 = 1 / km_next if km_next > 0 else 0.0
            t4 = 1 + t3 * cif if is_cause else cif / km_next
            v1 += t4 * t4 * t6
            v2 += t3 * t4 * t6
            v3 += t3 * t3 * t6
        variance = v1 + cif * cif * v3 - 2 * cif * v2
        se = float(np.sqrt(max(variance, 0.0)))
        if 0 < cif < 1 and se > 0:
            factor = np.exp(z * se / (cif * np.log(cif)))
            low, high = cif ** (1 / factor), cif ** factor
        else:
            low = high = np.nan
        rows.append({"time": t, "estimate": cif, "std_error": se, "conf_low": low, "conf_high": high})
        km = km_next
    return pd.DataFrame(rows)


def cif_at(table: pd.DataFrame, times: list[float]) -> pd.DataFrame:
    """The step function read at ``times`` (0 before the first event)."""
    rows = []
    for t in times:
        before = table[table["time"] <= t]
        if before.empty:
            rows.append({"time": t, "estimate": 0.0, "std_error": 0.0, "conf_low": np.nan, "conf_high": np.nan})
        else:
            rows.append({"time": t, **before.iloc[-1].drop("time").to_dict()})
    return pd.DataFrame(rows)
