"""Response categories against bone-marrow blasts (clinical.md 4.1 ELN 2022: CR/CRh/CRi < 5%; PR 5-25% and a
>= 50% fall from pre-treatment), with the study's declared criteria from studies.yaml."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.rules.response_consistency import response_blast_findings
from dli_etl.specs import load_spec

CRITERIA = load_spec("studies")["DLIPLX"]["response_criteria"]


def _response(rows):
    frame = pd.DataFrame(rows, columns=["usubjid", "rsdt", "response", "bm_blasts"])
    return frame.assign(study="DLIPLX", site="JLU", subjid=frame["usubjid"], src_file="f", src_sha256="",
                        src_locator="", row_id=[f"r{i}" for i in range(len(frame))])


DLI = pd.DataFrame({"usubjid": ["A", "B"], "dlidt": ["2026-02-01", "2026-02-01"]})


def _flagged(rows):
    found = response_blast_findings(_response(rows), DLI, CRITERIA, lambda row, field: "")
    return [(f.subjid, f.value) for f in found]


@pytest.mark.parametrize(("category", "blasts", "flagged"), [
    ("CR", 4.9, False), ("CR", 5.0, True), ("CRi", 5.0, True), ("CRh", 4.0, False),
    ("PR", 4.9, True), ("PR", 5.0, False), ("PR", 25.0, False), ("PR", 25.1, True),
    ("PR", 52.0, True),  # the demo's "PR" with half the marrow blasts
    ("NR", 52.0, False),
])
def test_categories_against_blasts(category, blasts, flagged):
    assert bool(_flagged([("B", "2026-05-01", category, blasts)])) is flagged


def test_pr_needs_half_the_blasts_it_started_with():
    before = ("A", "2026-01-20", "NR", 40.0)
    assert _flagged([before, ("A", "2026-05-01", "PR", 20.0)]) == []  # 20 <= 50% of 40
    assert _flagged([before, ("A", "2026-05-01", "PR", 20.1)]) == [("A", "PR with 20.1% blasts")]


def test_generated_clean_responses_fit_their_definition(generated_clean):
    from dli_etl.pipeline import harmonize, ingest

    findings = harmonize(ingest("DLIPLX", generated_clean.landing)).findings
    assert (findings["rule_id"] == "RESPONSE-BLASTS-INCONSISTENT").sum() == 0
