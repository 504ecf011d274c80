"""ADTTE: one row per subject and time-to-event parameter, derived from ADSL and SDTM (RS, FA).

``AVAL`` is days from ``STARTDT`` (the protocol's time origin: randomization for Study A, enrollment for
Study B; complete remission for DFS), ``AVALHSCT`` the same end date counted from transplant day 0.
``CNSR`` is 0 for the event and 1 otherwise; ``EVSTAT`` keeps the competing-risk coding the estimators
need (0 censored, 1 event, 2 competing event). A subject whose dates contradict each other (an end
before the origin) keeps its row with ``ANL01FL = N`` and the reason in ``ANLREAS``, so nothing is lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dli_etl.adam.dates import analysis_date, imputed_date
from dli_etl.specs import load_spec

ADTTE_COLUMNS = ("STUDYID", "USUBJID", "SITEID", "ARMCD", "ARM", "PARAMCD", "PARAM", "STARTDT", "ADT", "ADTF", "AVAL",
                 "AVALU", "AVALHSCT", "CNSR", "EVSTAT", "EVNTDESC", "CNSDTDSC", "ORIGIN", "ANL01FL", "ANLREAS")
ORIGIN_LABEL = {"DLIPRO": "RANDOMIZATION", "DLIPLX": "ENROLLMENT"}
STUDY_PARAMETERS = {"DLIPRO": ("OS", "LFS", "RELAPSE", "NRM", "GRFS", "AGVHD", "AGVHD24", "AGVHD34", "CGVHD"),
                    "DLIPLX": ("OS", "LFS", "RELAPSE", "NRM", "DFS", "GRFS", "AGVHD", "AGVHD24", "AGVHD34", "CGVHD")}


def _first_after(dates: pd.DataFrame, origin: pd.Series) -> pd.Series:
    """Per subject, the first of ``dates`` (USUBJID, ADT, ADTF) on or after the subject's origin."""
    if dates.empty:
        return pd.Series(dtype="datetime64[ns]")
    start = dates["USUBJID"].astype(object).map(origin.to_dict())
    kept = dates[dates["ADT"].notna() & (dates["ADT"] >= pd.to_datetime(start))]
    return kept.groupby("USUBJID")["ADT"].min()


# standardized responses (RSSTRESC, CDISC ONCRSR): what counts as a relapse and as complete remission
RELAPSE_RESPONSES = ("RELAPSED DISEASE FROM CR", "RELAPSED DISEASE")
# per parameter, the events that decide it (as the event, a component or the competing risk): one of
# them recorded without a date leaves the parameter not analysed for that subject
UNDATED_EVENTS = {"RELAPSE": ("RELAPSE",), "NRM": ("RELAPSE",), "LFS": ("RELAPSE",), "DFS": ("RELAPSE",),
                  "GRFS": ("RELAPSE", "AGVHD34", "CGVHDMS"), "AGVHD": ("AGVHD",), "AGVHD24": ("AGVHD24",),
                  "AGVHD34": ("AGVHD34",), "CGVHD": ("CGVHD",)}
CR_RESPONSES = ("CR",)


def _rs_dates(rs: pd.DataFrame, responses: tuple[str, ...]) -> pd.DataFrame:
    """Dates of RS records whose standardized result (RSSTRESC, not the collected RSORRES) is one of
    ``responses``."""
    if rs.empty:
        return pd.DataFrame(columns=["USUBJID", "ADT"])
    part = rs[rs["RSSTRESC"].astype("string").isin(responses)]
    date, _ = imputed_date(part["RSDTC"])
    return pd.DataFrame({"USUBJID": part["USUBJID"].astype(object).to_numpy(), "ADT": date.to_numpy()})


_CGVHD = "CHRONIC GRAFT VERSUS HOST DISEASE"
_CGVHD_ORGANS = {"SKIN": "skin", "ORAL CAVITY": "mouth", "EYE": "eyes", "GASTROINTESTINAL TRACT": "gi",
                 "LIVER": "liver", "LUNG": "lungs", "JOINT": "joints", "GENITALIA": "genital"}


