"""Spec-driven mapping (in the spirit of pharmaverse sdtm.oak): ``specs/sdtm_mapping.csv`` says, per
target variable, which curated form and field it comes from and which algorithm maps it; this module
holds the small vocabulary of algorithms.

Spec columns: ``study`` (``*`` = both), ``domain``, ``record`` (one SDTM record per source row and record
group, so one form can give several records, e.g. one per GVHD organ), ``source_form``, ``where`` (a
pandas query selecting source rows; it sees the subject's RFSTDTC, ``@days_between(start, end)`` and
``@event_recorded(answer, date, ...)``: Y, or a blank answer beside a date or other evidence),
``variable`` (``SUPP:QNAM:QLABEL`` for a supplemental qualifier),
``algorithm``, ``source``, ``value``.

Algorithms: ``assign`` (copy), ``assign_ct`` (map through a value map in ``specs/sdtm_value_maps.yaml``;
a collected value with no mapping is a finding), ``hardcode``, ``iso_dtc`` (ISO 8601 text, partial
dates kept), ``upper``, ``study_day`` (--DY from a --DTC, no day 0). Derived on every domain:
--STRESC from --ORRES, --STRESN when numeric, --DY for every --DTC that has one.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.rules.event_answers import event_recorded
from dli_etl.sdtm.algorithms import (
    conform,
    domain_variables,
    finish_domain,
    sequence_numbers,
    study_day,
    supp_records,
    with_reference_start,
)
from dli_etl.specs import load_spec

ALGORITHMS = ("assign", "assign_ct", "hardcode", "iso_dtc", "upper", "study_day")


def days_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Whole days from ``start`` to ``end`` (ISO dates as text); null where either is not a full date."""
    first = pd.to_datetime(start.astype("string").str[:10], errors="coerce", format="%Y-%m-%d")
    last = pd.to_datetime(end.astype("string").str[:10], errors="coerce", format="%Y-%m-%d")
    return (last - first).dt.days


def select_rows(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The rows of ``frame`` a spec's ``where`` selects (a pandas query that may call ``@days_between`` and
    ``@event_recorded``): one vocabulary for the mapping spec and the reconciliation spec, so the gate
    counts what the mapping keeps."""
    return frame.query(where, engine="python", local_dict={"days_between": days_between,
                                                           "event_recorded": event_recorded})


@cache
def _spec() -> pd.DataFrame:
    text = (resources.files("dli_etl") / "specs" / "sdtm_mapping.csv").open(encoding="utf-8")
    frame = pd.read_csv(text, dtype=str, keep_default_na=False)
    unknown = set(frame["algorithm"]) - set(ALGORITHMS)
    if unknown:
        raise ValueError(f"sdtm_mapping.csv names unknown algorithms: {sorted(unknown)}")
    return frame


def mapping_spec(study: str) -> pd.DataFrame:
    """Spec rows that apply to ``study``."""
    spec = _spec()
    return spec[spec["study"].isin(["*", study])]


def _apply(source: pd.DataFrame, out: pd.DataFrame, row: pd.Series, maps: dict, unmapped: list) -> pd.Series:
    algorithm, column, value = row["algorithm"], row["source"], row["value"]
    if algorithm == "hardcode":
        return pd.Series(value, index=source.index, dtype="string")
    data = out[column] if column in out.columns else source[column]
    if algorithm == "assign":
        return data.astype("string")
    if algorithm == "upper":
        return data.astype("string").str.upper()
    if algorithm == "iso_dtc":
        return data.astype("string").str.slice(0, 19)
    if algorithm == "study_day":
        return study_day(out[column], source["RFSTDTC"]).astype("Float64")
    mapped = data.astype("string").map(maps[value]).astype("string")
    missing = data.notna() & mapped.isna()
    for idx in data.index[missing.to_numpy(dtype=bool)]:
        unmapped.append((source.loc[idx], row["variable"], str(data.loc[idx]), value))
    return mapped


def _derive_common(frame: pd.DataFrame, domain: str, reference: pd.Series) -> pd.DataFrame:
    variables = set(domain_variables(domain))
    out = frame
    if f"{domain}ORRES" in out.columns:
        if f"{domain}STRESC" in variables and f"{domain}STRESC" not in out.columns:
            out[f"{domain}STRESC"] = out[f"{domain}ORRES"]
        if f"{domain}STRESN" in variables and f"{domain}STRESN" not in out.columns:
            out[f"{domain}STRESN"] = pd.to_numeric(out[f"{domain}STRESC"], errors="coerce").astype("Float64")
        if f"{domain}STRESU" in variables and f"{domain}STRESU" not in out.columns and f"{domain}ORRESU" in out.columns:
            out[f"{domain}STRESU"] = out[f"{domain}ORRESU"]  # measures recorded in the unit the standard uses
    for dtc in [c for c in out.columns if c.startswith(domain) and c.endswith("DTC")]:
        dy = dtc[:-3] + "DY"
        if dy in variables and dy not in out.columns:
            out[dy] = study_day(out[dtc], reference).astype("Float64")
    return out


def map_domain(study: str, domain: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame | None, list[Finding]]:
    """One domain from the spec: (domain frame, SUPP-- frame or None, unmapped-value findings)."""
    spec = mapping_spec(study)
    rows = spec[spec["domain"] == domain]
    maps = load_spec("sdtm_value_maps")
    frames, unmapped = [], []
    supp_labels: dict[str, tuple[str, str]] = {}
    for order, (_, group) in enumerate(rows.groupby("record", sort=False)):
        form = curated.get(group["source_form"].iloc[0])
        if form is None or form.empty:
            continue
        where = group["where"].iloc[0]
        source = with_reference_start(form, dm)
        if where:
            source = select_rows(source, where)
        if domain in ("MH", "PR", "DS", "DD"):
            source = source.drop_duplicates("usubjid")  # one-per-subject forms: duplicates were held back
        if source.empty:
            continue
        out = source[["USUBJID", "RFSTDTC", *[c for c in ("src_file", "src_sha256", "src_locator") if c in source]]].copy()
        for _, row in group.iterrows():
            name = row["variable"]
            if name.startswith("SUPP:"):
                _, qnam, qlabel = name.split(":", 2)
                supp_labels[f"_supp_{qnam}"] = (qnam, qlabel)
                name = f"_supp_{qnam}"
            out[name] = _apply(source, out, row, maps, unmapped)
        out["_record"] = order
        frames.append(_derive_common(out, domain, source["RFSTDTC"]))
    findings = [Finding("SDTM-VALUE-UNMAPPED", study, str(src.get("site", "")), str(src.get("subjid", "")), domain,
                        variable, value, value_map, "", str(src.get("src_file", "")), str(src.get("src_sha256", "")),
                        str(src.get("src_locator", "")), str(src.get("row_id", "")))
                for src, variable, value, value_map in unmapped]
    if not frames:
        return conform(pd.DataFrame(), domain), (conform(pd.DataFrame(), f"SUPP{domain}") if supp_labels else None), findings
    combined = pd.concat(frames, ignore_index=True)
    dtc = next((c for c in combined.columns if c.endswith("DTC") and c.startswith(domain)), None)
    order = [c for c in (dtc, "_record") if c]
    supp = None
    if supp_labels:
        keyed = sequence_numbers(combined.assign(STUDYID=study, DOMAIN=domain), "USUBJID", order, f"{domain}SEQ")
        supp = supp_records(keyed, study, domain, supp_labels)
    return finish_domain(combined, study, domain, order), supp, findings
