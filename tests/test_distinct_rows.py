"""map_distinct must give, row for row, what calling the function on every row gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dli_etl.distinct_rows import map_distinct
from dli_etl.rules.ctcae_chemistry import CHEMISTRY_TERMS, ctcae_grade_chemistry, reference_range_indicator


def _per_row(func, *columns):
    return [func(*(None if pd.isna(v) else float(v) for v in row)) for row in zip(*columns, strict=True)]


def _labs(n: int, seed: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    value = pd.Series(rng.choice([0.0, -0.0, 12.5, 40.0, 120.0, 121.0, 400.0, np.nan], n), dtype="Float64")
    value[rng.random(n) < 0.1] = pd.NA
    uln = pd.Series(rng.choice([40.0, 41.0, np.nan], n), dtype="Float64")
    baseline = pd.Series(rng.choice([10.0, 50.0, np.nan], n), dtype="Float64")
    return value, uln, baseline


@pytest.mark.parametrize("analyte", sorted(CHEMISTRY_TERMS))
def test_chemistry_grades_equal_the_per_row_grades(analyte):
    value, uln, baseline = _labs(5_000, 7)

    def grade(v, u, b):
        return ctcae_grade_chemistry(analyte, v, u, b)

    assert map_distinct(grade, value, uln, baseline) == _per_row(grade, value, uln, baseline)


def test_reference_range_indicator_equals_the_per_row_indicator():
    value, low, high = _labs(5_000, 11)
    assert map_distinct(reference_range_indicator, value, low, high) == _per_row(
        reference_range_indicator, value, low, high)


def test_the_function_runs_once_per_distinct_row_and_missing_is_none():
    calls = []

    def seen(*row):
        calls.append(row)
        return row

    a = pd.Series([1.0, 1.0, None, None, 2.0, 1.0], dtype="Float64")
    b = pd.Series([3.0, 3.0, None, None, 3.0, 4.0], dtype="Float64")
    got = map_distinct(seen, a, b)
    assert got == [(1.0, 3.0), (1.0, 3.0), (None, None), (None, None), (2.0, 3.0), (1.0, 4.0)]
    assert sorted(calls, key=str) == sorted([(1.0, 3.0), (None, None), (2.0, 3.0), (1.0, 4.0)], key=str)


def test_nan_of_a_float_column_and_na_of_a_masked_column_are_both_missing():
    plain = pd.Series([np.nan, 1.0, math.nan])
    masked = pd.Series([pd.NA, 1.0, None], dtype="Float64")
    assert map_distinct(lambda x, y: (x, y), plain, masked) == [(None, None), (1.0, 1.0), (None, None)]


def test_empty_columns_give_no_result_and_unequal_columns_are_refused():
    assert map_distinct(reference_range_indicator, pd.Series([], dtype="Float64"), pd.Series([], dtype="Float64"),
                        pd.Series([], dtype="Float64")) == []
    with pytest.raises(ValueError, match="differ in length"):
        map_distinct(lambda x, y: x, pd.Series([1.0]), pd.Series([1.0, 2.0]))
