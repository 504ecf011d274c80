"""Give raw files their meaning: a site profile maps sheets / item groups / instruments to forms and
source columns to canonical fields, and decides what happens to identifier columns.

Problems here are findings (unreadable file, missing sheet or column, undeclared identifier), never
exceptions: the run goes on with what can be read.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.ingest.errors import InputLimitExceeded, SourceReadError
from dli_etl.ingest.odm_reader import OdmContent, read_odm
from dli_etl.ingest.raw_form import IngestResult, RawForm, SourceCoverage, SourceFile
from dli_etl.ingest.redcap_reader import RedcapContent, read_dictionary, read_redcap
from dli_etl.ingest.xlsx_reader import SheetInfo, SheetTable, XlsxWorkbook, normalize_header
from dli_etl.lineage import sha256_of
from dli_etl.rules.identifiers import identifier_reason, pseudonymize
from dli_etl.site_profile import SiteProfile, profiles_for

_REDCAP_SYSTEM = {"record_id", "event", "instance", "form_status", "src_locator", "src_row"}


def _finalize(frame: pd.DataFrame, study: str, site: pd.Series | str, src_file: str, sha: str, fmt: str) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "study", study)
    out.insert(1, "site", site if isinstance(site, str) else site.to_numpy())
    out["src_file"] = src_file
    out["src_sha256"] = sha
    out["src_format"] = fmt
    # the source row number keeps two identical key paths apart (a subject exported twice)
    out["row_id"] = src_file + "#" + out["src_locator"].astype("string") + "#" + out["src_row"].astype("string")
    if "src_part" in out.columns:
        # one source row read as several records (unpivoted columns): the column keeps them apart
        out["row_id"] = out["row_id"] + "#" + out.pop("src_part").astype("string")
    for col in out.columns:
        if col != "src_row":
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def _identifier_action(header: str, values: pd.Series, profile: SiteProfile, src_file: str, sha: str, where: str,
                       result: IngestResult, aliases: tuple[str, ...] = ()) -> str | None:
    """"drop" / "pseudonymize" for a declared identifier (by its whole header or its text on one header row)
    or one that looks like one (then also a finding); None for an ordinary column."""
    declared = {normalize_header(k): v for k, v in profile.identifiers.items()}
    for name in (header, *aliases):
        action = declared.get(normalize_header(name))
        if action is not None:
            return action
    reason = identifier_reason(header, values)
    if reason:
        result.findings.append(Finding("PRIV-UNDECLARED-IDENTIFIER", profile.study, profile.site, "", "", header,
                                       "[withheld]", "", reason, src_file, sha, where))
        return "drop"
    return None


def _record_file(profile: SiteProfile, src_file: str, sha: str, fmt: str, result: IngestResult,
                 error: SourceReadError | None = None) -> None:
    """Every file tried is part of the run's record; an unreadable one is also a finding."""
    if error is not None:
        # a file over a limit is readable in principle: say which limit, not that the file is broken
        limited = isinstance(error, InputLimitExceeded)
        result.findings.append(Finding("INGEST-LIMIT-EXCEEDED" if limited else "INGEST-FILE-UNREADABLE",
                                       profile.study, profile.site, value=Path(src_file).name if limited else None,
                                       detail=error.reason, src_file=src_file, src_sha256=sha))
    result.files.append(SourceFile(profile.study, profile.site, src_file, sha, fmt, profile.path,
                                   "unreadable" if error is not None else "read"))


