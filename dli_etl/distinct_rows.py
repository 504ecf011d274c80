"""A pure function of a few numbers, evaluated once per distinct combination of them instead of once
per row.

A lab result's CTCAE grade and its LBNRIND depend only on the value, the site's limits and the
subject's baseline. At registry scale the lab domain holds millions of rows but far fewer distinct
combinations, and a Python call per row was seconds of the SDTM step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


def map_distinct(func: Callable[..., T], *columns: pd.Series) -> list[T]:
    """``[func(*row) for row in zip(*columns)]`` with each value a ``float`` or ``None`` (missing),
    calling ``func`` once per distinct row. The columns are numeric and of one length."""
    if not columns:
        raise ValueError("map_distinct needs at least one column")
    if len({len(c) for c in columns}) != 1:
        raise ValueError("map_distinct: the columns differ in length")
    if len(columns[0]) == 0:
        return []
    numbers = [pd.array(c, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan) for c in columns]
    # every NaN the same bits, so one missing value is one key; -0.0 stays apart from 0.0, which can
    # only call func once more with the value a row would have passed anyway
    bits = np.column_stack([np.where(np.isnan(n), np.nan, n).view(np.int64) for n in numbers])
    distinct, inverse = np.unique(bits, axis=0, return_inverse=True)
    results = np.empty(len(distinct), dtype=object)
    for i, row in enumerate(distinct.view(np.float64)):
        results[i] = func(*(None if np.isnan(x) else float(x) for x in row))
    return list(results[inverse.reshape(-1)])
