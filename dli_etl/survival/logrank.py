"""K-sample log-rank test (R's survdiff with rho = 0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dli_etl.survival.distributions import chi_square_upper_tail


@dataclass(frozen=True)
class LogRankResult:
    statistic: float
    df: int
    p_value: float
    observed: dict
    expected: dict


def logrank_test(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> LogRankResult:
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    group = np.asarray(group)
    levels = np.unique(group)
    k = len(levels)
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    for t in np.unique(time[event == 1]):
        at_risk = np.array([((time >= t) & (group == g)).sum() for g in levels], dtype=float)
        deaths = np.array([((time == t) & (event == 1) & (group == g)).sum() for g in levels], dtype=float)
        n, d = at_risk.sum(), deaths.sum()
        observed += deaths
        expected += d * at_risk / n
        if n > 1:
            share = at_risk / n
            variance += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    diff = (observed - expected)[:-1]
    statistic = float(diff @ np.linalg.solve(variance[:-1, :-1], diff))
    return LogRankResult(statistic, k - 1, chi_square_upper_tail(statistic, k - 1),
                         dict(zip(levels.tolist(), observed.tolist(), strict=True)),
                         dict(zip(levels.tolist(), expected.tolist(), strict=True)))