def _ranges(block: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {k: (float(v[0]), float(v[1])) for k, v in (block.get("reference_ranges") or {}).items()}


def _sheet_names(block: dict[str, Any], sheets: dict[str, SheetInfo]) -> list[str]:
    """The sheets a block reads: literal names (hidden ones too, when named), then glob patterns such as
    ``"*年*月"`` over the visible sheets, in workbook order."""
    patterns = block["sheet"] if isinstance(block["sheet"], list) else [block["sheet"]]
    found: list[str] = []
    for pattern in patterns:
        if pattern in sheets:
            found.append(pattern)
        elif any(ch in pattern for ch in "*?["):
            found += [n for n, info in sheets.items() if info.visible and fnmatch.fnmatchcase(n, pattern)]
    return list(dict.fromkeys(found))


def _non_blank(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.fillna("").astype("string") != ""


def _skipped_rows(table: SheetTable, block: dict[str, Any]) -> pd.Series:
    """Rows the profile says are not data (totals, spacers, sub-headings): a regex over one column or any."""
    skip = pd.Series(False, index=table.frame.index)
    for rule in block.get("skip_rows") or []:
        pattern = re.compile(str(rule["matching"]))
        if rule.get("column"):
            header = table.find(str(rule["column"]))
            columns = [header] if header else []
        else:
            columns = table.headers
        for header in columns:
            skip |= table.frame[header].fillna("").map(lambda v, p=pattern: bool(p.search(v))).astype(bool)
    return skip


@dataclass
class _SheetUse:
    """What the blocks reading one sheet table used of it, for the value coverage."""

    used: set[str]
    kept: pd.Series


def _block_forms(profile: SiteProfile, form: str, block: dict[str, Any], table: SheetTable, src_file: str,
                 sha: str, header_rows: list[int], pseudonym_headers: list[str], result: IngestResult) -> _SheetUse:
    sheet = table.sheet
    where_header = f"{sheet}!{header_rows[-1]}"
    columns: dict[str, str] = {}
    letters: dict[str, str] = {}
    for source, target in block["columns"].items():
        actual = table.find(str(source))
        if actual is None:
            result.findings.append(Finding("INGEST-COLUMN-MISSING", profile.study, profile.site, form=form,
                                           field=target, expected=str(source), src_file=src_file, src_sha256=sha,
                                           src_locator=where_header))
            continue
        columns[actual] = target
        letters[target] = table.letters[actual]
    skipped = _skipped_rows(table, block)
    for idx in table.frame.index[skipped.to_numpy()]:
        row = table.rows[idx]
        shown = " | ".join(v for v in table.frame.loc[idx].fillna("").tolist() if v)
        result.findings.append(Finding("INGEST-ROW-SKIPPED", profile.study, profile.site, form=form, value=shown[:200],
                                       src_file=src_file, src_sha256=sha, src_locator=f"{sheet}!{row}"))
    kept = ~skipped
    source = table.frame[kept]
    rows = [r for r, k in zip(table.rows, kept.tolist(), strict=True) if k]
    frame = pd.DataFrame({target: source[actual] for actual, target in columns.items()}, index=source.index)
    for target in block["columns"].values():
        if target not in frame.columns:
            frame[target] = pd.Series("", index=frame.index, dtype="string")
    for target, value in (block.get("constants") or {}).items():
        frame[target] = pd.Series(str(value), index=frame.index, dtype="string")
    if block.get("sheet_name_to"):
        frame[str(block["sheet_name_to"])] = pd.Series(sheet, index=frame.index, dtype="string")
    for target in block.get("fill_down", []):
        # merged cells: the value sits in the first row of the merged range only
        frame[target] = frame[target].replace("", pd.NA).ffill().fillna("")
    for header in pseudonym_headers:
        frame["id_pseudonym"] = pseudonymize(source[header])
    frame["src_locator"] = [f"{sheet}!{r}" for r in rows]
    frame["src_row"] = pd.Series(rows, index=frame.index, dtype="int64")
    used = set(columns)
    unpivot = block.get("unpivot")
    parts: list[tuple[pd.DataFrame, dict[str, str]]] = []
    if unpivot is None:
        parts.append((frame, letters))
    else:
        value_field = str(unpivot["value_field"])
        for src_column, implied in unpivot["columns"].items():
            actual = table.find(str(src_column))
            if actual is None:
                result.findings.append(Finding("INGEST-COLUMN-MISSING", profile.study, profile.site, form=form,
                                               field=value_field, expected=str(src_column), src_file=src_file,
                                               src_sha256=sha, src_locator=where_header))
                continue
            used.add(actual)
            # one record per filled cell: the column says what was measured, the cell what was found
            filled = source[actual].fillna("") != ""
            part = frame[filled.to_numpy()].copy()
            part[value_field] = source.loc[filled, actual]
            for target, value in implied.items():
                part[target] = pd.Series(str(value), index=part.index, dtype="string")
            part["src_part"] = table.letters[actual]
            parts.append((part, {**letters, value_field: table.letters[actual]}))
    for part, part_letters in parts:
        labels = {target: actual for actual, target in columns.items()}
        if unpivot is not None:
            labels[value_field] = next((h for h, letter in table.letters.items()
                                        if letter == part_letters.get(value_field)), value_field)
        result.forms.append(RawForm(profile.study, form, "xlsx", src_file,
                                    _finalize(part, profile.study, profile.site, src_file, sha, "xlsx"),
                                    part_letters, profile.date_format, dict(block.get("units", {})), reference_ranges=_ranges(block),
                                    source_labels=labels))
    return _SheetUse(used, kept)


def _sheet_coverage(profile: SiteProfile, table: SheetTable, uses: list[_SheetUse], identifier_headers: set[str],
                    src_file: str, sha: str, result: IngestResult) -> None:
    """Account for every value of a sheet table and report each column no block reads with its count."""
    filled = _non_blank(table.frame)
    kept = pd.Series(False, index=table.frame.index)
    used: set[str] = set()
    for use in uses:
        kept |= use.kept
        used |= use.used
    header_row = table.rows[0] - 1 if table.rows else 0
    coverage = SourceCoverage(profile.study, profile.site, src_file, table.sheet, "read",
                              values_in_source=int(filled.to_numpy().sum()) + table.orphan_values,
                              values_skipped=int(filled[~kept].to_numpy().sum()))
    counts = filled.loc[kept].sum()  # per column, in one pass: a .loc per header was most of this at scale
    for header in table.headers:
        count = int(counts[header])
        if header in used:
            coverage.values_mapped += count
        elif header in identifier_headers:
            coverage.values_identifier += count
        else:
            coverage.values_unmapped += count
            if count:
                result.findings.append(Finding(
                    "INGEST-COLUMN-UNMAPPED", profile.study, profile.site, field=header, value=header,
                    detail=f"{count} values", src_file=src_file, src_sha256=sha,
                    src_locator=f"{table.sheet}!{table.letters[header]}{header_row}"))
    if table.orphan_values:
        coverage.values_unmapped += table.orphan_values
        result.findings.append(Finding("INGEST-COLUMN-UNMAPPED", profile.study, profile.site, value="(no header)",
                                       detail=f"{table.orphan_values} values", src_file=src_file, src_sha256=sha,
                                       src_locator=table.sheet))
    result.coverage.append(coverage)


def _merged_cell_findings(profile: SiteProfile, workbook: XlsxWorkbook, table: SheetTable,
                          blocks: list[tuple[str, dict[str, Any]]], header_row: int, src_file: str, sha: str,
                          result: IngestResult) -> None:
    """A merge down the rows of a column a form reads: the cells under it read as empty. Declared with
    ``fill_down`` it is the profile's intent; otherwise the site is asked (INGEST-MERGED-CELLS)."""
    filled_down = {target for _, block in blocks for target in block.get("fill_down", [])}
    by_letter = {}
    for _, block in blocks:
        for source, target in block["columns"].items():
            header = table.find(str(source))
            if header is not None:
                by_letter[table.letters[header]] = (header, target)
    from dli_etl.lineage import column_letter

    for first_row, first_col, last_row, last_col in workbook.merged_ranges(table.sheet):
        if last_row <= header_row or last_row == first_row:
            continue  # a title block, a header merged across, or a merge within one row
        for col in range(first_col, last_col + 1):
            letter = column_letter(col)
            if letter in by_letter and by_letter[letter][1] not in filled_down:
                header, target = by_letter[letter]
                result.findings.append(Finding(
                    "INGEST-MERGED-CELLS", profile.study, profile.site, field=target, value=header,
                    detail=f"{letter}{first_row}:{letter}{last_row}", src_file=src_file, src_sha256=sha,
                    src_locator=f"{table.sheet}!{letter}{first_row}"))


def ingest_xlsx(profile: SiteProfile, path: Path, src_file: str, result: IngestResult) -> None:
    sha = sha256_of(path)
    try:
        workbook = XlsxWorkbook(path)
    except SourceReadError as exc:
        _record_file(profile, src_file, sha, "xlsx", result, exc)
        return
    _record_file(profile, src_file, sha, "xlsx", result)
    sheets = {s.name: s for s in workbook.sheets()}
    # (sheet, header rows) -> blocks reading that table, in profile order
    plan: dict[tuple[str, tuple[int, ...]], list[tuple[str, dict[str, Any]]]] = {}
    for form in profile.forms:
        for block in profile.blocks(form):
            names = _sheet_names(block, sheets)
            if not names:
                result.findings.append(Finding("INGEST-SHEET-MISSING", profile.study, profile.site, form=form,
                                               expected=str(block["sheet"]), src_file=src_file, src_sha256=sha))
            header = block.get("header_row", 1)
            header_rows = tuple(sorted(header)) if isinstance(header, list) else (int(header),)
            for name in names:
                plan.setdefault((name, header_rows), []).append((form, block))
    read = {sheet for sheet, _ in plan}
    for name, info in sheets.items():
        if name in read:
            continue
        try:
            count = workbook.count_values(name)
        except SourceReadError:
            count = 0
        rule = "INGEST-SHEET-UNKNOWN" if info.visible else "INGEST-SHEET-HIDDEN"
        result.findings.append(Finding(rule, profile.study, profile.site, value=name, detail=f"{count} values",
                                       src_file=src_file, src_sha256=sha, src_locator=name))
        # a hidden sheet (lookup lists, templates) is left out on purpose: skipped, with an info finding
        result.coverage.append(SourceCoverage(profile.study, profile.site, src_file, name,
                                              "unread" if info.visible else "hidden", count,
                                              values_unmapped=count if info.visible else 0,
                                              values_skipped=0 if info.visible else count))
    for (sheet, header_rows), blocks in plan.items():
        try:
            table = workbook.read_table(sheet, list(header_rows))
        except SourceReadError as exc:
            rule = "INGEST-LIMIT-EXCEEDED" if sheet in workbook.too_large else "INGEST-FILE-UNREADABLE"
            result.findings.append(Finding(rule, profile.study, profile.site, value=sheet, detail=exc.reason,
                                           src_file=src_file, src_sha256=sha, src_locator=sheet))
            continue
        _merged_cell_findings(profile, workbook, table, blocks, header_rows[-1], src_file, sha, result)
        blank = workbook.blank_formulas.get(sheet)
        if blank:
            shown = ", ".join(blank[:10]) + (" ..." if len(blank) > 10 else "")
            result.findings.append(Finding("INGEST-FORMULA-NO-VALUE", profile.study, profile.site, value=sheet,
                                           detail=f"{len(blank)} cells: {shown}", src_file=src_file, src_sha256=sha,
                                           src_locator=f"{sheet}!{blank[0]}"))
        mapped = {table.find(str(source)) for _, block in blocks
                  for source in [*block["columns"], *((block.get("unpivot") or {}).get("columns") or {})]}
        identifier_headers: set[str] = set()
        pseudonym_headers: list[str] = []
        for header in table.headers:
            where = f"{sheet}!{table.letters[header]}{header_rows[-1]}"
            if header in table.repeated:
                result.findings.append(Finding("INGEST-COLUMN-REPEATED", profile.study, profile.site,
                                               field=table.repeated[header], value=table.repeated[header],
                                               expected=table.letters[header], src_file=src_file, src_sha256=sha,
                                               src_locator=where))
            if header in mapped:
                continue
            action = _identifier_action(header, table.frame[header], profile, src_file, sha, where, result,
                                        table.aliases.get(header, ()))
            if action is not None:
                identifier_headers.add(header)
                if action == "pseudonymize":
                    pseudonym_headers.append(header)
        uses = [_block_forms(profile, form, block, table, src_file, sha, list(header_rows), pseudonym_headers, result)
                for form, block in blocks]
        _sheet_coverage(profile, table, uses, identifier_headers, src_file, sha, result)


_ODM_KEYS = ("study_oid", "subject_key", "site", "event_oid", "event_repeat_key", "form_oid", "form_repeat_key",
             "item_group_oid", "item_group_repeat_key", "src_locator", "subject_name", "study_subject_id")
_SUBJECT_COLUMN = {"SubjectKey": "subject_key", "mdsol:SubjectName": "subject_name",
                   "OpenClinica:StudySubjectID": "study_subject_id"}


def _odm_groups(block: dict[str, Any]) -> list[str]:
    return block["item_group"] if isinstance(block["item_group"], list) else [block["item_group"]]


def _odm_subjects(profile: SiteProfile, content: OdmContent, src_file: str, sha: str,
                  result: IngestResult) -> dict[str, pd.DataFrame]:
    """Item groups of this study only, with the site and the subject id the profile says to use."""
    groups: dict[str, pd.DataFrame] = {}
    studies = sorted({oid for g in content.item_groups.values() for oid in g["study_oid"]})
    if profile.study_oid is None and len(studies) > 1:
        result.findings.append(Finding("ODM-STUDIES-MIXED", profile.study, profile.site, value=", ".join(studies),
                                       src_file=src_file, src_sha256=sha))
    subject_column = _SUBJECT_COLUMN[profile.subject_key]
    for oid, group in content.item_groups.items():
        if profile.study_oid is not None:
            other = group["study_oid"] != profile.study_oid
            if other.any():
                values = int(_non_blank(group.loc[other, _items_of(group)]).to_numpy().sum())
                result.findings.append(Finding("ODM-OTHER-STUDY", profile.study, profile.site, value=oid,
                                               expected=profile.study_oid,
                                               detail=f"{int(other.sum())} records, {values} values of "
                                                      f"{', '.join(sorted(set(group.loc[other, 'study_oid'])))}",
                                               src_file=src_file, src_sha256=sha))
                result.coverage.append(SourceCoverage(profile.study, profile.site, src_file,
                                                      f"{oid} (other study)", "unread", values,
                                                      values_unmapped=values))
                group = group[~other]
        group = group.copy()
        if subject_column not in group.columns:
            group[subject_column] = ""
        missing_id = group[subject_column].fillna("") == ""
        if missing_id.any() and subject_column != "subject_key":
            result.findings.append(Finding("ODM-SUBJECT-ID-MISSING", profile.study, profile.site, value=oid,
                                           expected=profile.subject_key, detail=f"{int(missing_id.sum())} records",
                                           src_file=src_file, src_sha256=sha))
        group["subjid_source"] = group[subject_column].where(~missing_id, group["subject_key"])
        no_site = group["site"].fillna("") == ""
        if no_site.any():
            if profile.default_site:
                group.loc[no_site, "site"] = profile.default_site
            else:
                result.findings.append(Finding("ODM-SITE-MISSING", profile.study, profile.site, value=oid,
                                               detail=f"{int(no_site.sum())} records", src_file=src_file,
                                               src_sha256=sha, src_locator=str(group.loc[no_site, "src_locator"].iloc[0])))
        groups[oid] = group
    return groups


def _items_of(group: pd.DataFrame) -> list[str]:
    return [c for c in group.columns if c not in _ODM_KEYS and c != "subjid_source"]


def ingest_odm(profile: SiteProfile, path: Path, src_file: str, result: IngestResult) -> None:
    sha = sha256_of(path)
    try:
        content = read_odm(path)
    except SourceReadError as exc:
        _record_file(profile, src_file, sha, "odm", result, exc)
        return
    _record_file(profile, src_file, sha, "odm", result)
    if content.encoding_note:
        result.findings.append(Finding("INGEST-ENCODING-MISLABELLED", profile.study, profile.site,
                                       detail=content.encoding_note, src_file=src_file, src_sha256=sha))
    groups = _odm_subjects(profile, content, src_file, sha, result)
    for repeated in content.repeated_items:
        result.findings.append(Finding("ODM-ITEM-REPEATED", profile.study, profile.site, field=repeated["item_oid"],
                                       value=repeated["value"], expected=repeated["kept"], src_file=src_file,
                                       src_sha256=sha, src_locator=repeated["src_locator"] + f"/ItemData[{repeated['item_oid']}]"))
    used: dict[str, set[str]] = {}
    for form in profile.forms:
        for block in profile.blocks(form):
            fields: dict[str, str] = block["fields"]
            for oid in _odm_groups(block):
                used.setdefault(oid, set()).update(fields)
                group = groups.get(oid)
                if group is None:
                    group = pd.DataFrame(columns=["subject_key", "subjid_source", "site", "src_locator"], dtype="string")
                frame = pd.DataFrame({"subjid": group["subjid_source"]}, index=group.index)
                for item, target in fields.items():
                    frame[target] = group[item] if item in group.columns else pd.Series("", index=group.index, dtype="string")
                for target, value in (block.get("constants") or {}).items():
                    frame[target] = pd.Series(str(value), index=group.index, dtype="string")
                frame["src_locator"] = group["src_locator"]
                frame["src_row"] = pd.Series(range(1, len(group) + 1), index=group.index, dtype="int64")
                frame["event_oid"] = group.get("event_oid", "")
                frame["event_repeat_key"] = group.get("event_repeat_key", "")
                finalized = _finalize(frame, profile.study, group["site"], src_file, sha, "odm")
                if profile.sites:
                    # a SiteRef the profile does not know cannot name a site (nor, later, a folder): held back
                    for _, row in finalized[~finalized["site"].isin(profile.sites)].iterrows():
                        result.findings.append(Finding(
                            "ODM-SITE-UNKNOWN", profile.study, str(row["site"]), str(row["subjid"]), form, "site",
                            str(row["site"]), ", ".join(profile.sites), "", src_file, sha, str(row["src_locator"]),
                            str(row["row_id"])))
                result.forms.append(RawForm(profile.study, form, "odm", src_file, finalized,
                                            {"subjid": "", **{t: o for o, t in fields.items()}},
                                            profile.date_format or "iso", dict(block.get("units", {})), reference_ranges=_ranges(block),
                                            source_labels={t: content.def_names.get(o) or o for o, t in fields.items()}))
    result.source_names[src_file] = {oid: name for oid, name in content.def_names.items() if name}
    _odm_coverage(profile, groups, used, len(content.repeated_items), src_file, sha, result)


def _odm_coverage(profile: SiteProfile, groups: dict[str, pd.DataFrame], used: dict[str, set[str]], repeated: int,
                  src_file: str, sha: str, result: IngestResult) -> None:
    """Every ItemData value is read into a form or reported: a whole item group no form reads, or one
    item of a group that is read."""
    for oid, group in groups.items():
        items = _items_of(group)
        filled = _non_blank(group[items]) if items else pd.DataFrame(index=group.index)
        counts = {item: int(filled[item].sum()) for item in items}
        coverage = SourceCoverage(profile.study, profile.site, src_file, oid, "read" if oid in used else "unread",
                                  sum(counts.values()))
        if oid not in used:
            coverage.values_unmapped = coverage.values_in_source
            if coverage.values_in_source:
                result.findings.append(Finding("INGEST-BLOCK-UNMAPPED", profile.study, profile.site, value=oid,
                                               detail=f"{len(group)} records, {coverage.values_in_source} values",
                                               src_file=src_file, src_sha256=sha))
        else:
            for item, count in counts.items():
                if item in used[oid]:
                    coverage.values_mapped += count
                else:
                    coverage.values_unmapped += count
                    if count:
                        result.findings.append(Finding("INGEST-COLUMN-UNMAPPED", profile.study, profile.site,
                                                       field=item, value=f"{oid}/{item}", detail=f"{count} values",
                                                       src_file=src_file, src_sha256=sha))
        result.coverage.append(coverage)
    if repeated:
        result.coverage.append(SourceCoverage(profile.study, profile.site, src_file, "(repeated ItemData)", "read",
                                              repeated, values_skipped=repeated))


def _events_match(events: pd.Series, patterns: list[str] | str | None) -> pd.Series:
    if not patterns:
        return pd.Series(True, index=events.index)
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return events.fillna("").map(lambda e: any(fnmatch.fnmatchcase(e, p) for p in patterns)).astype(bool)


def ingest_redcap(profile: SiteProfile, path: Path, dictionary_path: Path | None, src_file: str,
                  result: IngestResult) -> None:
    sha = sha256_of(path)
    try:
        if dictionary_path is None:
            raise SourceReadError(str(path), f"no data dictionary matching {profile.dictionary!r} beside the export")
        dictionary = read_dictionary(dictionary_path)
        content = read_redcap(path, dictionary)
    except SourceReadError as exc:
        _record_file(profile, src_file, sha, "redcap", result, exc)
        return
    _record_file(profile, src_file, sha, "redcap", result)
    for name, encoding in ((src_file, content.encoding), (Path(dictionary_path).name, dictionary.encoding)):
        if encoding not in ("utf-8", "utf-8-sig"):
            result.findings.append(Finding("INGEST-ENCODING", profile.study, profile.site, value=name,
                                           detail=encoding, src_file=src_file, src_sha256=sha))
    declared = set(profile.identifiers) | dictionary.identifiers
    used: dict[str, set[str]] = {}
    read_rows: dict[str, pd.Series] = {}
    for form in profile.forms:
        for block in profile.blocks(form):
            instrument = block["instrument"]
            table = content.instruments.get(instrument)
            fields: dict[str, str] = block["fields"]
            if table is None:
                result.findings.append(Finding("INGEST-SHEET-MISSING", profile.study, profile.site, form=form,
                                               expected=instrument, src_file=src_file, src_sha256=sha))
                continue
            used.setdefault(instrument, set()).update(fields)
            wanted = _events_match(table["event"], block.get("events"))
            read_rows[instrument] = read_rows.get(instrument, pd.Series(False, index=table.index)) | wanted
            table = table[wanted]
            frame = pd.DataFrame({"subjid": table["record_id"]}, index=table.index)
            for source, target in fields.items():
                if source in table.columns:
                    frame[target] = table[source]
                else:
                    frame[target] = pd.Series("", index=table.index, dtype="string")
                    result.findings.append(Finding("INGEST-COLUMN-MISSING", profile.study, profile.site, form=form,
                                                   field=target, expected=source, src_file=src_file, src_sha256=sha))
            for target, value in (block.get("constants") or {}).items():
                frame[target] = pd.Series(str(value), index=table.index, dtype="string")
            frame["src_locator"] = table["src_locator"]
            frame["src_row"] = table["src_row"]
            frame["event_oid"] = table["event"]
            frame["event_repeat_key"] = table["instance"]
            result.forms.append(RawForm(profile.study, form, "redcap", src_file,
                                        _finalize(frame, profile.study, profile.site, src_file, sha, "redcap"),
                                        {"subjid": content.id_field, **{t: s for s, t in fields.items()}},
                                        profile.date_format or "iso", dict(block.get("units", {})), reference_ranges=_ranges(block),
                                        source_labels={t: dictionary.labels.get(s) or s for s, t in fields.items()}))
    _redcap_coverage(profile, content, used, read_rows, declared, src_file, sha, result)


def _redcap_coverage(profile: SiteProfile, content: RedcapContent, used: dict[str, set[str]],
                     read_rows: dict[str, pd.Series], declared: set[str], src_file: str, sha: str,
                     result: IngestResult) -> None:
    """Every value of the export is read into a form or reported: an instrument no form reads, a field
    of a read instrument, rows of events the profile does not read, and columns the dictionary lacks."""
    for instrument, table in content.instruments.items():
        fields = [c for c in table.columns if c not in _REDCAP_SYSTEM]
        filled = _non_blank(table[fields]) if fields else pd.DataFrame(index=table.index)
        total = int(filled.to_numpy().sum())
        coverage = SourceCoverage(profile.study, profile.site, src_file, instrument,
                                  "read" if instrument in used else "unread", total)
        if instrument not in used:
            coverage.values_unmapped = total
            if total:
                result.findings.append(Finding("INGEST-BLOCK-UNMAPPED", profile.study, profile.site, value=instrument,
                                               detail=f"{len(table)} records, {total} values", src_file=src_file,
                                               src_sha256=sha))
            result.coverage.append(coverage)
            continue
        rows = read_rows[instrument]
        coverage.values_skipped = int(filled[~rows].to_numpy().sum())
        for column in fields:
            count = int(filled.loc[rows, column].sum())
            if column in used[instrument]:
                coverage.values_mapped += count
            elif column in declared:
                coverage.values_identifier += count
            else:
                reason = identifier_reason(column, table[column])
                if reason:
                    coverage.values_identifier += count
                    result.findings.append(Finding("PRIV-UNDECLARED-IDENTIFIER", profile.study, profile.site, "",
                                                   instrument, column, "[withheld]", "", reason, src_file, sha,
                                                   f"field={column}"))
                    continue
                coverage.values_unmapped += count
                if count:
                    result.findings.append(Finding("INGEST-COLUMN-UNMAPPED", profile.study, profile.site,
                                                   field=column, value=f"{instrument}.{column}",
                                                   detail=f"{count} values", src_file=src_file, src_sha256=sha,
                                                   src_locator=f"field={column}"))
        if coverage.values_skipped:
            result.findings.append(Finding("REDCAP-EVENTS-NOT-READ", profile.study, profile.site, value=instrument,
                                           detail=f"{int((~rows).sum())} records, {coverage.values_skipped} values",
                                           src_file=src_file, src_sha256=sha))
        result.coverage.append(coverage)
    if content.unknown_columns:
        count = int(sum(int(n) for n in content.unknown_counts.values()))
        result.coverage.append(SourceCoverage(profile.study, profile.site, src_file, "(not in dictionary)", "unread",
                                              count, values_unmapped=count))
        for column in content.unknown_columns:
            result.findings.append(Finding("REDCAP-COLUMN-NOT-IN-DICTIONARY", profile.study, profile.site,
                                           field=column, value=column,
                                           detail=f"{content.unknown_counts.get(column, 0)} values",
                                           src_file=src_file, src_sha256=sha, src_locator=f"field={column}"))


def _is_data_file(path: Path, study_landing: Path) -> bool:
    if path.name.startswith(".") or path.name.startswith("~$") or path.name.endswith(".tmp"):
        return False  # editor lock files, hidden files and half-copied files are not data
    # answered triage workbooks are read by the query loop, not as source data
    return "query_responses" not in path.relative_to(study_landing).parts


def source_site(study: str, relative: str, profiles: list[SiteProfile]) -> str:
    """The site a landing file belongs to (``relative`` to the study folder): the site of the profile that
    claims it, else the folder under ``sites/``, else its top folder in upper case (e.g. ``EDC``).

    This is what makes a new site folder a new partition before anyone has written its profile."""
    path = Path(relative)
    for profile in profiles_for(study, profiles):
        patterns = (*profile.files, *((profile.dictionary,) if profile.dictionary else ()))
        if any(path.match(pattern) for pattern in patterns):
            return profile.site
    parts = path.parts
    if len(parts) > 2 and parts[0] == "sites":
        return parts[1]
    return parts[0].upper() if len(parts) > 1 else "UNASSIGNED"


def landing_sites(landing: Path, studies: tuple[str, ...], profiles: list[SiteProfile]) -> dict[tuple[str, str], list[Path]]:
    """Every data file in the landing folder, by (study, site), in a stable order."""
    found: dict[tuple[str, str], list[Path]] = {}
    for study in studies:
        study_landing = Path(landing) / study
        if not study_landing.is_dir():
            continue
        for path in sorted(p for p in study_landing.rglob("*") if p.is_file()):
            if _is_data_file(path, study_landing):
                site = source_site(study, path.relative_to(study_landing).as_posix(), profiles)
                found.setdefault((study, site), []).append(path)
    return found


def ingest_profile(profile: SiteProfile, landing: Path, result: IngestResult | None = None,
                   skip: set[Path] | None = None) -> IngestResult:
    """Read the landing files one profile claims (``skip``: files another profile owns)."""
    result = result if result is not None else IngestResult(profile.study)
    if profile.language != "en":
        for site in profile.sites or (profile.site,):
            result.languages[site] = profile.language
    study_landing = Path(landing) / profile.study
    dictionary_path = None
    if profile.format == "redcap" and profile.dictionary:
        matches = sorted(study_landing.glob(profile.dictionary))
        dictionary_path = matches[-1] if matches else None
        if dictionary_path is not None:
            # the dictionary decides what every value means: it is an input of the run like the export
            result.files.append(SourceFile(profile.study, profile.site,
                                           dictionary_path.relative_to(Path(landing)).as_posix(),
                                           sha256_of(dictionary_path), "redcap", profile.path, "dictionary"))
    first_form = len(result.forms)
    for path in profile.matching_files(study_landing):
        if skip and path in skip:
            continue
        src_file = path.relative_to(Path(landing)).as_posix()
        forms_before, findings_before, files_before = len(result.forms), len(result.findings), len(result.files)
        coverage_before = len(result.coverage)
        try:
            if profile.format == "xlsx":
                ingest_xlsx(profile, path, src_file, result)
            elif profile.format == "odm":
                ingest_odm(profile, path, src_file, result)
            else:
                ingest_redcap(profile, path, dictionary_path, src_file, result)
        except Exception as exc:  # noqa: BLE001 - one file a reader cannot handle must not stop the others
            # nothing half-read of this file stays: its rows, findings and coverage are taken back
            del result.forms[forms_before:], result.findings[findings_before:], result.files[files_before:]
            del result.coverage[coverage_before:]
            _record_file(profile, src_file, sha256_of(path), profile.format, result,
                         SourceReadError(str(path), f"could not be read ({type(exc).__name__}: {exc}); the other "
                                                    f"files were read. Report this file to the dli-etl maintainers"))
    for raw in result.forms[first_form:]:
        raw.value_maps = profile.value_maps
        raw.decimal_separator = profile.decimal_separator
        raw.thousands_separator = profile.thousands_separator
        raw.mrd_unit = profile.mrd_unit
    return result


@dataclass
class StudyLanding:
    """Who reads which landing file of one study, worked out once for all its sites: the data files of
    each site (``landing_sites``) and, for each file a profile claims, the first profile in load order that
    claims it. Per site, each was a scan of every file against every profile: cubic in the number of sites
    when a study's sites were read one after another (1,536 sites at 256x)."""

    files_by_site: dict[str, list[Path]]
    first_claim: dict[Path, SiteProfile]


def study_landing(study: str, landing: Path, profiles: list[SiteProfile]) -> StudyLanding:
    """Index one study's landing folder (see ``StudyLanding``)."""
    files = {site: paths for (_, site), paths in landing_sites(landing, (study,), profiles).items()}
    first: dict[Path, SiteProfile] = {}
    for profile in profiles_for(study, profiles):
        for path in profile.matching_files(Path(landing) / study):
            first.setdefault(path, profile)
    return StudyLanding(files, first)


def _claimed_by_another(profile: SiteProfile, study_folder: Path, index: StudyLanding) -> dict[Path, SiteProfile]:
    """Files of ``profile`` that an earlier profile of the study (in load order) also claims: read once."""
    return {p: index.first_claim[p] for p in profile.matching_files(study_folder)
            if index.first_claim.get(p, profile) is not profile}


def ingest_site(study: str, site: str, landing: Path, profiles: list[SiteProfile],
                index: StudyLanding | None = None) -> IngestResult:
    """Read the landing files of one site of one study through that site's profiles (``index``: the
    study's ``study_landing``, when the caller reads several sites).

    Files no profile claims but that sit in this site's folder are recorded with an
    ``INGEST-NO-PROFILE`` finding, so a site that sends data before it is onboarded is visible. A file
    two profiles claim is read by the first only, with an ``INGEST-FILE-CLAIMED-TWICE`` finding."""
    result = IngestResult(study)
    study_folder = Path(landing) / study
    index = index if index is not None else study_landing(study, landing, profiles)
    claimed: set[Path] = set()
    for profile in (p for p in profiles_for(study, profiles) if p.site == site):
        taken = _claimed_by_another(profile, study_folder, index)
        for path, owner in taken.items():
            result.findings.append(Finding("INGEST-FILE-CLAIMED-TWICE", study, site, value=profile.path,
                                           expected=owner.path, src_file=path.relative_to(Path(landing)).as_posix(),
                                           src_sha256=sha256_of(path)))
        ingest_profile(profile, landing, result, set(taken))
        claimed.update(profile.matching_files(study_folder))
        if profile.format == "redcap" and profile.dictionary:
            claimed.update(study_folder.glob(profile.dictionary))
    for path in index.files_by_site.get(site, []):
        if path in claimed:
            continue
        src_file = path.relative_to(Path(landing)).as_posix()
        result.findings.append(Finding("INGEST-NO-PROFILE", study, site=site, src_file=src_file,
                                       src_sha256=sha256_of(path)))
        result.files.append(SourceFile(study, site, src_file, sha256_of(path), path.suffix.lstrip("."), "", "no_profile"))
    return result


def combine_ingested(study: str, parts: list[IngestResult]) -> IngestResult:
    """One study's ingest from its sites' ingests (in the order given)."""
    result = IngestResult(study)
    for part in parts:
        result.forms.extend(part.forms)
        result.findings.extend(part.findings)
        result.files.extend(part.files)
        result.coverage.extend(part.coverage)
        result.languages.update(part.languages)
        result.source_names.update(part.source_names)
    return result


def study_sites(study: str, landing: Path, profiles: list[SiteProfile], index: StudyLanding | None = None) -> list[str]:
    """Sites of a study: those with a profile and those with a folder of files in the landing area."""
    from_profiles = {p.site for p in profiles_for(study, profiles)}
    index = index if index is not None else study_landing(study, landing, profiles)
    return sorted(from_profiles | set(index.files_by_site))


def ingest_study(study: str, landing: Path, profiles: list[SiteProfile]) -> IngestResult:
    """Read every landing file of one study: each site through its own profiles."""
    index = study_landing(study, landing, profiles)
    return combine_ingested(study, [ingest_site(study, site, landing, profiles, index)
                                    for site in study_sites(study, landing, profiles, index)])
