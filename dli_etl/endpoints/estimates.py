"""One estimate per call, each from a tested estimator: exact binomial proportions, Kaplan-Meier and
Aalen-Johansen at a landmark, log-rank and Gray's tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dli_etl.survival.cumulative_incidence import cif_at, cumulative_incidence
from dli_etl.survival.distributions import clopper_pearson
from dli_etl.survival.gray import gray_test
from dli_etl.survival.kaplan_meier import kaplan_meier, summary_at
from dli_etl.survival.logrank import logrank_test


def proportion(events: int, n: int, conf_level: float = 0.95) -> dict:
    """n, events, estimate and the Clopper-Pearson exact interval."""
    if n == 0:
        return {"N": 0, "EVENTS": 0, "ESTIMATE": math.nan, "CI_LOW": math.nan, "CI_HIGH": math.nan}
    low, high = clopper_pearson(int(events), int(n), conf_level)
    return {"N": int(n), "EVENTS": int(events), "ESTIMATE": events / n, "CI_LOW": low, "CI_HIGH": high}


def survival_at(time: pd.Series, event: pd.Series, day: float) -> dict:
    """Kaplan-Meier survival at ``day`` with the Greenwood log-scale 95% CI."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=int)
    if len(time) == 0:
        return {"N": 0, "EVENTS": 0, "ESTIMATE": math.nan, "CI_LOW": math.nan, "CI_HIGH": math.nan, "AT_RISK": 0}
    row = summary_at(kaplan_meier(time, event), [day], time).iloc[0]
    return {"N": len(time), "EVENTS": int(((time <= day) & (event == 1)).sum()), "ESTIMATE": float(row["survival"]),
            "CI_LOW": float(row["lower"]), "CI_HIGH": float(row["upper"]), "AT_RISK": int(row["n_risk"])}


def incidence_at(time: pd.Series, status: pd.Series, day: float) -> dict:
    """Cumulative incidence of cause 1 at ``day`` (Aalen-Johansen, status 2 competing), log-log 95% CI."""
    time, status = np.asarray(time, dtype=float), np.asarray(status, dtype=int)
    empty = {"N": len(time), "EVENTS": 0, "ESTIMATE": 0.0 if len(time) else math.nan, "CI_LOW": math.nan,
             "CI_HIGH": math.nan, "AT_RISK": int((time >= day).sum())}
    if len(time) == 0 or not (status > 0).any():
        return empty
    row = cif_at(cumulative_incidence(time, status, cause=1), [day]).iloc[0]
    return {**empty, "EVENTS": int(((time <= day) & (status == 1)).sum()), "ESTIMATE": float(row["estimate"]),
            "CI_LOW": float(row["conf_low"]), "CI_HIGH": float(row["conf_high"])}


def logrank_p(time: pd.Series, event: pd.Series, group: pd.Series) -> float:
    if group.nunique() < 2 or int(np.asarray(event).sum()) == 0:
        return math.nan
    return logrank_test(time, event, group).p_value


def gray_p(time: pd.Series, status: pd.Series, group: pd.Series) -> float:
    if group.nunique() < 2 or not (np.asarray(status) == 1).any():
        return math.nan
    return gray_test(time, status, group, cause=1).p_value
