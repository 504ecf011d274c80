"""Recorded MAGIC organ stages and overall grade checked against what the raw measures and stages give."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.magic_agvhd import (
    liver_stage,
    lower_gi_stage,
    magic_overall_grade,
    skin_stage,
    upper_gi_stage,
)
from dli_etl.rules.nih_cgvhd import ORGANS, nih_global_severity

Locate = Callable[[pd.Series, str], str]


def _recorded(row: Mapping, field: str) -> int | None:
    """The recorded stage, None when blank: a blank stage beside its measure once stopped the whole study
    (a nullable integer's NA has no truth value), where it is a missing value with its own finding."""
    value = row[field]
    return None if pd.isna(value) else int(value)


def _derived_stage(row: Mapping, field: str) -> int | None:
    if field == "skin_stage" and pd.notna(row["skin_bsa"]):
        # bullae/desquamation are not collected, so a recorded stage 4 with > 50% BSA is not contradicted
        derived = skin_stage(float(row["skin_bsa"]))
        return None if derived == 3 and _recorded(row, "skin_stage") == 4 else derived
    if field == "liver_stage" and pd.notna(row["bilirubin_mg_dl"]):
        return liver_stage(float(row["bilirubin_mg_dl"]))
    if field == "upper_gi_stage" and pd.notna(row["upper_gi_symptoms"]):
        return upper_gi_stage(row["upper_gi_symptoms"] == "Y")
    if field == "lower_gi_stage" and pd.notna(row["stool_ml_day"]):
        weight = row.get("weight_kg")
        derived = lower_gi_stage(float(row["stool_ml_day"]), float(weight) if pd.notna(weight) else None)
        # stage 4 needs pain/bloody stool, which volume cannot show; only lower recorded stages contradict
        return None if _recorded(row, "lower_gi_stage") == 4 else derived
    return None


def magic_findings(agvhd: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Every organ stage that contradicts its raw measure, and every grade that contradicts the stages."""
    out: list[Finding] = []
    if agvhd.empty:
        return out
    stages = ("skin_stage", "liver_stage", "upper_gi_stage", "lower_gi_stage")
    # rows read as dicts; only a row with a finding becomes a Series (one per row was the rule's cost at scale)
    for position, row in enumerate(agvhd.to_dict("records")):
        for field in stages:
            derived = _derived_stage(row, field)
            if derived is not None and pd.notna(row[field]) and int(row[field]) != derived:
                out.append(_finding("MAGIC-STAGE-CONTRADICTION", agvhd.iloc[position], field, str(int(row[field])),
                                    str(derived), locate))
        if all(pd.notna(row[s]) for s in stages) and pd.notna(row["magic_overall_grade"]):
            derived = magic_overall_grade(*(int(row[s]) for s in stages))
            if int(row["magic_overall_grade"]) != derived:
                out.append(_finding("MAGIC-GRADE-CONTRADICTION", agvhd.iloc[position], "magic_overall_grade",
                                    str(int(row["magic_overall_grade"])), str(derived), locate))
    return out


def _finding(rule: str, row: pd.Series, field: str, value: str, expected: str, locate: Locate) -> Finding:
    return Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "agvhd", field, value, expected, "",
                   str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"]))


def nih_findings(cgvhd: pd.DataFrame, locate: Locate) -> list[Finding]:
    """Recorded global severity that the organ scores contradict (skipped when a missing score leaves it open)."""
    out: list[Finding] = []
    for position, values in enumerate(cgvhd.to_dict("records")):
        scores = {o: (None if pd.isna(values[f"{o}_score"]) else int(values[f"{o}_score"])) for o in ORGANS}
        derived = nih_global_severity(scores)
        if derived is not None and pd.notna(values["global_severity"]) and values["global_severity"] != derived:
            row = cgvhd.iloc[position]
            out.append(Finding("NIH-SEVERITY-CONTRADICTION", str(row["study"]), str(row["site"]), str(row["subjid"]),
                               "cgvhd", "global_severity", str(row["global_severity"]), derived, "", str(row["src_file"]),
                               str(row["src_sha256"]), locate(row, "global_severity"), str(row["row_id"])))
    return out
