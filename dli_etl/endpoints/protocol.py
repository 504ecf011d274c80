"""The endpoints each protocol names, for each study and arm, plus a pooled table of DLI outcomes.

Every row is one number with its interval: ``MEASURE`` says what it is (``1-year CIF``, ``n/N``,
``Gray's test``...), ``METHOD`` how it was computed. Tests sit on their own row with ``ANALYSIS_GROUP`` naming
the comparison and the statistic in ``ESTIMATE``.
"""

from __future__ import annotations

import math

import pandas as pd

from dli_etl.endpoints.estimates import gray_p, incidence_at, logrank_p, proportion, survival_at
from dli_etl.membership import is_in
from dli_etl.specs import load_spec
from dli_etl.survival.gray import gray_test
from dli_etl.survival.logrank import logrank_test

ENDPOINT_COLUMNS = ("STUDYID", "ANALYSIS_GROUP", "ENDPOINT", "MEASURE", "TIMEPOINT", "N", "N_EVALUABLE", "EVENTS", "ESTIMATE",
                    "CI_LOW", "CI_HIGH", "AT_RISK", "METHOD", "P_VALUE", "POPULATION")
ITT = "ITT"
SAFETY = "safety (received DLI)"
NOT_ASSIGNED = "NOT ASSIGNED"
KM, AJ, EXACT = "Kaplan-Meier, Greenwood log CI", "Aalen-Johansen, death competing, log-log CI", "Clopper-Pearson exact"


def _row(study: str, group: str, endpoint: str, measure: str, timepoint: str, values: dict, method: str,
         population: str) -> dict:
    return {"STUDYID": study, "ANALYSIS_GROUP": group, "ENDPOINT": endpoint, "MEASURE": measure, "TIMEPOINT": timepoint,
            "N": values.get("N"), "N_EVALUABLE": values.get("N_EVALUABLE", values.get("N")), "EVENTS": values.get("EVENTS"), "ESTIMATE": values.get("ESTIMATE"),
            "CI_LOW": values.get("CI_LOW"), "CI_HIGH": values.get("CI_HIGH"), "AT_RISK": values.get("AT_RISK"),
            "METHOD": method, "P_VALUE": values.get("P_VALUE", math.nan), "POPULATION": population}


def _analysed(adtte: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    part = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["ANL01FL"] == "Y")]
    return part.assign(AVAL=part["AVAL"].astype(float))


def _groups(frame: pd.DataFrame, by: str) -> list[tuple[str, pd.DataFrame]]:
    # a randomized subject whose arm was quarantined stays in the ITT count, in its own group
    keys = frame[by].astype("string").fillna(NOT_ASSIGNED) if by in frame.columns else frame[by]
    return [(str(g), part) for g, part in frame.groupby(keys, sort=True)]


def _compared(analysed: pd.DataFrame, by: str) -> pd.DataFrame:
    """The analysed subjects a between-group test compares: those with a group. A subject whose arm was
    quarantined is in the population (its own group in the estimates) but in no arm, so the test leaves
    it out and counts it as not evaluable; with it, one blank arm stopped the whole release."""
    return analysed[analysed[by].notna()] if by in analysed.columns else analysed


def _population_rows(adtte: pd.DataFrame, paramcd: str, by: str, population: str) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """(group, every subject of the population, the evaluable ones): N is always the population count, so
    a subject whose dates cannot be analysed is counted as not evaluable, never silently left out."""
    rows = adtte[adtte["PARAMCD"] == paramcd]
    if population != ITT:  # e.g. DFS: subjects who reached complete remission
        rows = rows[rows["STARTDT"].notna()]
    return [(g, part, _analysed(part, paramcd)) for g, part in _groups(rows, by)]


def _counted(values: dict, everyone: pd.DataFrame, evaluable: pd.DataFrame) -> dict:
    return {**values, "N": len(everyone), "N_EVALUABLE": len(evaluable)}


