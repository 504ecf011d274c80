"""SV (visits actually done), DV (protocol deviations found by the rules) and RELREC (an AE and the
lab result that grades it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.rules.ctcae_consistency import LAB_TERMS
from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, with_reference_start
from dli_etl.sdtm.findings_domains import lb_tests
from dli_etl.specs import load_spec

# form -> the date that places it in its visit
VISIT_DATES = {"enrollment": "rficdtc", "transplant": "hsctdt", "randomization": "randdt", "chemo": "chemo_start",
               "dli": "dlidt", "immunosuppression": "ist_start", "plerixafor": "plx_date", "agvhd": "assessment_date",
               "cgvhd": "assessment_date", "adverse_event": "aestdt", "response": "rsdt", "followup": "last_contact"}
# lab-graded CTCAE term -> LBTESTCD, through the CBC field that grades it (specs/lb_tests.csv)
_TESTCD_FOR_FIELD = {t["field"]: t["LBTESTCD"] for t in lb_tests() if t["form"] == "cbc"}
LB_FOR_TERM = {term: _TESTCD_FOR_FIELD[field] for term, field in LAB_TERMS.items()}


def build_sv(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    """One record per subject and source event (ODM StudyEventData or REDCap event) with data."""
    visits = load_spec("trial_design")[study].get("visits", {})
    frames = []
    for form, date_field in VISIT_DATES.items():
        frame = curated.get(form)
        if frame is None or frame.empty or "event_oid" not in frame.columns:
            continue
        part = frame[frame["event_oid"].isin(list(visits)) & frame[date_field].notna()]
        repeat = part["event_repeat_key"].fillna("") if "event_repeat_key" in part.columns else ""
        # REDCap's repeat column holds the repeating-instrument instance, not a visit
        is_odm = part["src_format"] == "odm"
        frames.append(pd.DataFrame({"usubjid": part["usubjid"], "event": part["event_oid"],
                                    "repeat": repeat.where(is_odm, ""), "date": part[date_field].str.slice(0, 10)}))
    if not frames:
        return conform(pd.DataFrame(), "SV")
    events = pd.concat(frames, ignore_index=True)
    events = events[events["date"].str.len() == 10]
    grouped = events.groupby(["usubjid", "event", "repeat"]).agg(start=("date", "min"), end=("date", "max")).reset_index()
    grouped = with_reference_start(grouped, dm)
    base = grouped["event"].map(lambda e: visits[e][0]).astype(int)
    rk = pd.to_numeric(grouped["repeat"], errors="coerce").fillna(0).astype(int)
    name = grouped["event"].map(lambda e: visits[e][1])
    out = grouped.assign(VISITNUM=(base + rk).astype("Float64"), VISIT=name.where(rk == 0, name + " " + rk.astype(str)),
                         SVSTDTC=grouped["start"], SVENDTC=grouped["end"],
                         SVSTDY=study_day(grouped["start"], grouped["RFSTDTC"]).astype("Float64"),
                         SVENDY=study_day(grouped["end"], grouped["RFSTDTC"]).astype("Float64"))
    out = out.sort_values(["USUBJID", "VISITNUM"], kind="mergesort")
    return conform(out.assign(STUDYID=study, DOMAIN="SV"), "SV")


def with_visits(frame: pd.DataFrame, sv: pd.DataFrame, dtc: str) -> pd.DataFrame:
    """A copy of ``frame`` with VISITNUM and VISIT of the subject's visit (SV) whose dates contain the
    record's date; the narrowest such visit when several do; null when none does (a draw between visits)."""
    out = frame.assign(VISITNUM=pd.Series(pd.NA, index=frame.index, dtype="Float64"),
                       VISIT=pd.Series(pd.NA, index=frame.index, dtype="string"))
    if frame.empty or sv.empty:
        return out
    dates = pd.DataFrame({"USUBJID": frame["USUBJID"], "day": frame[dtc].astype("string").str.slice(0, 10),
                          "row": range(len(frame))})
    dates = dates[dates["day"].str.len() == 10]
    windows = sv[["USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC"]].dropna(
        subset=["SVSTDTC", "SVENDTC"]).reset_index(drop=True)
    span = (pd.to_datetime(windows["SVENDTC"]) - pd.to_datetime(windows["SVSTDTC"])).to_numpy()
    # every dated record meets every visit of its subject, and there are several times as many pairs as
    # records (most of the SDTM step's peak memory at scale): the pairs carry numbers only. A subject is
    # its code, a date its rank among all these dates, so comparing ranks is comparing the ISO text.
    subject = pd.factorize(pd.concat([dates["USUBJID"], windows["USUBJID"]], ignore_index=True))[0]
    day_rank = pd.factorize(pd.concat([dates["day"], windows["SVSTDTC"], windows["SVENDTC"]], ignore_index=True)
                            .astype("string"), sort=True)[0]
    n, w = len(dates), len(windows)
    pairs = pd.DataFrame({"subject": subject[:n], "day": day_rank[:n], "row": dates["row"].to_numpy()}).merge(
        pd.DataFrame({"subject": subject[n:], "start": day_rank[n:n + w], "end": day_rank[n + w:],
                      "window": np.arange(w)}), on="subject")
    pairs = pairs.loc[(pairs["start"] <= pairs["day"]) & (pairs["day"] <= pairs["end"]), ["row", "window"]]
    chosen = windows["VISITNUM"].to_numpy()[pairs["window"].to_numpy()]
    best = pairs.assign(span=span[pairs["window"].to_numpy()], VISITNUM=chosen).sort_values(
        ["row", "span", "VISITNUM"], kind="mergesort").drop_duplicates("row")
    positions = best["row"].to_numpy()
    out.iloc[positions, out.columns.get_loc("VISITNUM")] = windows["VISITNUM"].to_numpy()[best["window"].to_numpy()]
    out.iloc[positions, out.columns.get_loc("VISIT")] = windows["VISIT"].to_numpy()[best["window"].to_numpy()]
    return out


