"""Controlled terminology: values of CT-bound SDTM variables checked against NCI EVS SDTM CT
(package 2025-03-25, subset shipped in ``specs/sdtm_ct_subset.csv``). A value with no term is a
finding, never a silent pass-through; sponsor values in extensible codelists are warnings."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.sdtm.algorithms import variable_metadata

CT_PACKAGE_DATE = "2025-03-25"


@cache
def codelists() -> dict[str, tuple[bool, frozenset[str]]]:
    """Codelist short name -> (extensible, submission values)."""
    text = (resources.files("dli_etl") / "specs" / "sdtm_ct_subset.csv").read_text(encoding="utf-8")
    values: dict[str, set[str]] = {}
    extensible: dict[str, bool] = {}
    for row in csv.DictReader(text.splitlines()):
        values.setdefault(row["codelist"], set()).add(row["submission_value"])
        extensible[row["codelist"]] = row["extensible"] == "Yes"
    return {name: (extensible[name], frozenset(v)) for name, v in values.items()}


@cache
def codelist_terms() -> dict[str, tuple[str, bool, tuple[tuple[str, str], ...]]]:
    """Codelist short name -> (NCI C-code of the codelist, extensible, ((submission value, term C-code), ...))
    in the shipped order: what Define-XML lists for a variable bound to the codelist."""
    text = (resources.files("dli_etl") / "specs" / "sdtm_ct_subset.csv").read_text(encoding="utf-8")
    out: dict[str, tuple[str, bool, list[tuple[str, str]]]] = {}
    for row in csv.DictReader(text.splitlines()):
        code, extensible, terms = out.setdefault(row["codelist"], (row["codelist_code"], row["extensible"] == "Yes", []))
        terms.append((row["submission_value"], row["term_code"]))
    return {name: (code, extensible, tuple(terms)) for name, (code, extensible, terms) in out.items()}


def ct_findings(study: str, domain: str, frame: pd.DataFrame) -> list[Finding]:
    """One finding per distinct value outside its codelist (per variable)."""
    meta = variable_metadata()
    rows = meta[(meta["domain"] == domain.upper()) & (meta["codelist"] != "")]
    out: list[Finding] = []
    lists = codelists()
    for _, var in rows.iterrows():
        name, codelist = var["variable"], var["codelist"]
        if name not in frame.columns or codelist not in lists:
            continue
        extensible, allowed = lists[codelist]
        values = frame[name].dropna().astype(str)
        # distinct values first: a Python set over every LB row walked Arrow strings one by one
        for value in sorted(set(values.unique()) - allowed):
            rule = "CT-SDTM-SPONSOR-VALUE" if extensible else "CT-SDTM-NOT-IN-CODELIST"
            out.append(Finding(rule, study, form=domain.upper(), field=name, value=value, expected=codelist,
                               detail=str(int((values == value).sum())), src_locator=f"{domain.upper()}.{name}"))
    return out