def _survival_rows(study: str, adtte: pd.DataFrame, paramcd: str, label: str, day: int, timepoint: str,
                   by: str = "ARMCD", test: bool = True, population: str = ITT) -> list[dict]:
    groups = _population_rows(adtte, paramcd, by, population)
    rows = [_row(study, g, label, f"{timepoint} survival", timepoint,
                 _counted(survival_at(p["AVAL"], p["EVSTAT"] == 1, day), everyone, p), KM, population)
            for g, everyone, p in groups]
    data = _compared(_analysed(adtte, paramcd), by)
    if test and data[by].nunique() > 1:
        result = logrank_test(data["AVAL"], (data["EVSTAT"] == 1).astype(int), data[by])
        everyone = pd.concat([e for _, e, _ in groups]) if groups else data
        rows.append(_row(study, " vs ".join(sorted(data[by].unique())), label, "Log-rank test", "whole follow-up",
                         {"N": len(everyone), "N_EVALUABLE": len(data), "EVENTS": int((data["EVSTAT"] == 1).sum()),
                          "ESTIMATE": result.statistic, "P_VALUE": result.p_value},
                         f"chi-square, {result.df} df", population))
    return rows


def _incidence_rows(study: str, adtte: pd.DataFrame, paramcd: str, label: str, day: int, timepoint: str,
                    by: str = "ARMCD", test: bool = True) -> list[dict]:
    groups = _population_rows(adtte, paramcd, by, ITT)
    rows = [_row(study, g, label, f"{timepoint} cumulative incidence", timepoint,
                 _counted(incidence_at(p["AVAL"], p["EVSTAT"], day), everyone, p), AJ, ITT)
            for g, everyone, p in groups]
    data = _compared(_analysed(adtte, paramcd), by)
    if test and data[by].nunique() > 1 and (data["EVSTAT"] == 1).any():
        result = gray_test(data["AVAL"], data["EVSTAT"], data[by], cause=1)
        everyone = pd.concat([e for _, e, _ in groups]) if groups else data
        rows.append(_row(study, " vs ".join(sorted(data[by].unique())), label, "Gray's test", "whole follow-up",
                         {"N": len(everyone), "N_EVALUABLE": len(data), "EVENTS": int((data["EVSTAT"] == 1).sum()),
                          "ESTIMATE": result.statistic, "P_VALUE": result.p_value},
                         f"chi-square, {result.df} df", ITT))
    return rows


def _subjects_with(adsl: pd.DataFrame, subjects: set[str], study: str, label: str, population: str,
                   by: str = "ARMCD", timepoint: str = "after first DLI") -> list[dict]:
    return [_row(study, g, label, "n/N", timepoint, proportion(int(is_in(p["USUBJID"], subjects).sum()), len(p)),
                 EXACT, population) for g, p in _groups(adsl, by)]


