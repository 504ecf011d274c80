"""A DLI needs its protocol indication (../shared/seeds): Study A's preemptive arm gives a DLI only once MRD
is positive (clinical.md 4.2 for positivity); Study B gives a second round only after PR, or CR with MRD
positive. Each case below is a sentence of a protocol."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.rules.dli_indication import preemptive_dli_findings, repeat_dli_findings
from dli_etl.rules.mrd import mrd_positivity_column, parse_mrd_result
from dli_etl.specs import load_spec

STUDIES = load_spec("studies")
PREEMPT = STUDIES["DLIPRO"]["preemptive_dli"]
REPEAT = STUDIES["DLIPLX"]["repeat_dli"]


def _frame(rows, columns, study="DLIPRO"):
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(study=study, site="S01", subjid=frame["usubjid"], src_file="f", src_sha256="",
                        row_id=[f"r{i}" for i in range(len(frame))])


def _mrd(rows):
    """MRD rows (usubjid, date, method, result as written), positivity derived as the pipeline does."""
    parsed = [parse_mrd_result(text) for *_, text in rows]
    frame = _frame([(u, d, m) for u, d, m, _ in rows], ["usubjid", "lbdtc", "mrd_method"]).assign(
        mrd_result_pct=[p.value_pct for p in parsed], mrd_result_censor=[p.censor for p in parsed],
        mrd_result_qual=[p.qualitative for p in parsed])
    return frame.assign(mrd_positive=mrd_positivity_column(frame, STUDIES["mrd_positivity"]))


RANDOMIZED = pd.DataFrame({"usubjid": ["P", "X"], "armcd": ["PREEMPT", "PROPH"]})


def _preempt(mrd_rows, dli_date="2026-03-01", subject="P"):
    dli = _frame([(subject, 1, dli_date)], ["usubjid", "dli_round", "dlidt"])
    return preemptive_dli_findings(dli, RANDOMIZED, _mrd(mrd_rows), PREEMPT["arm"],
                                   int(PREEMPT["mrd_positive_within_days"]), lambda row, field: "")


@pytest.mark.parametrize(("mrd_rows", "deviation"), [
    ([("P", "2026-02-20", "FLOW CYTOMETRY", "0.35%")], False),   # positive 9 days before
    ([("P", "2026-02-20", "FLOW CYTOMETRY", "0.01%")], False),   # MFC: >= 0.01% is positive
    ([("P", "2026-03-01", "FLOW CYTOMETRY", "0.5%")], False),    # the same day counts
    ([("P", "2026-02-20", "FLOW CYTOMETRY", "<0.01%")], True),   # negative
    ([("P", "2026-02-20", "QRT-PCR", "0.60%")], True),           # WT1 positive only above 0.60%
    ([("P", "2026-02-20", "QRT-PCR", "0.61%")], False),
    ([("P", "2026-01-29", "FLOW CYTOMETRY", "0.35%")], True),    # 31 days before: not the trigger
    ([("P", "2026-03-02", "FLOW CYTOMETRY", "0.35%")], True),    # after the DLI
    ([("Q", "2026-02-20", "FLOW CYTOMETRY", "0.35%")], True),    # another subject's result
    ([], True),                                                  # no MRD result at all
])
def test_a_preemptive_dli_needs_a_positive_mrd_before_it(mrd_rows, deviation):
    found = _preempt(mrd_rows)
    assert bool(found) is deviation
    if found:
        assert found[0].rule_id == "PD-PREEMPT-DLI-WITHOUT-MRD" and (found[0].form, found[0].field) == ("dli", "dlidt")


def test_a_prophylactic_dli_needs_no_mrd():
    assert _preempt([], subject="X") == []


def _repeat(responses, mrd_rows=(), dli_dates=("2026-01-10", "2026-03-01")):
    dli = _frame([("B", i + 1, d) for i, d in enumerate(dli_dates)], ["usubjid", "dli_round", "dlidt"], "DLIPLX")
    response = _frame([("B", d, r) for d, r in responses], ["usubjid", "rsdt", "response"], "DLIPLX")
    return repeat_dli_findings(dli, response, _mrd(list(mrd_rows)), list(REPEAT["qualifying"]),
                               list(REPEAT["qualifying_with_mrd"]), lambda row, field: "")


@pytest.mark.parametrize(("responses", "mrd_rows", "deviation"), [
    ([("2026-02-07", "PR")], [], False),                                               # PR
    ([("2026-02-07", "CR")], [("B", "2026-02-07", "FLOW CYTOMETRY", "0.2%")], False),  # CR, MRD positive
    ([("2026-02-07", "CRi")], [("B", "2026-02-07", "QRT-PCR", "1.1%")], False),
    ([("2026-02-07", "CR")], [("B", "2026-02-07", "FLOW CYTOMETRY", "<0.01%")], True),  # CR, MRD negative
    ([("2026-02-07", "CR")], [], True),                                                # CR, MRD unknown
    # MRD positive before round 1 says nothing about the response to it
    ([("2026-02-07", "CR")], [("B", "2026-01-01", "FLOW CYTOMETRY", "0.2%")], True),
    ([("2026-02-07", "NR")], [], True),                                                # no response
    ([("2026-02-07", "PD")], [], True),
    ([], [], True),                                                                    # not assessed
    ([("2026-01-05", "PR")], [], True),                                                # before round 1
    ([("2026-03-05", "PR")], [], True),                                                # after round 2
    ([("2026-02-01", "PR"), ("2026-02-20", "NR")], [], True),                          # the last one decides
    ([("2026-02-01", "NR"), ("2026-02-20", "PR")], [], False),
    ([("2026-01-10", "PR")], [], True),                                                # on round 1's day
    ([("2026-03-01", "PR")], [], False),                                               # on round 2's day
    ([("2026-02-07", "NR"), ("2026-02-07", "PR")], [], False),                         # a day's last decides
    ([("2026-02-07", "CR")], [("B", "2026-02-01", "FLOW CYTOMETRY", "0.2%"),           # the last MRD decides
                              ("B", "2026-02-20", "FLOW CYTOMETRY", "<0.01%")], True),
    ([("2026-02-07", "CR")], [("B", "2026-02-01", "FLOW CYTOMETRY", "<0.01%"),
                              ("B", "2026-03-01", "FLOW CYTOMETRY", "0.2%")], False),
])
def test_a_second_round_needs_pr_or_cr_with_mrd_positive(responses, mrd_rows, deviation):
    found = _repeat(responses, mrd_rows)
    assert bool(found) is deviation
    if found:
        assert found[0].rule_id == "PD-REPEAT-DLI-INDICATION" and found[0].value == "2026-03-01"


def test_the_first_round_needs_no_prior_response():
    assert _repeat([], dli_dates=("2026-01-10",)) == []


def test_generated_studies_give_each_dli_its_indication(run_clean):
    """The generator writes the MRD draw that triggers a preemptive DLI and the response that decides a
    second round, so clean data raise neither deviation while both situations occur."""
    findings = pd.read_parquet(run_clean.out / "findings" / "findings.parquet")
    assert not findings["rule_id"].isin(["PD-PREEMPT-DLI-WITHOUT-MRD", "PD-REPEAT-DLI-INDICATION"]).any()
    dli_b = pd.read_parquet(run_clean.out / "curated" / "DLIPLX" / "dli.parquet")
    assert (dli_b["dli_round"] == 2).any()
    dli_a = pd.read_parquet(run_clean.out / "curated" / "DLIPRO" / "dli.parquet")
    arms = pd.read_parquet(run_clean.out / "curated" / "DLIPRO" / "randomization.parquet")
    assert dli_a["usubjid"].isin(arms.loc[arms["armcd"] == "PREEMPT", "usubjid"]).any()
