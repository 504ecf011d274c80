"""Kaplan-Meier with Greenwood standard errors and log-transformed confidence intervals (the default of
R's survfit), its summary at fixed times and its quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.survival.distributions import normal_quantile


def kaplan_meier(time: np.ndarray, event: np.ndarray, conf_level: float = 0.95) -> pd.DataFrame:
    """One row per distinct event or censoring time: n_risk, n_event, survival, std_err, lower, upper."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    grid = np.unique(time)
    n_risk = np.array([(time >= t).sum() for t in grid])
    n_event = np.array([((time == t) & (event == 1)).sum() for t in grid])
    survival = np.cumprod(1 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), np.inf))
    se_log = np.sqrt(greenwood)
    z = normal_quantile(1 - (1 - conf_level) / 2)
    alive = survival > 0  # once survival reaches 0 the log scale has no interval (R gives NA)
    finite = np.where(alive, se_log, 0.0)
    lower = np.where(alive, survival * np.exp(-z * finite), np.nan)
    upper = np.where(alive, np.minimum(1.0, survival * np.exp(z * finite)), np.nan)
    return pd.DataFrame({"time": grid, "n_risk": n_risk, "n_event": n_event, "survival": survival,
                         "std_err": np.where(alive, survival * finite, 0.0), "lower": lower, "upper": upper})


def summary_at(table: pd.DataFrame, times: list[float], time: np.ndarray) -> pd.DataFrame:
    """R's ``summary(fit, times=)``: estimate at the last time <= t, subjects at risk at t, events since
    the previous reported time."""
    time = np.asarray(time, dtype=float)
    rows, previous = [], -np.inf
    for t in times:
        before = table[table["time"] <= t]
        last = before.iloc[-1] if not before.empty else None
        events = int(table[(table["time"] > previous) & (table["time"] <= t)]["n_event"].sum())
        rows.append({"time": t, "n_risk": int((time >= t).sum()), "n_event": events,
                     "survival": 1.0 if last is None else float(last["survival"]),
                     "std_err": 0.0 if last is None else float(last["std_err"]),
                     "lower": np.nan if last is None else float(last["lower"]),
                     "upper": np.nan if last is None else float(last["upper"])})
        previous = t
    return pd.DataFrame(rows)


def quantile(table: pd.DataFrame, p: float) -> float:
    """Time at which survival first drops to 1 - p or below; where it sits exactly on 1 - p over an
    interval, the midpoint of that interval (R's convention)."""
    target = 1 - p
    events = table[table["n_event"] > 0]
    below = events[events["survival"] <= target + 1e-12]
    if below.empty:
        return float("nan")
    first = below.iloc[0]
    if abs(first["survival"] - target) < 1e-12:
        later = events[events["time"] > first["time"]]
        if not later.empty:
            return float((first["time"] + later.iloc[0]["time"]) / 2)
    return float(first["time"])
