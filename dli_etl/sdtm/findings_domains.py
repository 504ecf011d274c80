"""Findings-class domains: LB (blood counts, chemistry, MRD), FA (GVHD organ stages, grade, severity),
RS (disease response), DD (cause of death). Test codes come from ``specs/lb_tests.csv`` and tables here."""

from __future__ import annotations

import csv
from importlib import resources

import pandas as pd

from dli_etl.rules.ctcae_consistency import LAB_TERMS, lab_grade
from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, with_reference_start

MRD_TESTS = {  # sponsor-extended LBTESTCD (no CDISC code for MRD by flow or WT1; clinical.md 6.5)
    "FLOW CYTOMETRY": ("MRDFLOW", "Measurable Residual Disease by Flow", "FLOW CYTOMETRY"),
    "QRT-PCR": ("WT1ABL1", "WT1/ABL1 Transcript Ratio",
                "QUANTITATIVE REVERSE TRANSCRIPTASE POLYMERASE CHAIN REACTION"),
}
AGVHD_ORGANS = {"skin_stage": "SKIN", "liver_stage": "LIVER", "upper_gi_stage": "GASTROINTESTINAL TRACT, UPPER",
                "lower_gi_stage": "GASTROINTESTINAL TRACT, LOWER"}
CGVHD_ORGANS = {"skin_score": "SKIN", "mouth_score": "ORAL CAVITY", "eyes_score": "EYE",
                "gi_score": "GASTROINTESTINAL TRACT", "liver_score": "LIVER", "lungs_score": "LUNG",
                "joints_score": "JOINT", "genital_score": "GENITALIA"}
RESPONSE_CT = {"CR": "CR", "CRi": "CRi", "CRh": "CRh", "PR": "PR", "NR": "NR", "PD": "PD",
               "RELAPSE": "RELAPSED DISEASE FROM CR"}
_TERM_FOR_TEST = {v: k for k, v in LAB_TERMS.items()}


