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

import pandas as pd

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
    per_value = on_fields.groupby(["row_id", "field"], sort=True).agg(
        rule_ids=("rule_id", lambda s: ";".join(sorted(set(s)))),
        finding_ids=("finding_id", lambda s: ";".join(sorted(set(s)))),
        src_locator=("src_locator", "first")).reset_index()
    by_row = curated.set_index("row_id")
    position = pd.Series(curated.index, index=curated["row_id"].to_numpy())
    rows = by_row.loc[per_value["row_id"]]
    current = [by_row.at[r, f] for r, f in zip(per_value["row_id"], per_value["field"], strict=True)]
    text = [verbatim.at[position[r], f] for r, f in zip(per_value["row_id"], per_value["field"], strict=True)]
    out = pd.DataFrame({
        "study": rows["study"].to_numpy(), "site": rows["site"].to_numpy(), "subjid": rows["subjid"].to_numpy(),
        "usubjid": rows["usubjid"].to_numpy(), "form": form, "field": per_value["field"].to_numpy(),
        "verbatim": text, "rule_ids": per_value["rule_ids"].to_numpy(), "finding_ids": per_value["finding_ids"].to_numpy(),
        "src_file": rows["src_file"].to_numpy(), "src_locator": per_value["src_locator"].to_numpy(),
        "row_id": per_value["row_id"].to_numpy()}).astype("string")
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
    present = verbatim[fields].notna() & (verbatim[fields].astype("string").apply(lambda c: c.str.strip()) != "")
    present = present.fillna(False).astype(bool)
    held = is_in(frame["row_id"], result.held_back["row_id"])
    curated = result.curated.set_index("row_id").reindex(frame["row_id"])
    curated.index = frame.index
    # a censored lab result ("<0.1") is curated as text beside a null number
    typed = pd.DataFrame({f: curated[f].notna() | (curated[f + "_censored"].notna() if f + "_censored" in curated.columns
                                                    else False) for f in fields}, index=frame.index)
    filled = typed.to_numpy() & ~held.to_numpy()[:, None]
    keys = (findings["row_id"].fillna("") + "|" + findings["field"].fillna("")).unique() if not findings.empty else []
    row_ids = frame["row_id"].astype("string").fillna("")
    named = pd.DataFrame({f: is_in(row_ids + "|" + f, keys).to_numpy() for f in fields}, index=frame.index)
    kept = ~held.to_numpy()[:, None]
    read = present.to_numpy()
    counts = pd.DataFrame({
        "site": frame["site"].to_numpy(), "src_file": frame["src_file"].to_numpy(),
        "rows_in": 1, "rows_curated": (~held).astype(int).to_numpy(), "rows_held_back": held.astype(int).to_numpy(),
        "values_read": read.sum(axis=1),
        "values_curated": (read & filled).sum(axis=1),
        "values_nulled": (read & kept & ~filled & named.to_numpy()).sum(axis=1),
        "values_held_back": (read & ~kept).sum(axis=1),
        "values_unaccounted": (read & kept & ~filled & ~named.to_numpy()).sum(axis=1),
    })
    out = counts.groupby(["site", "src_file"], dropna=False, sort=True).sum().reset_index()
    out.insert(0, "study", study)
    out.insert(2, "form", form)
    return out[list(ACCOUNTING_COLUMNS)].astype({c: "int64" for c in ACCOUNTING_COLUMNS[4:]})
