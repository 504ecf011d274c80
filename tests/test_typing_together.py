"""Raws that sites' profiles read alike are typed as one frame; each must get back exactly what typing it
alone gives: its rows and index, its findings in order, and cell locators from its own column map."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from dli_etl import pipeline
from dli_etl.harmonize.forms import harmonize_raw, harmonize_raws, typing_key
from dli_etl.harmonize.study import HARMONIZED_FORMS
from dli_etl.ingest.raw_form import RawForm


def _assert_same(together, alone):
    assert len(together) == len(alone)
    for (frame, found, verbatim), (frame1, found1, verbatim1) in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(frame, frame1)
        pd.testing.assert_frame_equal(verbatim, verbatim1)
        assert found == found1


def _enrollment(site: str, rows: list[tuple[str, str, str]], index: list[int]) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame({"study": ["DLIPRO"] * n, "site": [site] * n, "subjid": [r[0] for r in rows],
                         "sex": [r[1] for r in rows], "rficdtc": [r[2] for r in rows], "brthdtc": ["1970-01-01"] * n,
                         "diagnosis": ["AML"] * n, "src_file": [f"{site}.xlsx"] * n, "src_sha256": ["0"] * n,
                         "src_format": ["xlsx"] * n, "src_locator": [f"E!{i + 2}" for i in range(n)],
                         "src_row": [str(i + 2) for i in range(n)], "row_id": [f"{site}#{i}" for i in range(n)]},
                        dtype="string", index=index)


def test_findings_keep_their_own_raws_order_and_column_letters():
    # the two sites put sex in different columns; one has a control character, both have bad dates
    first = RawForm("DLIPRO", "enrollment", "xlsx", "S01.xlsx",
                    _enrollment("S01", [("001", "M", "2025-02-30"), ("002", "\x07F", "")], index=[5, 9]),
                    source_columns={"sex": "C", "rficdtc": "D"})
    second = RawForm("DLIPRO", "enrollment", "xlsx", "S02.xlsx",
                     _enrollment("S02", [("001", "X", "2025-13-01"), ("003", "F", "2025-01-03"), ("004", "", "")],
                                 index=[0, 1, 2]),
                     source_columns={"sex": "F", "rficdtc": "B"})
    assert typing_key(first) == typing_key(second)
    together = harmonize_raws([first, second], "enrollment")
    alone = [harmonize_raw(first, "enrollment"), harmonize_raw(second, "enrollment")]
    _assert_same(together, alone)
    assert together[0][0].index.tolist() == [5, 9]
    assert {f.src_locator for f in together[1][1] if f.field == "sex"} == {"E!F2", "E!F4"}
    assert any(f.rule_id == "TEXT-CONTROL-CHARACTER" for f in together[0][1])
    assert not any(f.rule_id == "TEXT-CONTROL-CHARACTER" for f in together[1][1])


def test_a_different_date_format_or_unit_is_a_different_typing_key():
    frame = _enrollment("S01", [("001", "M", "2025-01-02")], index=[0])
    base = RawForm("DLIPRO", "enrollment", "xlsx", "S01.xlsx", frame)
    assert typing_key(base) != typing_key(RawForm("DLIPRO", "enrollment", "xlsx", "S01.xlsx", frame,
                                                  date_format="%d/%m/%Y"))
    assert typing_key(base) != typing_key(RawForm("DLIPRO", "enrollment", "xlsx", "S01.xlsx", frame,
                                                  units={"hb": "g/L"}))
    assert typing_key(base) != typing_key(RawForm("DLIPRO", "enrollment", "xlsx", "S01.xlsx",
                                                  frame.drop(columns=["diagnosis"])))


@pytest.mark.parametrize("study", pipeline.STUDIES)
def test_every_generated_form_types_together_as_it_types_alone(generated_defects, study):
    ingested = pipeline.ingest(study, generated_defects.landing)
    groups: dict[tuple[str, str], list[RawForm]] = defaultdict(list)
    for raw in ingested.forms:
        groups[(raw.form, typing_key(raw))].append(raw)
    if study == "DLIPRO":  # its sites send lab sheets that their profiles read alike
        assert any(len(raws) > 1 for raws in groups.values())
    for (form, _), raws in groups.items():
        if form in HARMONIZED_FORMS:
            _assert_same(harmonize_raws(raws, form), [harmonize_raw(raw, form) for raw in raws])
