"""Eligibility per protocol, reported as protocol deviations (warnings), never as data errors."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.treatment_timeline import emit_row_findings, transplant_day

Locate = Callable[[pd.Series, str], str]


def eligibility_findings(enrollment: pd.DataFrame, criteria: dict[str, list[str]], locate: Locate) -> list[Finding]:
    """A collected value outside the protocol's allowed values (e.g. Study A: Ph+ excluded)."""
    out: list[Finding] = []
    for field, allowed in criteria.items():
        if field not in enrollment.columns:
            continue
        bad = enrollment[enrollment[field].notna() & ~enrollment[field].isin(allowed)]
        for _, row in bad.iterrows():
            out.append(Finding("PD-ELIGIBILITY", str(row["study"]), str(row["site"]), str(row["subjid"]), "enrollment",
                               field, str(row[field]), " or ".join(allowed), "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out


def missing_criterion_findings(enrollment: pd.DataFrame, verbatim: pd.DataFrame, criteria: dict[str, list[str]],
                               locate: Locate) -> list[Finding]:
    """A criterion field left blank at the source: eligibility cannot be confirmed, so the site is asked. A
    value that was written but could not be coded has its own finding and is not asked about twice."""
    from dli_etl.specs import load_spec

    required = {n for n, f in load_spec("forms")["enrollment"]["fields"].items() if f.get("required")}
    out: list[Finding] = []
    for field in criteria:
        if field not in enrollment.columns or field in required:
            continue  # a required field left blank is already a REQ-MISSING query
        text = verbatim[field] if field in verbatim.columns else pd.Series(pd.NA, index=enrollment.index)
        blank = (text.isna() | (text.astype("string").str.strip() == "")).fillna(True).astype(bool)
        for _, row in enrollment[blank.to_numpy()].iterrows():
            out.append(Finding("ELIG-CRITERION-MISSING", str(row["study"]), str(row["site"]), str(row["subjid"]),
                               "enrollment", field, "", " or ".join(criteria[field]), "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, field), str(row["row_id"])))
    return out


def consent_after_hsct_findings(enrollment: pd.DataFrame, transplant: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Study A enrolls before transplant: consent after HSCT is a deviation."""
    hsct = transplant.drop_duplicates("usubjid")[["usubjid", "hsctdt"]]
    merged = enrollment.merge(hsct, on="usubjid", how="left")
    merged.index = enrollment.index
    gap = transplant_day(merged["rficdtc"], merged["hsctdt"])
    out = []
    for idx in merged.index[(gap > 0).fillna(False).to_numpy(dtype=bool)]:
        row = merged.loc[idx]
        out.append(Finding("ORDER-CONSENT-AFTER-HSCT", str(row["study"]), str(row["site"]), str(row["subjid"]),
                           "enrollment", "rficdtc", str(row["rficdtc"]), str(row["hsctdt"]), "", str(row["src_file"]),
                           str(row["src_sha256"]), locate(row, "rficdtc"), str(row["row_id"])))
    return out



def early_window_findings(transplant: pd.DataFrame, randomization: pd.DataFrame, ae: pd.DataFrame,
                          agvhd: pd.DataFrame, window: dict, locate_for: Callable[[str], Locate]) -> list[Finding]:
    """``PD-ELIG-EARLY-COMPLICATION`` (Study A: "no evidence of GVHD or controlled GVHD, no severe infections,
    and no organ failure within 30-60 days post-transplant"): a severe infection or organ failure AE
    (grade >= ``severe_grade``) going on at some point of the HSCT-day window, or an acute GVHD assessed in
    the window at an uncontrolled MAGIC grade, known at randomization (started on or before it).
    Eligibility is decided at randomization: an event after it is an outcome on study, not a reason the
    subject was not eligible."""
    if transplant.empty or randomization.empty:
        return []
    low, high = (int(d) for d in window["days"])
    hsct = transplant.drop_duplicates("usubjid").set_index("usubjid")["hsctdt"]
    randomized = randomization.drop_duplicates("usubjid").set_index("usubjid")["randdt"]
    out: list[Finding] = []

    def known_at_randomization(frame: pd.DataFrame, day: pd.Series) -> pd.Series:
        limit = transplant_day(frame["usubjid"].map(randomized), frame["usubjid"].map(hsct)).astype("Float64")
        return (day.astype("Float64") <= limit).fillna(False).astype(bool)

    def emit(frame: pd.DataFrame, mask: pd.Series, form: str, field: str, detail: pd.Series) -> None:
        emit_row_findings(out, frame, mask, "PD-ELIG-EARLY-COMPLICATION", form, field,
                          f"none on HSCT day +{low}..+{high}", locate_for(form), detail)

    if not ae.empty:
        start = transplant_day(ae["aestdt"], ae["usubjid"].map(hsct))
        end = transplant_day(ae["aeendt"], ae["usubjid"].map(hsct))
        grade = pd.to_numeric(ae["aetoxgr"], errors="coerce")
        organ = {t.casefold() for t in window.get("organ_failure_terms", [])}
        kind = pd.Series(pd.NA, index=ae.index, dtype="string")
        kind[ae["aeterm"].astype("string").str.casefold().isin(organ).fillna(False).to_numpy(dtype=bool)] = "organ failure"
        kind[ae["infection_category"].notna().to_numpy(dtype=bool)] = "severe infection"
        overlaps = (start <= high) & (end.isna() | (end >= low))
        mask = kind.notna() & (grade >= int(window["severe_grade"])) & overlaps & known_at_randomization(ae, start)
        emit(ae, mask, "adverse_event", "aestdt",
             kind + ": " + ae["aeterm"].astype("string") + ", grade " + grade.astype("Int64").astype("string")
             + ", HSCT day " + start.astype("string").fillna("?"))
    if not agvhd.empty:
        day = transplant_day(agvhd["assessment_date"], agvhd["usubjid"].map(hsct))
        grade = pd.to_numeric(agvhd["magic_overall_grade"], errors="coerce")
        mask = ((day >= low) & (day <= high) & grade.isin(window["uncontrolled_agvhd_grades"])
                & known_at_randomization(agvhd, day))
        emit(agvhd, mask, "agvhd", "assessment_date",
             "acute GVHD MAGIC grade " + grade.astype("Int64").astype("string") + ", HSCT day " + day.astype("string"))
    return out
