"""IE holds the criteria a subject did not meet (SDTMIG: exceptions only), from Study A's protocol
(NCT07319793: R/R AML or MDS-IB, MRD-negative at 1 month, Ph+ excluded); a subject in remission at
transplant is a protocol deviation, never a CT error that hides the value."""

from __future__ import annotations

import pandas as pd

from dli_etl.harmonize.fields import standardize_code
from dli_etl.rules.eligibility import eligibility_findings, missing_criterion_findings
from dli_etl.sdtm.ie import build_ie
from dli_etl.specs import load_spec


def _enrollment(rows):
    frame = pd.DataFrame(rows, columns=["usubjid", "diagnosis", "disease_status", "mrd_1m", "ph_status"])
    return frame.assign(study="DLIPRO", site="S01", subjid=frame["usubjid"], rficdtc="2026-01-05", src_file="f",
                        src_sha256="", src_locator="", row_id=[f"r{i}" for i in range(len(frame))])


def test_ie_lists_unmet_inclusions_and_met_exclusions_only():
    enrollment = _enrollment([("A", "AML", "RELAPSED", "NEGATIVE", "NEGATIVE"),        # eligible: no record
                              ("B", "AML", "IN REMISSION", "NEGATIVE", "POSITIVE"),    # INCL01 not met, EXCL01 met
                              ("C", "ALL", "REFRACTORY", "POSITIVE", pd.NA)])          # INCL01 and INCL02 not met
    dm = pd.DataFrame({"USUBJID": ["A", "B", "C"], "RFSTDTC": ["2026-01-10"] * 3})
    ie = build_ie("DLIPRO", {"enrollment": enrollment}, dm)
    got = sorted(zip(ie["USUBJID"], ie["IETESTCD"], ie["IEORRES"], ie["IECAT"], strict=True))
    assert got == [("B", "EXCL01", "Y", "EXCLUSION"), ("B", "INCL01", "N", "INCLUSION"),
                   ("C", "INCL01", "N", "INCLUSION"), ("C", "INCL02", "N", "INCLUSION")]
    assert set(ie["IEDY"]) == {-5}


def test_remission_at_transplant_is_a_deviation_not_a_ct_error():
    coded = standardize_code(pd.Series(["CR1", "复发"]), load_spec("codelists")["DISEASE_STATUS"], {})
    assert coded.values.tolist() == ["IN REMISSION", "RELAPSED"] and not coded.problems["CT-UNMAPPED"][0].any()
    enrollment = _enrollment([("B", "AML", "IN REMISSION", "NEGATIVE", "NEGATIVE")])
    found = eligibility_findings(enrollment, load_spec("studies")["DLIPRO"]["eligibility"], lambda row, field: "")
    assert [(f.rule_id, f.field) for f in found] == [("PD-ELIGIBILITY", "disease_status")]


def test_a_blank_criterion_is_asked_for_once():
    enrollment = _enrollment([("A", "AML", "RELAPSED", pd.NA, "NEGATIVE"), ("B", "AML", pd.NA, "NEGATIVE", "NEGATIVE")])
    verbatim = pd.DataFrame({"diagnosis": ["AML", "AML"], "disease_status": ["RELAPSED", "CR?"],
                             "mrd_1m": ["", "NEGATIVE"], "ph_status": ["NEGATIVE", "NEGATIVE"]})
    found = missing_criterion_findings(enrollment, verbatim, load_spec("studies")["DLIPRO"]["eligibility"],
                                       lambda row, field: "")
    # A's MRD was left blank; B's "CR?" was written (its CT finding is the query), so it is not asked again
    assert [(f.subjid, f.field) for f in found] == [("A", "mrd_1m")]


def test_day_30_to_60_complications_are_an_unmet_inclusion():
    """INCL03 ("no GVHD or controlled GVHD, no severe infection, no organ failure at day 30-60") is not met
    for a subject the early-complication rule reports; one IE record however many findings."""
    enrollment = _enrollment([("A", "AML", "RELAPSED", "NEGATIVE", "NEGATIVE"),
                              ("B", "AML", "RELAPSED", "NEGATIVE", "NEGATIVE")])
    dm = pd.DataFrame({"USUBJID": ["A", "B"], "RFSTDTC": ["2026-01-10"] * 2})
    findings = pd.DataFrame({"rule_id": ["PD-ELIG-EARLY-COMPLICATION"] * 2 + ["PD-IST-DURATION"],
                             "site": ["S01"] * 3, "subjid": ["B", "B", "A"]})
    ie = build_ie("DLIPRO", {"enrollment": enrollment}, dm, findings)
    assert sorted(zip(ie["USUBJID"], ie["IETESTCD"], ie["IEORRES"], strict=True)) == [("B", "INCL03", "N")]
    assert build_ie("DLIPRO", {"enrollment": enrollment}, dm, findings.assign(site="S02")).empty  # another site's B
