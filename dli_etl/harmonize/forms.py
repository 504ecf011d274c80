"""Harmonize one form: raw text frames from every source -> one typed frame plus findings.

Driven by ``specs/forms.yaml`` (fields, types, required) and ``specs/codelists.yaml``; site value maps
come from the site profile that read the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable

import numpy as np
import pandas as pd

from dli_etl.findings import Finding
from dli_etl.harmonize.fields import (
    FieldResult,
    blank,
    standardize_cell_dose,
    standardize_code,
    standardize_date,
    standardize_lab,
    standardize_mrd,
    standardize_number,
    standardize_plerixafor_dose,
)
from dli_etl.harmonize.raw_cache import RawFormCache, TypedForm
from dli_etl.ingest.raw_form import LINEAGE, RawForm
from dli_etl.specs import load_spec
from dli_etl.text_safety import has_control_characters, strip_control_characters

_EXPECTED_FROM_DETAIL = {"CT-UNMAPPED", "DATE-INVALID", "DATE-PARTIAL", "LAB-IMPLAUSIBLE", "VALUE-OUT-OF-RANGE",
                         "NUMBER-AMBIGUOUS"}


def make_usubjid(study: pd.Series, site: pd.Series, subjid: pd.Series) -> pd.Series:
    """USUBJID = STUDYID-SITEID-SUBJID: unique across both studies when they are pooled."""
    return (study.astype("string") + "-" + site.astype("string") + "-" + subjid.astype("string").str.strip())


# where a row's value sits in its source: (row label, row locator, field) -> cell locator
CellOf = Callable[[Hashable, str, str], str]


def _findings_for(cell: CellOf, frame: pd.DataFrame, rule_id: str, mask: pd.Series, field: str,
                  detail: pd.Series | str, form: str) -> list[tuple[Hashable, Finding]]:
    out = []
    for idx in frame.index[mask.to_numpy(dtype=bool)]:
        row = frame.loc[idx]
        value = "" if pd.isna(row.get(field)) else str(row.get(field))
        info = detail if isinstance(detail, str) else str(detail.loc[idx])
        out.append((idx, Finding(rule_id, str(row["study"]), str(row["site"]), str(row["subjid"]), form, field, value,
                                 info if rule_id in _EXPECTED_FROM_DETAIL else "",
                                 info, str(row["src_file"]), str(row["src_sha256"]),
                                 cell(idx, str(row["src_locator"]), field), str(row["row_id"]))))
    return out


def harmonize_raw(raw: RawForm, form: str) -> tuple[pd.DataFrame, list[Finding], pd.DataFrame]:
    """Type one raw frame per the form spec: (typed frame, findings, source text of every spec field).

    The source text is what value accounting counts and what a nulled value keeps as its verbatim."""
    return harmonize_raws([raw], form)[0]


def typing_key(raw: RawForm) -> str:
    """Raws with the same key are typed alike: the same reading instructions (date format, separators,
    units, value maps, MRD unit, reference ranges) and the same columns and column types."""
    return json.dumps([raw.src_format, raw.date_format, raw.decimal_separator, raw.thousands_separator,
                       raw.units, raw.value_maps, raw.mrd_unit, raw.reference_ranges,
                       [[str(c), str(t)] for c, t in raw.frame.dtypes.items()]],
                      sort_keys=True, default=str, ensure_ascii=False)


def harmonize_raws(raws: list[RawForm], form: str) -> list[tuple[pd.DataFrame, list[Finding], pd.DataFrame]]:
    """``[harmonize_raw(raw, form) for raw in raws]`` for raws of one ``typing_key``, typed as one frame.

    A registry's site sheets are many and short: typed one by one, pandas' cost per call was most of
    harmonize. Each raw gets back its own rows (with its own index), its own findings in the order
    typing it alone gives, and cell locators from its own column map."""
    if len(raws) == 1:
        raw = raws[0]
        typed, found, verbatim = _type_frame(raw.frame, raw, form, lambda _idx, locator, field: raw.cell(locator, field))
        return [(typed, [finding for _, finding in found], verbatim)]
    frame = pd.concat([raw.frame for raw in raws], ignore_index=True)
    bounds = np.cumsum([0, *(len(raw.frame) for raw in raws)])
    owner = np.repeat(np.arange(len(raws)), np.diff(bounds))
    typed, found, verbatim = _type_frame(frame, raws[0], form,
                                         lambda idx, locator, field: raws[owner[idx]].cell(locator, field))
    own_findings: list[list[Finding]] = [[] for _ in raws]
    for idx, finding in found:
        own_findings[owner[idx]].append(finding)
    return [(typed.iloc[bounds[k]:bounds[k + 1]].set_axis(raw.frame.index), own_findings[k],
             verbatim.iloc[bounds[k]:bounds[k + 1]].set_axis(raw.frame.index)) for k, raw in enumerate(raws)]


def _type_frame(frame: pd.DataFrame, raw: RawForm, form: str, cell: CellOf
                ) -> tuple[pd.DataFrame, list[tuple[Hashable, Finding]], pd.DataFrame]:
    """Type ``frame`` with ``raw``'s reading instructions; findings carry their row's label."""
    spec = load_spec("forms")[form]
    codelists = load_spec("codelists")
    # columns are collected and framed once: inserting them one by one into a frame cost more than the
    # typing itself (a form has dozens of fields, and a registry hundreds of site sheets)
    out: dict[str, pd.Series] = {c: frame[c] for c in ("study", "site", "subjid")}
    out["subjid"] = out["subjid"].astype("string").str.strip()
    out["usubjid"] = make_usubjid(frame["study"], frame["site"], frame["subjid"])
    findings: list[tuple[Hashable, Finding]] = []
    verbatim: dict[str, pd.Series] = {}
    for name, fspec in spec["fields"].items():
        text = frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="string")
        verbatim[name] = text.astype("string")
        controls = has_control_characters(text)
        if controls.any():
            # a BEL or NUL in a cell is invisible to the site and breaks workbooks downstream: reported, stripped
            findings += _findings_for(cell, frame, "TEXT-CONTROL-CHARACTER", controls, name, "", form)
            text = strip_control_characters(text)
        kind = fspec["type"]
        if kind == "code":
            result = standardize_code(text, codelists[fspec["codelist"]], raw.value_maps.get(name, {}))
        elif kind == "date":
            result = standardize_date(text, raw.date_format)
        elif kind in ("integer", "number"):
            result = standardize_number(text, kind == "integer", raw.decimal_separator, raw.thousands_separator)
        elif kind == "cell_dose":
            result = standardize_cell_dose(text)
        elif kind == "plerixafor_dose":
            result = standardize_plerixafor_dose(text)
        elif kind == "lab":
            result = standardize_lab(text, fspec["analyte"], raw.units.get(name), load_spec("units"),
                                     raw.decimal_separator, raw.thousands_separator, raw.reference_ranges.get(name))
        elif kind == "mrd_result":
            result = standardize_mrd(text, raw.mrd_unit)
        else:
            result = FieldResult(text.astype("string").str.strip())
        values = result.values
        if "range" in fspec and kind in ("integer", "number"):
            # out of its possible range is nulled here, before any rule derives from it (a 120% BSA must
            # not stage skin GVHD)
            low, high = (float(x) for x in fspec["range"])
            outside = (values.notna() & ((values < low) | (values > high))).fillna(False).astype(bool)
            findings += _findings_for(cell, frame, "VALUE-OUT-OF-RANGE", outside, name, f"{low:g}-{high:g}", form)
            values = values.mask(outside)
        out[name] = values
        for suffix, extra in result.extra.items():
            out[name + suffix] = extra
        empty = blank(text)
        if fspec.get("required"):
            # a column missing from the file was reported once at ingest; each row still lacks the value
            findings += _findings_for(cell, frame, "REQ-MISSING", empty, name, "", form)
        for rule_id, (mask, detail) in result.problems.items():
            findings += _findings_for(cell, frame, rule_id, mask & ~empty, name, detail, form)
    for col in LINEAGE:
        out[col] = frame[col]
    for col in ("event_oid", "event_repeat_key", "id_pseudonym"):
        if col in frame.columns:
            out[col] = frame[col]
    return (pd.DataFrame(out, index=frame.index, copy=False), findings,
            pd.DataFrame(verbatim, index=frame.index, copy=False))


def harmonize_form(raws: list[RawForm], form: str, cache: RawFormCache | None = None
                   ) -> tuple[pd.DataFrame, list[Finding], pd.DataFrame]:
    """All sources of one form, stacked in a stable order (file, then source row), with their source text.
    With ``cache``, a source whose raw form is unchanged since an earlier run is not typed again; the
    others are typed together where their sites' profiles read them alike (``harmonize_raws``)."""
    ordered = sorted(raws, key=lambda r: r.src_file)
    typed: list[TypedForm | None] = [None] * len(ordered)
    keys: list[str] = [""] * len(ordered)
    if cache is not None:
        for i, raw in enumerate(ordered):
            keys[i], typed[i] = cache.get(raw, form)
    alike: dict[str, list[int]] = {}
    for i, raw in enumerate(ordered):
        if typed[i] is None:
            alike.setdefault(typing_key(raw), []).append(i)
    for members in alike.values():
        for i, result in zip(members, harmonize_raws([ordered[i] for i in members], form), strict=True):
            typed[i] = result
            if cache is not None:
                cache.put(ordered[i], form, keys[i], result)
    frames, findings, texts = [], [], []
    for frame, found, verbatim in typed:
        frames.append(frame)
        texts.append(verbatim)
        findings += found
    if not frames:
        return pd.DataFrame(), findings, pd.DataFrame()
    return pd.concat(frames, ignore_index=True), findings, pd.concat(texts, ignore_index=True)