def build_dv(study: str, findings: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """Protocol deviations: every PD-* finding becomes a DV record (the message is the term)."""
    if findings.empty:
        return conform(pd.DataFrame(), "DV")
    pd_rows = findings[findings["rule_id"].str.startswith("PD-") & (findings["subjid"].fillna("") != "")]
    if pd_rows.empty:
        return conform(pd.DataFrame(), "DV")
    usubjid = study + "-" + pd_rows["site"] + "-" + pd_rows["subjid"]
    frame = pd.DataFrame({"usubjid": usubjid, "DVTERM": pd_rows["message"].str.slice(0, 200),
                          "DVDECOD": pd_rows["rule_id"], "DVCAT": pd_rows["rule_id"].map(
                              lambda r: "ELIGIBILITY" if r == "PD-ELIGIBILITY" else "TREATMENT SCHEDULE"),
                          "DVSTDTC": pd_rows["value"].where(pd_rows["value"].str.match(r"^\d{4}-\d{2}-\d{2}$"))})
    frame = with_reference_start(frame, dm)
    return finish_domain(frame, study, "DV", ["DVSTDTC", "DVDECOD"])


def build_relrec(study: str, ae: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """Each lab-graded AE linked to the same-day result of its test (one RELID per pair)."""
    if ae.empty or lb.empty:
        return conform(pd.DataFrame(), "RELREC")
    graded = ae[ae["AEDECOD"].isin(list(LB_FOR_TERM))].assign(LBTESTCD=lambda f: f["AEDECOD"].map(LB_FOR_TERM))
    pairs = graded.merge(lb[["USUBJID", "LBTESTCD", "LBDTC", "LBSEQ"]], left_on=["USUBJID", "LBTESTCD", "AESTDTC"],
                         right_on=["USUBJID", "LBTESTCD", "LBDTC"], how="inner")
    if pairs.empty:
        return conform(pd.DataFrame(), "RELREC")
    pairs = pairs.sort_values(["USUBJID", "AESEQ"], kind="mergesort").reset_index(drop=True)
    relid = "AE-LB-" + (pairs.index + 1).astype(str)
    ae_side = pd.DataFrame({"STUDYID": study, "RDOMAIN": "AE", "USUBJID": pairs["USUBJID"], "IDVAR": "AESEQ",
                            "IDVARVAL": pairs["AESEQ"].astype("Int64").astype("string"), "RELTYPE": pd.NA, "RELID": relid})
    lb_side = ae_side.assign(RDOMAIN="LB", IDVAR="LBSEQ", IDVARVAL=pairs["LBSEQ"].astype("Int64").astype("string"))
    return conform(pd.concat([ae_side, lb_side]).sort_values(["RELID", "RDOMAIN"], kind="mergesort"), "RELREC")