def chronic_gvhd_severities(fa: pd.DataFrame) -> pd.DataFrame:
    """The analysis severity of each cGVHD assessment (USUBJID, FADTC, ASEV): the recorded NIH global
    severity; when the site left it blank, the one its organ scores give (NIH 2014), or, when a missing
    score could change that, the least severity the recorded scores prove. Undated assessments of one
    subject cannot be told apart, so theirs is not derived."""
    if fa.empty:
        return pd.DataFrame(columns=["USUBJID", "FADTC", "ASEV"])
    from dli_etl.rules.nih_cgvhd import ORGANS, nih_global_severity, nih_severity_floor

    chronic = fa[fa["FAOBJ"] == _CGVHD]
    sev = chronic[chronic["FATESTCD"] == "SEV"]
    out = pd.DataFrame({"USUBJID": sev["USUBJID"].astype(object).to_numpy(), "FADTC": sev["FADTC"].to_numpy(),
                        "ASEV": sev["FASTRESC"].astype(object).to_numpy()})
    blank = out["ASEV"].isna() & out["FADTC"].notna()
    if blank.any():
        scores = chronic[(chronic["FATESTCD"] == "SCORE") & chronic["FADTC"].notna()]
        if "FALOC" not in scores.columns:
            scores = scores.assign(FALOC=pd.NA)
        by_visit = {(u, d, _CGVHD_ORGANS.get(loc)): v for u, d, loc, v in zip(
            scores["USUBJID"], scores["FADTC"], scores["FALOC"], pd.to_numeric(scores["FASTRESC"], errors="coerce"),
            strict=True) if not pd.isna(v)}
        visits = [{o: by_visit.get((u, d, o)) for o in ORGANS}
                  for u, d in zip(out.loc[blank, "USUBJID"], out.loc[blank, "FADTC"], strict=True)]
        derived = [nih_global_severity(v) or nih_severity_floor(v) for v in visits]
        out.loc[blank, "ASEV"] = pd.Series(derived, index=out.index[blank], dtype=object)
    return out


def _cgvhd_dates(fa: pd.DataFrame, severities: set[str]) -> pd.DataFrame:
    graded = chronic_gvhd_severities(fa)
    part = graded[graded["ASEV"].isin(severities)]
    return pd.DataFrame({"USUBJID": part["USUBJID"].to_numpy(), "ADT": analysis_date(part["FADTC"]).to_numpy()})


_ORGANS = {"SKIN": 0, "LIVER": 1, "GASTROINTESTINAL TRACT, UPPER": 2, "GASTROINTESTINAL TRACT, LOWER": 3}
_AGVHD = "ACUTE GRAFT VERSUS HOST DISEASE"


def acute_gvhd_grades(fa: pd.DataFrame) -> pd.DataFrame:
    """The analysis grade of each aGVHD assessment (USUBJID, ADT, AGRADE): the MAGIC overall grade derived
    from the four recorded organ stages when all four are there, else the recorded grade, else (stages
    missing, no grade written) the least grade the recorded stages prove. A recorded grade that
    contradicts its stages stays in SDTM as collected (and is a query); analysis uses the stages."""
    from dli_etl.rules.magic_agvhd import magic_overall_grade

    if fa.empty:
        return pd.DataFrame(columns=["USUBJID", "ADT", "AGRADE"])
    acute = fa[(fa["FAOBJ"] == _AGVHD) & fa["FADTC"].notna()]
    if "FALOC" not in acute.columns:
        acute = acute.assign(FALOC=pd.NA)
    stages = acute[acute["FATESTCD"] == "STAGE"].assign(ORGAN=lambda f: f["FALOC"].map(_ORGANS),
                                                        STAGE=lambda f: pd.to_numeric(f["FASTRESC"], errors="coerce"))
    wide = stages.pivot_table(index=["USUBJID", "FADTC"], columns="ORGAN", values="STAGE", aggfunc="max")
    wide = wide.reindex(columns=range(4))
    complete = wide.dropna()
    derived = pd.Series([magic_overall_grade(*(int(v) for v in row)) for row in complete.to_numpy()],
                        index=complete.index, dtype="float64")
    recorded = acute[acute["FATESTCD"] == "GRADE"].assign(
        GRADE=lambda f: pd.to_numeric(f["FASTRESC"], errors="coerce")).groupby(["USUBJID", "FADTC"])["GRADE"].max()
    # stages missing and no grade written: the grade the recorded stages prove (MAGIC never falls when a
    # stage rises, so a missing one taken as 0 gives a floor); dropping the assessment lost its onset
    partial = wide[wide.notna().any(axis=1) & wide.isna().any(axis=1)].fillna(0)
    floor = pd.Series([magic_overall_grade(*(int(v) for v in row)) for row in partial.to_numpy()],
                      index=partial.index, dtype="float64")
    grade = derived.combine_first(recorded).combine_first(floor[floor > 0]).dropna()
    out = grade.rename("AGRADE").reset_index()
    return pd.DataFrame({"USUBJID": out["USUBJID"].astype(object), "ADT": analysis_date(out["FADTC"]),
                         "AGRADE": out["AGRADE"].astype(int)})


