"""The few distribution functions the estimates need, from ``scipy.special``.

``scipy.stats`` costs more than half a second to import on every run (issue 15); these are the same
numbers from the special functions it is built on: the normal quantile, the chi-square upper tail and
the Clopper-Pearson interval as beta quantiles.
"""

from __future__ import annotations

from scipy.special import betaincinv, chdtrc, ndtri


def normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF (``norm.ppf``)."""
    return float(ndtri(p))


def chi_square_upper_tail(statistic: float, df: float) -> float:
    """P(X > statistic) for a chi-square with ``df`` degrees of freedom (``chi2.sf``)."""
    return float(chdtrc(df, statistic))


def clopper_pearson(events: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval: the alpha/2 quantile of Beta(k, n-k+1) and the 1-alpha/2 quantile of
    Beta(k+1, n-k), with 0 and 1 at the edges (``binomtest(...).proportion_ci(method="exact")``)."""
    alpha = 1 - conf_level
    low = 0.0 if events == 0 else float(betaincinv(events, n - events + 1, alpha / 2))
    high = 1.0 if events == n else float(betaincinv(events + 1, n - events, 1 - alpha / 2))
    return low, high
