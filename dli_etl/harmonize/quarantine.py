"""Value-level quarantine: an error finding nulls the value it names, the record stays.

A clinical record (a subject, a death, an infusion, an adverse event, a lab draw) is what a trial is
about; one bad field must not remove it from the analysis. What an error does is its rule's ``action``
(``specs/rules.yaml``):

- ``null``: the named field is nulled in the curated form (and so in SDTM); its verbatim text is kept
  in the quarantined-values table beside the finding that explains it;
- ``hold``: the record cannot be attributed (unknown or missing subject, a second copy of a
  one-per-subject record) and is held back whole, with its reasons;
- ``keep``: the collected value stays (a contradiction that analysis resolves by derivation) and the
  finding is a query only.

Accounting holds for values as for rows: for every form, site and file, values read = values curated +
values nulled with a finding + values in held-back rows. A value that is neither is ``unaccounted``: a
pipeline defect, and a blocking check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dli_etl.membership import is_in

# derived columns that travel with a field and are nulled with it; verbatim columns (``_text``,
# ``_orig``, ``_orig_unit``) are never nulled: they are how SDTM --ORRES keeps what was collected
DERIVED_SUFFIXES = ("_pct", "_censor", "_qual", "_censored")
QUARANTINED_VALUE_COLUMNS = ("study", "site", "subjid", "usubjid", "form", "field", "verbatim", "rule_ids",
                             "finding_ids", "src_file", "src_locator", "row_id")
ACCOUNTING_COLUMNS = ("study", "site", "form", "src_file", "rows_in", "rows_curated", "rows_held_back",
                      "values_read", "values_curated", "values_nulled", "values_held_back", "values_unaccounted")


@dataclass
class QuarantinedForm:
    """One form after quarantine: curated rows (bad values nulled), held-back rows, nulled values."""

    curated: pd.DataFrame
    held_back: pd.DataFrame
    nulled: pd.DataFrame


def active_errors(findings: pd.DataFrame, form: str, accepted: frozenset[str] | set[str]) -> pd.DataFrame:
    """Error findings of ``form`` tied to a source row that the data manager has not accepted."""
    if findings.empty:
        return findings
    return findings[(findings["severity"] == "error") & (findings["form"] == form)
                    & (findings["row_id"].fillna("") != "") & ~findings["finding_id"].isin(accepted)]


def quarantine_form(frame: pd.DataFrame, verbatim: pd.DataFrame, findings: pd.DataFrame, form: str,
                    accepted: frozenset[str] | set[str] = frozenset()) -> QuarantinedForm:
    """Apply every active error of ``form`` to ``frame``; returns new frames, ``frame`` is not changed.

    ``verbatim``: the source text of each spec field, aligned with ``frame`` (same index).
    """
    errors = active_errors(findings, form, accepted)
    hold = errors[errors["action"] == "hold"]
    reasons = hold.groupby("row_id")["rule_id"].agg(lambda s: ";".join(sorted(set(s))))
    held_mask = is_in(frame["row_id"], reasons.index)
    held = frame[held_mask].assign(quarantine_reasons=frame.loc[held_mask, "row_id"].map(reasons).astype("string"))
    curated = frame[~held_mask].copy()
    nulls = errors[(errors["action"] == "null") & errors["field"].isin(list(verbatim.columns))
                   & is_in(errors["row_id"], curated["row_id"])]
    if not nulls.empty:
        position = pd.Series(curated.index, index=curated["row_id"].to_numpy())
        for field_name, group in nulls.groupby("field", sort=True):
            index = position.loc[group["row_id"].unique()].to_numpy()
            for column in [field_name, *(field_name + s for s in DERIVED_SUFFIXES)]:
                if column in curated.columns:
                    curated.loc[index, column] = pd.NA
    nulled = nulled_values(form, curated, verbatim, findings[findings["form"] == form] if not findings.empty else findings)
    return QuarantinedForm(curated.reset_index(drop=True), held.reset_index(drop=True), nulled)


def nulled_values(form: str, curated: pd.DataFrame, verbatim: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """One row per value that was read, is null in ``curated`` and has a finding on its field: what the
    accounting counts as *nulled*, with its verbatim and the rules that explain it (also an accepted
    finding whose value could not be typed, e.g. a date that stays ambiguous)."""
    if curated.empty or findings.empty:
        return pd.DataFrame(columns=list(QUARANTINED_VALUE_COLUMNS), dtype="string")
    on_fields = findings[findings["field"].isin([c for c in verbatim.columns if c in curated.columns])
                         & is_in(findings["row_id"], curated["row_id"])]
    if on_fields.empty:
        return pd.DataFrame(columns=list(QUARANTINED_VALUE_COLUMNS), dtype="string")
    # per (row, field): its rules and findings, and the first locator given. Plain Python over the
    # findings' columns: a groupby with a Python aggregate per group cost more than the rest of the form
    per_value: dict[tuple[str, str], tuple[set, set, list]] = {}
    for row_id, field_name, rule_id, finding_id, locator in zip(
            *(on_fields[c].tolist() for c in ("row_id", "field", "rule_id", "finding_id", "src_locator")), strict=True):
        entry = per_value.setdefault((row_id, field_name), (set(), set(), [pd.NA]))
        entry[0].add(rule_id)
        entry[1].add(finding_id)
        if pd.isna(entry[2][0]) and not pd.isna(locator):
            entry[2][0] = locator
    keys = sorted(per_value)
    position = dict(zip(curated["row_id"].tolist(), range(len(curated)), strict=True))
    at = [position[row_id] for row_id, _ in keys]
    labels = verbatim.index.get_indexer(curated.index[at])
    current, text = [], []
    for (_, field_name), row, label in zip(keys, at, labels, strict=True):
        current.append(curated[field_name].array[row])
        text.append(verbatim[field_name].array[label])
    columns = {c: curated[c].to_numpy(dtype=object)[at] for c in ("study", "site", "subjid", "usubjid", "src_file")}
    out = pd.DataFrame({
        "study": columns["study"], "site": columns["site"], "subjid": columns["subjid"],
        "usubjid": columns["usubjid"], "form": form, "field": [f for _, f in keys],
        "verbatim": pd.array(text, dtype=object),
        "rule_ids": [";".join(sorted(per_value[k][0])) for k in keys],
        "finding_ids": [";".join(sorted(per_value[k][1])) for k in keys],
        "src_file": columns["src_file"], "src_locator": [per_value[k][2][0] for k in keys],
        "row_id": [r for r, _ in keys]}).astype("string")
    # a finding on an empty value (REQ-MISSING) nulls nothing that was read; a value still there was not nulled
    keep = pd.Series([pd.isna(v) for v in current], index=out.index) & (out["verbatim"].str.strip().fillna("") != "")
    return out[keep].reset_index(drop=True)


def value_accounting(study: str, form: str, frame: pd.DataFrame, verbatim: pd.DataFrame, result: QuarantinedForm,
                     findings: pd.DataFrame) -> pd.DataFrame:
    """Rows and values per site and file: in = curated + held back, read = curated + nulled + held back.

    A value is *read* when its source text is not blank. It is *curated* when the curated form still
    holds a value for it, *nulled* when the curated value is null and a finding names that field of that
    row, *held back* when its row is. Anything else is *unaccounted*: it vanished without a finding.
    """
    if frame.empty:
        return pd.DataFrame(columns=list(ACCOUNTING_COLUMNS))
    fields = [c for c in verbatim.columns if c in frame.columns]
    read = _read_values(verbatim[fields])
    held = is_in(frame["row_id"], result.held_back["row_id"])
    curated = result.curated.set_index("row_id").reindex(frame["row_id"])
    curated.index = frame.index
    # a censored lab result ("<0.1") is curated as text beside a null number
    censored = [f for f in fields if f + "_censored" in curated.columns]
    typed = curated[fields].notna().to_numpy()
    if censored:
        typed[:, [fields.index(f) for f in censored]] |= curated[[f + "_censored" for f in censored]].notna().to_numpy()
    filled = typed & ~held.to_numpy()[:, None]
    named = _named_values(frame["row_id"], fields, findings)
    kept = ~held.to_numpy()[:, None]
    counts = pd.DataFrame({
        "site": frame["site"].to_numpy(), "src_file": frame["src_file"].to_numpy(),
        "rows_in": 1, "rows_curated": (~held).astype(int).to_numpy(), "rows_held_back": held.astype(int).to_numpy(),
        "values_read": read.sum(axis=1),
        "values_curated": (read & filled).sum(axis=1),
        "values_nulled": (read & kept & ~filled & named).sum(axis=1),
        "values_held_back": (read & ~kept).sum(axis=1),
        "values_unaccounted": (read & kept & ~filled & ~named).sum(axis=1),
    })
    out = counts.groupby(["site", "src_file"], dropna=False, sort=True).sum().reset_index()
    out.insert(0, "study", study)
    out.insert(2, "form", form)
    return out[list(ACCOUNTING_COLUMNS)].astype({c: "int64" for c in ACCOUNTING_COLUMNS[4:]})


def _read_values(verbatim: pd.DataFrame) -> np.ndarray:
    """Per row and field: was source text there (not null, not blank)? One trim over every field's
    values at once: per-column string operations were most of accounting's cost on a small form."""
    if verbatim.empty or not len(verbatim.columns):
        return np.zeros(verbatim.shape, dtype=bool)
    text = pa.chunked_array([pa.array(verbatim[c].astype("string").array, type=pa.large_string())
                             for c in verbatim.columns]).combine_chunks()
    filled = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text), ""), False)
    return filled.to_numpy(zero_copy_only=False).reshape(len(verbatim.columns), len(verbatim)).T.copy()


def _named_values(row_ids: pd.Series, fields: list[str], findings: pd.DataFrame) -> np.ndarray:
    """Per row and field: does a finding name this field of this row? Only fields some finding names are
    looked up (building a "row|field" key for every value of every field cost more than the lookup)."""
    named = np.zeros((len(row_ids), len(fields)), dtype=bool)
    if findings.empty:
        return named
    on = findings[findings["field"].isin(fields) & findings["row_id"].notna()]
    for field_name, group in on.groupby("field", sort=False):
        named[:, fields.index(str(field_name))] = is_in(row_ids, group["row_id"].unique()).to_numpy()
    return named