def _lb_tests() -> list[dict[str, str]]:
    text = (resources.files("dli_etl") / "specs" / "lb_tests.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def build_lb(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """One record per test and sample; LBSTRESN in standard units, LBTOXGR from CTCAE v5.0 where graded."""
    frames = []
    for test in _lb_tests():
        form = curated.get(test["form"])
        if form is None or form.empty or test["field"] not in form.columns:
            continue
        rows = with_reference_start(form[form[test["field"]].notna()], dm)
        value = rows[test["field"]].astype("Float64")
        original = rows.get(f"{test['field']}_orig", value.astype("string"))
        term = _TERM_FOR_TEST.get(test["field"])
        grade = value.map(lambda v, t=term: lab_grade(t, float(v)) if t and pd.notna(v) else None)
        frames.append(rows.assign(
            LBTESTCD=test["LBTESTCD"], LBTEST=test["LBTEST"], LBCAT=test["LBCAT"], LBSPEC=test["LBSPEC"],
            LBORRES=original.astype("string"), LBORRESU=rows.get(f"{test['field']}_orig_unit", test["LBSTRESU"]), LBSTRESN=value, LBSTRESC=value.astype("string"), LBSTRESU=test["LBSTRESU"],
            LBMETHOD=pd.NA, LBLLOQ=pd.NA, LBTOXGR=grade.map(lambda g: pd.NA if g is None or pd.isna(g) else str(int(g))),
            LBDTC=rows["lbdtc"]))
    mrd = curated.get("mrd")
    if mrd is not None and not mrd.empty:
        rows = with_reference_start(mrd, dm)
        method = rows["mrd_method"].astype(object)
        code = method.map(lambda m: MRD_TESTS.get(m, (pd.NA,) * 3)[0])
        name = method.map(lambda m: MRD_TESTS.get(m, (pd.NA,) * 3)[1])
        lbmethod = method.map(lambda m: MRD_TESTS.get(m, (pd.NA,) * 3)[2])
        stresc = (rows["mrd_result_censor"].fillna("") + rows["mrd_result_pct"].astype("string")).where(
            rows["mrd_result_pct"].notna(), rows["mrd_result_qual"])
        frames.append(rows.assign(
            LBTESTCD=code, LBTEST=name, LBCAT="MEASURABLE RESIDUAL DISEASE", LBSPEC=rows["specimen"],
            LBORRES=rows["mrd_result"], LBORRESU="%", LBSTRESC=stresc,
            LBSTRESN=rows["mrd_result_pct"].where(rows["mrd_result_censor"].fillna("") == ""), LBSTRESU="%",
            LBMETHOD=lbmethod, LBLLOQ=rows["mrd_lod"], LBTOXGR=pd.NA, LBDTC=rows["lbdtc"]))
    if not frames:
        return conform(pd.DataFrame(), "LB")
    lb = pd.concat(frames, ignore_index=True)
    lb["LBDY"] = study_day(lb["LBDTC"], lb["RFSTDTC"]).astype("Float64")
    return finish_domain(lb, study, "LB", ["LBDTC", "LBCAT", "LBTESTCD", "LBORRES"])


def build_fa(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """GVHD as findings about the event: MAGIC organ stages and overall grade (acute), NIH organ scores
    and global severity (chronic). FA was chosen over RS so both studies put GVHD in one place."""
    frames = []
    agvhd = curated.get("agvhd")
    if agvhd is not None and not agvhd.empty:
        a = with_reference_start(agvhd, dm)
        for column, loc in AGVHD_ORGANS.items():
            frames.append(a.assign(FATESTCD="STAGE", FATEST="Stage", FAOBJ="ACUTE GRAFT VERSUS HOST DISEASE",
                                   FACAT="MAGIC 2016", FALOC=loc, FAORRES=a[column].astype("string"),
                                   FASTRESN=a[column].astype("Float64"), FADTC=a["assessment_date"]))
        frames.append(a.assign(FATESTCD="GRADE", FATEST="Grade", FAOBJ="ACUTE GRAFT VERSUS HOST DISEASE",
                               FACAT="MAGIC 2016", FALOC=pd.NA, FAORRES=a["magic_overall_grade"].astype("string"),
                               FASTRESN=a["magic_overall_grade"].astype("Float64"), FADTC=a["assessment_date"]))
    cgvhd = curated.get("cgvhd")
    if cgvhd is not None and not cgvhd.empty:
        c = with_reference_start(cgvhd, dm)
        for column, loc in CGVHD_ORGANS.items():
            frames.append(c.assign(FATESTCD="SCORE", FATEST="Score", FAOBJ="CHRONIC GRAFT VERSUS HOST DISEASE",
                                   FACAT="NIH 2014", FALOC=loc, FAORRES=c[column].astype("string"),
                                   FASTRESN=c[column].astype("Float64"), FADTC=c["assessment_date"]))
        frames.append(c.assign(FATESTCD="SEV", FATEST="Severity/Intensity", FAOBJ="CHRONIC GRAFT VERSUS HOST DISEASE",
                               FACAT="NIH 2014", FALOC=pd.NA, FAORRES=c["global_severity"], FASTRESN=pd.NA,
                               FADTC=c["assessment_date"]))
    if not frames:
        return conform(pd.DataFrame(), "FA")
    fa = pd.concat(frames, ignore_index=True)
    fa["FASTRESC"] = fa["FAORRES"]
    fa["FADY"] = study_day(fa["FADTC"], fa["RFSTDTC"]).astype("Float64")
    return finish_domain(fa, study, "FA", ["FADTC", "FAOBJ", "FATESTCD", "FALOC"])


def build_rs(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    resp = curated.get("response")
    if resp is None or resp.empty:
        return conform(pd.DataFrame(), "RS")
    r = with_reference_start(resp, dm)
    out = r.assign(RSTESTCD="OVRLRESP", RSTEST="Overall Response", RSCAT="PROTOCOL DEFINED RESPONSE CRITERIA",
                   RSORRES=r["response"], RSSTRESC=r["response"].map(RESPONSE_CT), RSDTC=r["rsdt"],
                   RSDY=study_day(r["rsdt"], r["RFSTDTC"]).astype("Float64"))
    return finish_domain(out, study, "RS", ["RSDTC"])


def build_dd(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    follow = curated.get("followup")
    if follow is None or follow.empty:
        return conform(pd.DataFrame(), "DD")
    f = with_reference_start(follow.drop_duplicates("usubjid"), dm)
    died = f[(f["death"] == "Y") & f["death_cause"].notna()]
    out = died.assign(DDTESTCD="PRCDTH", DDTEST="Primary Cause of Death", DDORRES=died["death_cause"],
                      DDSTRESC=died["death_cause"].str.upper(), DDDTC=died["death_date"])
    return finish_domain(out, study, "DD", ["DDTESTCD"])
