"""Adverse events against CTCAE v5.0: known term, a grade that exists for it, agreement with the lab
value recorded the same day, and grade 5 only with a death record."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dli_etl.findings import Finding
from dli_etl.harmonize.site_numbers import parse_site_numbers
from dli_etl.reference.ctcae_terms import ctcae_terms
from dli_etl.rules.ctcae_labs import ANEMIA_BOUNDS, ctcae_grade_anemia, ctcae_grade_decrease

Locate = Callable[[pd.Series, str], str]

# lab-graded term -> CBC column (canonical units: 10^9/L, Hb g/dL)
LAB_TERMS = {
    "Neutrophil count decreased": "anc",
    "Platelet count decreased": "plt",
    "White blood cell decreased": "wbc",
    "Lymphocyte count decreased": "lym",
    "Anemia": "hgb",
}


def _finding(rule: str, row: pd.Series, field: str, value: str, expected: str, detail: str, locate: Locate) -> Finding:
    return Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "adverse_event", field, value,
                   expected, detail, str(row["src_file"]), str(row["src_sha256"]), locate(row, field), str(row["row_id"]))


def lab_grade(term: str, value: float, unit: str | None = None) -> int | None:
    """Grade from the lab value without a site LLN: grade 0 and 1 cannot be told apart (None).

    ``value`` is in the canonical unit, or in ``unit`` when haemoglobin is graded as reported."""
    if term == "Anemia":
        return ctcae_grade_anemia(value, lln=None, unit=unit if unit in ANEMIA_BOUNDS else "g/dL")
    return ctcae_grade_decrease(term, value, lln=None)


def reported_grades(frame: pd.DataFrame, column: str, term: str | None) -> pd.Series:
    """CTCAE grade per row of a lab column; haemoglobin reported in g/L or mmol/L is graded in that unit
    against the bounds CTCAE prints for it (``<column>_orig`` and ``<column>_orig_unit``)."""
    if term is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    # a lab column repeats few distinct values over many rows: each is graded once (``map`` still
    # infers the result's type from the grades, as before)
    known: dict[float, int | None] = {}

    def grade(value: object) -> int | None:
        if pd.isna(value):
            return None
        number = float(value)
        if number not in known:
            known[number] = lab_grade(term, number)
        return known[number]

    grades = frame[column].map(grade)
    unit_col, orig_col = f"{column}_orig_unit", f"{column}_orig"
    if term == "Anemia" and unit_col in frame.columns and orig_col in frame.columns:
        # the one reading of site-written numbers (a bare "1,500" is ambiguous there, never 1.5)
        reported, _ = parse_site_numbers(frame[orig_col])
        own_unit = frame[unit_col].isin(["g/L", "mmol/L"]).fillna(False) & reported.notna() & frame[column].notna()
        positions = np.flatnonzero(own_unit.to_numpy(dtype=bool))
        if len(positions):
            # written back in one step: a row-by-row .loc was seconds at registry scale
            keys = [(float(value), str(unit)) for value, unit in
                    zip(reported.iloc[positions], frame[unit_col].iloc[positions], strict=True)]
            in_unit = {key: lab_grade(term, *key) for key in set(keys)}
            grades.iloc[positions] = [in_unit[key] for key in keys]
    return grades


def ctcae_findings(ae: pd.DataFrame, cbc: pd.DataFrame | None, deaths: set[str], locate: Locate) -> list[Finding]:
    out: list[Finding] = []
    if ae.empty:
        return out
    terms = ctcae_terms()
    # the three columns read as lists; only an AE with a finding becomes a Series (one per AE was the cost)
    for position, (term_value, grade, usubjid) in enumerate(zip(ae["aeterm"].tolist(), ae["aetoxgr"].tolist(),
                                                                ae["usubjid"].tolist(), strict=True)):
        term = str(term_value) if pd.notna(term_value) else ""
        known = terms.get(term.casefold())
        if term and known is None:
            out.append(_finding("CTCAE-TERM-UNKNOWN", ae.iloc[position], "aeterm", term, "", "", locate))
        if known is not None and pd.notna(grade) and str(int(grade)) not in known["grades"]:
            out.append(_finding("CTCAE-GRADE-NOT-DEFINED", ae.iloc[position], "aetoxgr", str(int(grade)),
                                known["grades"], known["term"], locate))
        if pd.notna(grade) and int(grade) == 5 and usubjid not in deaths:
            out.append(_finding("AE-GRADE5-WITHOUT-DEATH", ae.iloc[position], "aetoxgr", "5", "", "", locate))
    if cbc is None or cbc.empty:
        return out
    lab_ae = ae[ae["aeterm"].isin(list(LAB_TERMS)) & ae["aetoxgr"].notna()]
    graded = cbc.drop_duplicates(["usubjid", "lbdtc"])
    grades = pd.DataFrame({"usubjid": graded["usubjid"], "lbdtc": graded["lbdtc"],
                           **{column: graded[column] for column in LAB_TERMS.values() if column in graded},
                           **{f"_grade_{column}": reported_grades(graded, column, term)
                              for term, column in LAB_TERMS.items() if column in graded}})
    same_day = lab_ae.merge(grades, left_on=["usubjid", "aestdt"], right_on=["usubjid", "lbdtc"], how="inner")
    for _, row in same_day.iterrows():
        column = LAB_TERMS[row["aeterm"]]
        if pd.isna(row[column]):
            continue
        derived = row[f"_grade_{column}"]
        derived = None if derived is None or pd.isna(derived) else int(derived)
        recorded = int(row["aetoxgr"])
        # The AE grade is the worst over the episode, so a lab value of that day may show less than the
        # recorded grade; only a recorded grade *below* what the day's value already gives contradicts.
        if derived is not None and recorded < derived:
            out.append(_finding("CTCAE-GRADE-CONTRADICTS-LAB", row, "aetoxgr", str(recorded), str(derived),
                                f"{row['aeterm']} ({column} {row[column]:g})", locate))
    return out
