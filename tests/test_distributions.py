"""The scipy.special forms give the numbers scipy.stats gives (scipy.stats stays out of the run's imports)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest, chi2, norm

from dli_etl.survival.distributions import chi_square_upper_tail, clopper_pearson, normal_quantile


@pytest.mark.parametrize("p", [0.5, 0.975, 0.995, 0.025])
def test_normal_quantile(p):
    assert normal_quantile(p) == pytest.approx(norm.ppf(p), abs=1e-12)


@pytest.mark.parametrize(("x", "df"), [(3.84, 1), (0.5, 2), (12.0, 3), (0.0, 1)])
def test_chi_square_upper_tail(x, df):
    assert chi_square_upper_tail(x, df) == pytest.approx(chi2.sf(x, df), abs=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (37, 100), (1, 1), (14, 28)])
def test_clopper_pearson(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-10)