def study_a_endpoints(adam: dict[str, pd.DataFrame]) -> list[dict]:
    """Study A (DLIPRO) by arm: 1-year CIR with Gray's test; 1-year LFS and OS with log-rank; NRM; marrow
    suppression, aGVHD II-IV and III-IV, cGVHD, GRFS and infections by pathogen class."""
    study, year = "DLIPRO", load_spec("endpoints")["landmarks"]["one_year"]
    adsl, adtte, adae = adam["adsl"], adam["adtte"], adam["adae"]
    rows = _incidence_rows(study, adtte, "RELAPSE", "Relapse", year, "1-year")
    rows += _survival_rows(study, adtte, "LFS", "Leukemia-free survival", year, "1-year")
    rows += _survival_rows(study, adtte, "OS", "Overall survival", year, "1-year")
    rows += _incidence_rows(study, adtte, "NRM", "Non-relapse mortality", year, "1-year")
    rows += _survival_rows(study, adtte, "GRFS", "GVHD-free relapse-free survival", year, "1-year")
    for paramcd, label in (("AGVHD24", "Acute GVHD grade II-IV"), ("AGVHD34", "Acute GVHD grade III-IV"),
                           ("CGVHD", "Chronic GVHD")):
        rows += _incidence_rows(study, adtte, paramcd, label, year, "1-year")
    safety = adsl[adsl["SAFFL"] == "Y"]
    for flag, label in (("NEUTRFL", "Neutropenia"), ("ANEMFL", "Anaemia"), ("THROMBFL", "Thrombocytopenia"),
                        ("PANCYTFL", "Pancytopenia")):
        rows += _subjects_with(safety, set(safety.loc[safety[flag] == "Y", "USUBJID"]), study,
                               f"Marrow suppression: {label}", SAFETY)
    any_flag = safety[["NEUTRFL", "ANEMFL", "THROMBFL"]].eq("Y").any(axis=1)
    rows += _subjects_with(safety, set(safety.loc[any_flag, "USUBJID"]), study, "Marrow suppression: any",
                           SAFETY)
    infections = adae[(adae["INFFL"] == "Y") & (adae["TRTEMFL"] == "Y") & (adae["ADY"] <= year).fillna(False)]
    rows += _subjects_with(safety, set(infections["USUBJID"]), study, "Infection: any", SAFETY,
                           timepoint="1 year after first DLI")
    for category in ("BACTERIAL", "VIRAL", "FUNGAL", "UNSPECIFIED"):
        subjects = set(infections.loc[infections["INFCAT"] == category, "USUBJID"])
        rows += _subjects_with(safety, subjects, study, f"Infection: {category.lower()}", SAFETY,
                               timepoint="1 year after first DLI")
    rows += itt_safety_rows(study, adsl, adam.get("adlb", pd.DataFrame()), adae, year)
    return rows


def _within_year_of_enrollment(frame: pd.DataFrame, adsl: pd.DataFrame, date: str, year: int) -> pd.Series:
    start = pd.to_datetime(frame["USUBJID"].astype(object).map(adsl.set_index("USUBJID")["ENRLDT"].to_dict()))
    when = pd.to_datetime(frame[date])
    days = (when - start).dt.days
    return (days >= 0).fillna(False) & (days <= year).fillna(False)


def itt_safety_rows(study: str, adsl: pd.DataFrame, adlb: pd.DataFrame, adae: pd.DataFrame, year: int) -> list[dict]:
    """The protocol's safety estimand beside the on-treatment one: marrow suppression (CTCAE grade >= the
    spec's minimum on NEUT, HGB or PLAT) and infections counted from enrollment to day 365, in every ITT
    subject whether infused or not."""
    itt = adsl[adsl["ITTFL"] == "Y"]
    spec = load_spec("endpoints")["marrow_suppression"]
    timepoint = "enrollment to 1 year"
    rows: list[dict] = []
    if not adlb.empty:
        graded = adlb[adlb["PARAMCD"].isin(list(spec["tests"])) & (adlb["ATOXGRN"] >= spec["min_grade"]).fillna(False)]
        graded = graded[_within_year_of_enrollment(graded, adsl, "ADT", year).to_numpy()]
        for test, label in spec["tests"].items():
            subjects = set(graded.loc[graded["PARAMCD"] == test, "USUBJID"])
            rows += _subjects_with(itt, subjects, study, f"Marrow suppression: {label.capitalize()}", ITT,
                                   timepoint=timepoint)
        rows += _subjects_with(itt, set(graded["USUBJID"]), study, "Marrow suppression: any", ITT, timepoint=timepoint)
    infections = adae[(adae["INFFL"] == "Y")]
    infections = infections[_within_year_of_enrollment(infections, adsl, "ASTDT", year).to_numpy()]
    rows += _subjects_with(itt, set(infections["USUBJID"]), study, "Infection: any", ITT, timepoint=timepoint)
    for category in ("BACTERIAL", "VIRAL", "FUNGAL", "UNSPECIFIED"):
        subjects = set(infections.loc[infections["INFCAT"] == category, "USUBJID"])
        rows += _subjects_with(itt, subjects, study, f"Infection: {category.lower()}", ITT, timepoint=timepoint)
    return rows