def undated_acute_gvhd_grades(fa: pd.DataFrame) -> pd.Series:
    """Per subject with aGVHD records that have no date: the least overall grade they prove, the highest
    recorded grade or the MAGIC grade of any one organ stage alone (the other organs taken as 0). Several
    undated assessments cannot be told apart, so no grade is derived from stages of different organs."""
    from dli_etl.rules.magic_agvhd import magic_overall_grade

    if fa.empty:
        return pd.Series(dtype="int64")
    acute = fa[(fa["FAOBJ"] == _AGVHD) & fa["FADTC"].isna()]
    if acute.empty:
        return pd.Series(dtype="int64")
    value = pd.to_numeric(acute["FASTRESC"], errors="coerce")
    organ = acute.get("FALOC", pd.Series(pd.NA, index=acute.index)).map(_ORGANS)
    grade = pd.Series(np.nan, index=acute.index)
    recorded = (acute["FATESTCD"] == "GRADE").to_numpy() & value.notna().to_numpy()
    grade[recorded] = value[recorded]
    staged = (acute["FATESTCD"] == "STAGE").to_numpy() & value.notna().to_numpy() & organ.notna().to_numpy()
    for index, position, stage in zip(acute.index[staged], organ[staged], value[staged], strict=True):
        stages = [0, 0, 0, 0]
        stages[int(position)] = int(stage)
        grade[index] = magic_overall_grade(*stages)
    by_subject = grade.groupby(acute["USUBJID"].astype(object)).max().dropna()
    return by_subject[by_subject > 0].astype("int64")


def _agvhd_dates(fa: pd.DataFrame, grades: set[int]) -> pd.DataFrame:
    graded = acute_gvhd_grades(fa)
    part = graded[graded["AGRADE"].isin(grades)]
    return pd.DataFrame({"USUBJID": part["USUBJID"].to_numpy(), "ADT": part["ADT"].to_numpy()})


def _per_subject(adsl: pd.DataFrame, dates: pd.Series) -> pd.Series:
    return pd.to_datetime(adsl["USUBJID"].astype(object).map(dates.to_dict()))


