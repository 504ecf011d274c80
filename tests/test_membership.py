"""``membership.is_in`` answers as pandas' ``isin`` does, for every kind of key set the pipeline passes."""

import numpy as np
import pandas as pd
import pytest

from dli_etl.membership import is_in

# (id, keys): ids spelled out, since a set's repr changes order between processes (xdist workers)
LOOKUPS = [
    ("two keys", {"a", "c"}),
    ("a key and a missing value", {"a", None}),  # a missing value matches a missing value
    ("empty set", set()),
    ("no match", frozenset({"zz"})),
    ("text and a number", ["a", 1]),  # keys that are not all text: pandas' own isin
    ("text Series", pd.Series(["c"], dtype="string")),
    ("Index", pd.Index(["d"])),
    ("object array", np.array(["a"], dtype=object)),
    ("Arrow array", pd.Series(["a", "d"], dtype="string").unique()),
    ("NaN", {np.nan}),
]


@pytest.mark.parametrize("dtype", ["string", "str", object])
@pytest.mark.parametrize("lookup", [keys for _, keys in LOOKUPS], ids=[name for name, _ in LOOKUPS])
def test_is_in_answers_as_pandas_isin(lookup, dtype):
    values = pd.Series(["a", None, "c", "d", "a"], dtype=dtype, index=[5, 6, 7, 8, 9], name="row_id")
    expected = values.isin(list(lookup) if isinstance(lookup, (set, frozenset)) else lookup)
    got = is_in(values, lookup)
    assert got.tolist() == expected.tolist()
    assert got.index.equals(values.index) and got.dtype == bool


def test_a_large_key_set_gives_the_same_answer():
    keys = pd.Series([f"R{i:06d}" for i in range(0, 20_000, 3)], dtype="string")
    values = pd.Series([f"R{i:06d}" for i in range(0, 20_000, 7)], dtype="string")
    assert is_in(values, set(keys)).tolist() == values.isin(keys).tolist()
    assert is_in(values, set(keys)).sum() == len(range(0, 20_000, 21))