def study_b_endpoints(adam: dict[str, pd.DataFrame]) -> list[dict]:
    """Study B (DLIPLX, single arm): CR, PR and ORR at 3 months with exact CIs; 12-month DFS (from CR) and
    OS; NRM; aGVHD and cGVHD; treatment-related AEs within one month of the first DLI by CTCAE grade."""
    study, year = "DLIPLX", load_spec("endpoints")["landmarks"]["twelve_months"]
    adsl, adtte, adae, adrs = adam["adsl"], adam["adtte"], adam["adae"], adam["adrs"]
    itt = adsl[adsl["ITTFL"] == "Y"]
    rows: list[dict] = []
    resp = adrs[adrs["PARAMCD"] == "RESP3M"]
    for code, label in (("CR", "Complete remission"), ("PR", "Partial remission")):
        subjects = set(resp.loc[resp["AVALC"] == code, "USUBJID"])
        rows += _subjects_with(itt, subjects, study, label, "ITT", timepoint="3 months")
    responders = set(adrs.loc[(adrs["PARAMCD"] == "ORR3M") & (adrs["AVALC"] == "Y"), "USUBJID"])
    rows += _subjects_with(itt, responders, study, "Overall response (CR + CRh + CRi + PR)", "ITT",
                           timepoint="3 months")
    rows += _survival_rows(study, adtte, "DFS", "Disease-free survival (from CR)", year, "12-month", test=False,
                           population="ITT subjects in CR")
    rows += _survival_rows(study, adtte, "OS", "Overall survival", year, "12-month", test=False)
    rows += _survival_rows(study, adtte, "LFS", "Leukemia-free survival", year, "12-month", test=False)
    rows += _incidence_rows(study, adtte, "NRM", "Non-relapse mortality", year, "12-month", test=False)
    rows += _incidence_rows(study, adtte, "RELAPSE", "Relapse", year, "12-month", test=False)
    for paramcd, label in (("AGVHD", "Acute GVHD any grade"), ("AGVHD24", "Acute GVHD grade II-IV"),
                           ("CGVHD", "Chronic GVHD")):
        rows += _incidence_rows(study, adtte, paramcd, label, year, "12-month", test=False)
        events = _analysed(adtte, paramcd)
        rows += _subjects_with(itt, set(events.loc[events["EVSTAT"] == 1, "USUBJID"]), study, label, "ITT",
                               timepoint="12 months")
    safety = adsl[adsl["SAFFL"] == "Y"]
    related = adae[adae["TRAE1MFL"] == "Y"]
    worst = related.groupby("USUBJID")["ATOXGRN"].max()
    rows += _subjects_with(safety, set(worst.index), study, "Treatment-related AE: any grade", SAFETY,
                           timepoint="1 month after first DLI")
    for grade in (1, 2, 3, 4, 5):
        rows += _subjects_with(safety, set(worst[worst == grade].index), study,
                               f"Treatment-related AE: worst grade {grade}", SAFETY,
                               timepoint="1 month after first DLI")
    return rows


