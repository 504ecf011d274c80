"""LB: blood counts, chemistry (test codes from ``specs/lb_tests.csv``, CTCAE grades) and MRD.
FA, RS and DD are mapped by the spec in ``specs/sdtm_mapping.csv``."""

from __future__ import annotations

import csv
from functools import partial
from importlib import resources

import pandas as pd

from dli_etl.distinct_rows import map_distinct
from dli_etl.rules.ctcae_chemistry import CHEMISTRY_TERMS, ctcae_grade_chemistry, reference_range_indicator
from dli_etl.rules.ctcae_consistency import LAB_TERMS, reported_grades
from dli_etl.sdtm.algorithms import (
    LINEAGE_COLUMNS,
    conform,
    domain_variables,
    finish_domain,
    study_day,
    with_reference_start,
)

MRD_TESTS = {  # sponsor-extended LBTESTCD (no CDISC code for MRD by flow or WT1; clinical.md 6.5)
    "FLOW CYTOMETRY": ("MRDFLOW", "Measurable Residual Disease by Flow", "FLOW CYTOMETRY"),
    "QRT-PCR": ("WT1ABL1", "WT1/ABL1 Transcript Ratio",
                "QUANTITATIVE REVERSE TRANSCRIPTASE POLYMERASE CHAIN REACTION"),
}
# a result whose method the site left blank (a REQ-MISSING query) keeps its record: the thresholds are per
# method (clinical.md 4.2), so its positivity cannot be judged until the site answers
MRD_METHOD_NOT_RECORDED = ("MRD", "Measurable Residual Disease, Method Not Recorded", pd.NA)
_TERM_FOR_TEST = {v: k for k, v in LAB_TERMS.items()}