def subject_events(adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per ADSL subject: origin, last known alive, death, first relapse, first CR, first aGVHD II-IV and
    III-IV, first cGVHD (any and moderate-severe), each on or after the origin."""
    spec = load_spec("endpoints")
    rs, fa = sdtm.get("rs", pd.DataFrame()), sdtm.get("fa", pd.DataFrame())
    origin = adsl.set_index("USUBJID")["ORIGDT"]
    events = adsl[["STUDYID", "USUBJID", "SITEID", "ARMCD", "ARM", "ORIGDT", "HSCTDT", "LSTALVDT", "DTHDT", "DTHDTF"]].copy()
    relapses = _rs_dates(rs, RELAPSE_RESPONSES)
    events["RELAPSEDT"] = _per_subject(adsl, _first_after(relapses, origin))
    undated = {"RELAPSE": relapses}
    events["CRDT"] = _per_subject(adsl, _first_after(_rs_dates(rs, CR_RESPONSES), origin))
    # DFS counts the first relapse after the complete remission it starts from, not one before it
    events["CRRELDT"] = _per_subject(adsl, _first_after(relapses, events.set_index("USUBJID")["CRDT"]))
    undated_grade = undated_acute_gvhd_grades(fa)
    for name, grades in (("AGVHD", {1, 2, 3, 4}), ("AGVHD24", {2, 3, 4}), ("AGVHD34", {3, 4})):
        events[f"{name}DT"] = _per_subject(adsl, _first_after(_agvhd_dates(fa, grades), origin))
        undated[name] = pd.DataFrame({"USUBJID": undated_grade.index[undated_grade.isin(grades)], "ADT": pd.NaT})
    for name, severities in (("CGVHD", {"MILD", "MODERATE", "SEVERE"}), ("CGVHDMS", set(spec["grfs_cgvhd_severities"]))):
        onsets = _cgvhd_dates(fa, severities)
        events[f"{name}DT"] = _per_subject(adsl, _first_after(onsets, origin))
        undated[name] = onsets
    # an event recorded without a usable date, and none of its kind dated: it happened, but not when
    for name, dates in undated.items():
        subjects = set(dates.loc[dates["ADT"].isna(), "USUBJID"])
        events[f"{name}UNDT"] = events["USUBJID"].isin(subjects).to_numpy() & events[f"{name}DT"].isna().to_numpy()
    # the end of follow-up: death if known, else the last date known alive
    events["ENDDT"] = events["DTHDT"].fillna(events["LSTALVDT"])
    return events


def _earliest(*columns: pd.Series) -> pd.Series:
    return pd.concat(columns, axis=1).min(axis=1)


def _parameter(events: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """EVSTAT, ADT and STARTDT of one parameter for every subject."""
    death, relapse, end = events["DTHDT"], events["RELAPSEDT"], events["ENDDT"]
    start = events["ORIGDT"]
    status = pd.Series(0, index=events.index)
    if paramcd == "OS":
        adt = end
        status[death.notna()] = 1
    elif paramcd in ("LFS", "DFS"):
        if paramcd == "DFS":
            start = events["CRDT"]
            relapse = events["CRRELDT"]
            death = death.where(death >= start)
        first = _earliest(relapse, death)
        adt = first.fillna(end)
        status[first.notna()] = 1
    elif paramcd in ("RELAPSE", "NRM"):
        first = _earliest(relapse, death)
        adt = first.fillna(end)
        by_relapse = relapse.notna() & (relapse <= first)
        status[by_relapse] = 1 if paramcd == "RELAPSE" else 2
        status[first.notna() & ~by_relapse] = 2 if paramcd == "RELAPSE" else 1
    elif paramcd == "GRFS":
        first = _earliest(events["AGVHD34DT"], events["CGVHDMSDT"], relapse, death)
        adt = first.fillna(end)
        status[first.notna()] = 1
    else:  # GVHD incidence with death as the competing event
        onset = events[{"AGVHD": "AGVHDDT", "AGVHD24": "AGVHD24DT", "AGVHD34": "AGVHD34DT", "CGVHD": "CGVHDDT"}[paramcd]]
        first = _earliest(onset, death)
        adt = first.fillna(end)
        status[onset.notna() & (onset <= first)] = 1
        status[death.notna() & (onset.isna() | (death < onset))] = 2
    return pd.DataFrame({"STARTDT": start, "ADT": adt, "EVSTAT": status})


def build_adtte(study: str, adsl: pd.DataFrame, sdtm: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Time-to-event analysis dataset for one study (ITT subjects: those with a time origin)."""
    spec = load_spec("endpoints")["parameters"]
    itt = adsl[adsl["ITTFL"] == "Y"].reset_index(drop=True)
    if itt.empty:
        return pd.DataFrame(columns=list(ADTTE_COLUMNS))
    events = subject_events(itt, sdtm)
    rows = []
    for paramcd in STUDY_PARAMETERS[study]:
        part = _parameter(events, paramcd)
        labels = spec[paramcd]
        frame = events[["STUDYID", "USUBJID", "SITEID", "ARMCD", "ARM"]].copy()
        frame["PARAMCD"], frame["PARAM"] = paramcd, labels["param"]
        frame["STARTDT"], frame["ADT"], frame["EVSTAT"] = part["STARTDT"], part["ADT"], part["EVSTAT"].astype(int)
        death_ends = (part["ADT"] == events["DTHDT"]) & events["DTHDTF"].notna()
        frame["ADTF"] = events["DTHDTF"].where(death_ends)
        frame["AVAL"] = (part["ADT"] - part["STARTDT"]).dt.days.astype("Float64")
        frame["AVALU"] = "DAYS"
        frame["AVALHSCT"] = (part["ADT"] - events["HSCTDT"]).dt.days.astype("Float64")
        frame["CNSR"] = np.where(part["EVSTAT"] == 1, 0, 1)
        frame["EVNTDESC"] = np.select([part["EVSTAT"] == 1, part["EVSTAT"] == 2],
                                      [labels["event"], labels.get("competing", "")], default="")
        frame["CNSDTDSC"] = np.where(part["EVSTAT"] == 0, labels["censor"], "")
        frame["ORIGIN"] = "COMPLETE REMISSION" if paramcd == "DFS" else ORIGIN_LABEL[study]
        # an undated event cannot be ordered against death or the other events: counted neither as the
        # event nor as its absence (a death after an undated relapse would be a death without relapse)
        kinds = UNDATED_EVENTS.get(paramcd, ())
        undated_relapse = events["RELAPSEUNDT"].to_numpy() & ("RELAPSE" in kinds)
        undated_gvhd = np.zeros(len(events), dtype=bool)
        for kind in kinds:
            if kind != "RELAPSE":
                undated_gvhd |= events[f"{kind}UNDT"].to_numpy()
        reason = np.select([part["STARTDT"].isna(), part["ADT"].isna(), frame["AVAL"].fillna(-1).to_numpy() < 0,
                            undated_relapse, undated_gvhd],
                           ["NO TIME ORIGIN" if paramcd != "DFS" else "NO COMPLETE REMISSION", "NO END DATE",
                            "END DATE BEFORE TIME ORIGIN", "RELAPSE DATE UNKNOWN", "GVHD DATE UNKNOWN"], default="")
        frame["ANL01FL"] = np.where(reason == "", "Y", "N")
        frame["ANLREAS"] = reason
        # an undated event leaves the outcome itself unknown: no event or censoring text may suggest one
        unknown = np.isin(reason, ["RELAPSE DATE UNKNOWN", "GVHD DATE UNKNOWN"])
        frame.loc[unknown, ["EVNTDESC", "CNSDTDSC"]] = ""
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out.loc[out["ANL01FL"] == "N", "AVAL"] = pd.NA
    return out[list(ADTTE_COLUMNS)]