def _from_first_dli(adsl: pd.DataFrame, adtte: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """Landmark at the first DLI: subjects infused while still at risk, time counted from the infusion."""
    part = _analysed(adtte, paramcd).merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID")
    part = part[part["TRTSDT"].notna() & (part["ADT"] >= part["TRTSDT"])]
    return part.assign(AVAL=(part["ADT"] - part["TRTSDT"]).dt.days.astype(float))


def pooled_dli_endpoints(adams: dict[str, dict[str, pd.DataFrame]]) -> list[dict]:
    """DLI outcomes of both studies on one scale (from the first DLI), by study and pooled: 1-year OS,
    relapse and NRM, aGVHD II-IV and infections. Why the studies were harmonized."""
    year = load_spec("endpoints")["landmarks"]["one_year"]
    population = "received DLI, landmark at first DLI"
    rows: list[dict] = []
    per_study = {}
    for study, adam in adams.items():
        adsl, adtte, adae = adam["adsl"], adam["adtte"], adam["adae"]
        per_study[study] = {p: _from_first_dli(adsl, adtte, p).assign(ANALYSIS_GROUP=study)
                            for p in ("OS", "RELAPSE", "NRM", "AGVHD24")}
        per_study[study]["infections"] = adae[(adae["INFFL"] == "Y") & (adae["TRTEMFL"] == "Y")
                                              & (adae["ADY"] <= year).fillna(False)]
        per_study[study]["safety"] = adsl[adsl["SAFFL"] == "Y"].assign(ANALYSIS_GROUP=study)
    if not per_study:
        return rows
    pooled = {key: pd.concat([s[key] for s in per_study.values()], ignore_index=True) for key in next(iter(per_study.values()))}
    for group, data in [*((s, d) for s, d in per_study.items()), ("POOLED", pooled)]:
        os_, safety = data["OS"], data["safety"]
        # N is everyone who received DLI; a subject whose first DLI date is unusable cannot be landmarked
        # and counts as not evaluable
        rows.append(_row("POOLED", group, "Overall survival from first DLI", "1-year survival", "1-year",
                         _counted(survival_at(os_["AVAL"], os_["EVSTAT"] == 1, year), safety, os_), KM, population))
        for paramcd, label in (("RELAPSE", "Relapse after DLI"), ("NRM", "Non-relapse mortality after DLI"),
                               ("AGVHD24", "Acute GVHD grade II-IV after DLI")):
            part = data[paramcd]
            rows.append(_row("POOLED", group, label, "1-year cumulative incidence", "1-year",
                             _counted(incidence_at(part["AVAL"], part["EVSTAT"], year), safety, part), AJ, population))
        rows.append(_row("POOLED", group, "Infection after DLI", "n/N", "1 year after first DLI",
                         proportion(int(safety["USUBJID"].isin(set(data["infections"]["USUBJID"])).sum()), len(safety)),
                         EXACT, "received DLI"))
    if len(per_study) < 2:
        return rows
    os_all = pooled["OS"]
    rows.append(_row("POOLED", "DLIPRO vs DLIPLX", "Overall survival from first DLI", "Log-rank test", "whole follow-up",
                     {"N": len(pooled["safety"]), "N_EVALUABLE": len(os_all), "EVENTS": int((os_all["EVSTAT"] == 1).sum()),
                      "P_VALUE": logrank_p(os_all["AVAL"], (os_all["EVSTAT"] == 1).astype(int), os_all["ANALYSIS_GROUP"])},
                     "chi-square, 1 df", population))
    rel_all = pooled["RELAPSE"]
    rows.append(_row("POOLED", "DLIPRO vs DLIPLX", "Relapse after DLI", "Gray's test", "whole follow-up",
                     {"N": len(pooled["safety"]), "N_EVALUABLE": len(rel_all), "EVENTS": int((rel_all["EVSTAT"] == 1).sum()),
                      "P_VALUE": gray_p(rel_all["AVAL"], rel_all["EVSTAT"], rel_all["ANALYSIS_GROUP"])},
                     "chi-square, 1 df", population))
    return rows


def endpoint_table(adams: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """All endpoint rows of the studies present, then the pooled DLI table."""
    rows: list[dict] = []
    if "DLIPRO" in adams and not adams["DLIPRO"]["adsl"].empty:
        rows += study_a_endpoints(adams["DLIPRO"])
    if "DLIPLX" in adams and not adams["DLIPLX"]["adsl"].empty:
        rows += study_b_endpoints(adams["DLIPLX"])
    rows += pooled_dli_endpoints({s: a for s, a in adams.items() if not a["adsl"].empty})
    frame = pd.DataFrame(rows, columns=list(ENDPOINT_COLUMNS))
    for column in ("N", "N_EVALUABLE", "EVENTS", "AT_RISK"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    for column in ("ESTIMATE", "CI_LOW", "CI_HIGH", "P_VALUE"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["TIMEPOINT"] = frame["TIMEPOINT"].astype(str)
    return frame