def lb_tests() -> list[dict[str, str]]:
    text = (resources.files("dli_etl") / "specs" / "lb_tests.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def lab_result_reported(form: pd.DataFrame, field: str) -> pd.Series:
    """Per row: was this analyte reported? A typed value, or verbatim text for a quarantined one (which
    still gets its LB record, with LBORRES as written and LBSTRESN null)."""
    reported = form[field].notna()
    if f"{field}_censored" in form.columns:
        reported = reported | form[f"{field}_censored"].notna()
    if f"{field}_orig" in form.columns:
        reported = reported | (form[f"{field}_orig"].astype("string").str.strip().fillna("") != "")
    return reported.astype(bool)


def _limit_text(limit: object) -> object:
    return pd.NA if pd.isna(limit) else f"{float(limit):g}"


def last_before_exposure(rows: pd.DataFrame, dm: pd.DataFrame) -> pd.Series:
    """Per row: the subject's last result of this test on or before the first DLI (RFXSTDTC; the
    reference start when the subject had no DLI). This is the baseline of the CTCAE grades."""
    start = dm.set_index("USUBJID")
    anchor = start.get("RFXSTDTC", start["RFSTDTC"]).astype("string").fillna(start["RFSTDTC"].astype("string"))
    day = rows["lbdtc"].astype("string").str.slice(0, 10)
    cutoff = rows["usubjid"].map(anchor).astype("string")
    complete = (day.str.len() == 10).fillna(False).astype(bool)
    before = (day <= cutoff).fillna(False).astype(bool)
    eligible = rows["_value"].notna().to_numpy() & complete.to_numpy() & before.to_numpy()
    eligible = pd.Series(eligible, index=rows.index)
    flag = pd.Series(False, index=rows.index)
    if eligible.any():
        last = rows[eligible].assign(_day=day[eligible]).sort_values("_day", kind="stable").groupby("usubjid").tail(1)
        flag.loc[last.index] = True
    return flag


def chemistry_grades(rows: pd.DataFrame, baseline_flag: pd.Series, field: str) -> pd.Series:
    """CTCAE v5.0 grade per row of a chemistry test, against the site's ULN and the subject's baseline."""
    baseline = rows.loc[baseline_flag, ["usubjid", "_value"]].set_index("usubjid")["_value"]
    base = rows["usubjid"].map(baseline)
    return pd.Series(map_distinct(partial(ctcae_grade_chemistry, field), rows["_value"], rows["_hi"], base),
                     index=rows.index, dtype="object")


def build_lb(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """One record per test and sample; LBSTRESN in standard units, LBTOXGR from CTCAE v5.0 where graded.

    A result that was reported but quarantined (implausible, unknown unit) keeps its record with the
    verbatim in LBORRES and null standard results, so the draw is never lost."""
    frames = []
    for test in lb_tests():
        form = curated.get(test["form"])
        if form is None or form.empty or test["field"] not in form.columns:
            continue
        rows = with_reference_start(form[lab_result_reported(form, test["field"])], dm)
        value = rows[test["field"]].astype("Float64")
        original = rows.get(f"{test['field']}_orig", value.astype("string"))
        # a censored result ("<0.1", "未检出") has a character result only
        censored = rows.get(f"{test['field']}_censored", pd.Series(pd.NA, index=rows.index, dtype="string"))
        stresc = censored.astype("string").fillna(value.astype("string"))
        term = _TERM_FOR_TEST.get(test["field"])
        grade = reported_grades(rows, test["field"], term)
        field = test["field"]
        low = rows.get(f"{field}_lo", pd.Series(pd.NA, index=rows.index, dtype="Float64")).astype("Float64")
        high = rows.get(f"{field}_hi", pd.Series(pd.NA, index=rows.index, dtype="Float64")).astype("Float64")
        baseline_flag = last_before_exposure(rows.assign(_value=value), dm)
        if field in CHEMISTRY_TERMS:
            grade = chemistry_grades(rows.assign(_value=value, _hi=high), baseline_flag, field)
        frames.append(rows.assign(
            LBTESTCD=test["LBTESTCD"], LBTEST=test["LBTEST"], LBCAT=test["LBCAT"], LBSPEC=test["LBSPEC"],
            LBORRES=original.astype("string"), LBORRESU=rows.get(f"{test['field']}_orig_unit", test["LBSTRESU"]), LBSTRESN=value, LBSTRESC=stresc, LBSTRESU=test["LBSTRESU"],
            LBORNRLO=rows.get(f"{field}_orig_lo", low).astype("Float64").map(_limit_text).astype("string"),
            LBORNRHI=rows.get(f"{field}_orig_hi", high).astype("Float64").map(_limit_text).astype("string"),
            LBSTNRLO=low, LBSTNRHI=high,
            LBNRIND=map_distinct(reference_range_indicator, value, low, high),
            LBMETHOD=pd.NA, LBLLOQ=pd.NA, LBTOXGR=grade.map(lambda g: pd.NA if g is None or pd.isna(g) else str(int(g))),
            LBLOBXFL=baseline_flag.map({True: "Y"}).astype("string"),
            LBDTC=rows["lbdtc"]))
    mrd = curated.get("mrd")
    if mrd is not None and not mrd.empty:
        rows = with_reference_start(mrd, dm)
        method = rows["mrd_method"].astype(object)
        code = method.map(lambda m: MRD_TESTS.get(m, MRD_METHOD_NOT_RECORDED)[0])
        name = method.map(lambda m: MRD_TESTS.get(m, MRD_METHOD_NOT_RECORDED)[1])
        lbmethod = method.map(lambda m: MRD_TESTS.get(m, MRD_METHOD_NOT_RECORDED)[2])
        stresc = (rows["mrd_result_censor"].fillna("") + rows["mrd_result_pct"].astype("string")).where(
            rows["mrd_result_pct"].notna(), rows["mrd_result_qual"])
        frames.append(rows.assign(
            LBTESTCD=code, LBTEST=name, LBCAT="MEASURABLE RESIDUAL DISEASE", LBSPEC=rows["specimen"],
            LBORRES=rows["mrd_result_text"] if "mrd_result_text" in rows.columns else rows["mrd_result"],
            LBORRESU="%", LBSTRESC=stresc,
            LBSTRESN=rows["mrd_result_pct"].where(rows["mrd_result_censor"].fillna("") == ""), LBSTRESU="%",
            LBMETHOD=lbmethod, LBLLOQ=rows["mrd_lod"], LBTOXGR=pd.NA, LBDTC=rows["lbdtc"]))
    if not frames:
        return conform(pd.DataFrame(), "LB")
    # each test's rows carry every column of their form (all analytes, their units and ranges); only LB
    # variables and lineage go on, or the concatenation is many times the domain (most of a run's peak)
    keep = set(domain_variables("LB")) | set(LINEAGE_COLUMNS) | {"RFSTDTC"}
    lb = pd.concat([frame[[c for c in frame.columns if c in keep]] for frame in frames], ignore_index=True)
    lb["LBDY"] = study_day(lb["LBDTC"], lb["RFSTDTC"]).astype("Float64")
    return finish_domain(lb, study, "LB", ["LBDTC", "LBCAT", "LBTESTCD", "LBORRES"])


