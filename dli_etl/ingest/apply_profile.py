"""Give raw files their meaning: a site profile maps sheets / item groups / instruments to forms and
source columns to canonical fields, and decides what happens to identifier columns.

Problems here are findings (unreadable file, missing sheet or column, undeclared identifier), never
exceptions: the run goes on with what can be read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.ingest.errors import SourceReadError
from dli_etl.ingest.odm_reader import read_odm
from dli_etl.ingest.raw_form import IngestResult, RawForm, SourceFile
from dli_etl.ingest.redcap_reader import read_dictionary, read_redcap
from dli_etl.ingest.xlsx_reader import XlsxWorkbook, normalize_header
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
    for col in out.columns:
        if col != "src_row":
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def _handle_extra_column(header: str, values: pd.Series, profile: SiteProfile, form: str, src_file: str, sha: str,
                         where: str) -> tuple[str | None, Finding | None]:
    """Decide about a column the profile's form mapping does not name: (action, finding)."""
    declared = {normalize_header(k): v for k, v in profile.identifiers.items()}
    action = declared.get(normalize_header(header))
    if action is not None:
        return action, None
    reason = identifier_reason(header, values)
    if reason:
        return "drop", Finding("PRIV-UNDECLARED-IDENTIFIER", profile.study, profile.site, "", form, header,
                               "[withheld]", "", reason, src_file, sha, where)
    return "unmapped", Finding("INGEST-COLUMN-UNMAPPED", profile.study, profile.site, "", form, header, header,
                               "", "", src_file, sha, where)


def _record_file(profile: SiteProfile, src_file: str, sha: str, fmt: str, result: IngestResult,
                 error: SourceReadError | None = None) -> None:
    """Every file tried is part of the run's record; an unreadable one is also a finding."""
    if error is not None:
        result.findings.append(Finding("INGEST-FILE-UNREADABLE", profile.study, profile.site, detail=error.reason,
                                       src_file=src_file, src_sha256=sha))
    result.files.append(SourceFile(profile.study, profile.site, src_file, sha, fmt, profile.path,
                                   "unreadable" if error is not None else "read"))


def ingest_xlsx(profile: SiteProfile, path: Path, src_file: str, result: IngestResult) -> None:
    sha = sha256_of(path)
    try:
        workbook = XlsxWorkbook(path)
    except SourceReadError as exc:
        _record_file(profile, src_file, sha, "xlsx", result, exc)
        return
    _record_file(profile, src_file, sha, "xlsx", result)
    sheets = {s.name: s for s in workbook.sheets()}
    described = {spec["sheet"] for spec in profile.forms.values()}
    for name, info in sheets.items():
        if name not in described and info.visible:
            result.findings.append(Finding("INGEST-SHEET-UNKNOWN", profile.study, profile.site, value=name,
                                           src_file=src_file, src_sha256=sha, src_locator=name))
    for form, spec in profile.forms.items():
        sheet = spec["sheet"]
        if sheet not in sheets:
            result.findings.append(Finding("INGEST-SHEET-MISSING", profile.study, profile.site, form=form,
                                           expected=sheet, src_file=src_file, src_sha256=sha))
            continue
        header_row = int(spec.get("header_row", 1))
        table = workbook.read_table(sheet, header_row)
        by_norm = {normalize_header(h): h for h in table.headers}
        columns: dict[str, str] = {}
        letters: dict[str, str] = {}
        for source, target in spec["columns"].items():
            actual = by_norm.get(normalize_header(source))
            if actual is None:
                result.findings.append(Finding("INGEST-COLUMN-MISSING", profile.study, profile.site, form=form,
                                               field=target, expected=source, src_file=src_file, src_sha256=sha,
                                               src_locator=f"{sheet}!{header_row}"))
                continue
            columns[actual] = target
            letters[target] = table.letters[actual]
        frame = pd.DataFrame({target: table.frame[actual] for actual, target in columns.items()},
                             index=table.frame.index)
        for header in table.headers:
            if header in columns:
                continue
            where = f"{sheet}!{table.letters[header]}{header_row}"
            if header in table.repeated:
                result.findings.append(Finding("INGEST-COLUMN-REPEATED", profile.study, profile.site, form=form,
                                               field=table.repeated[header], value=table.repeated[header],
                                               expected=table.letters[header], src_file=src_file, src_sha256=sha,
                                               src_locator=where))
            action, finding = _handle_extra_column(header, table.frame[header], profile, form, src_file, sha, where)
            if finding is not None:
                result.findings.append(finding)
            if action == "pseudonymize":
                frame["id_pseudonym"] = pseudonymize(table.frame[header])
        for target in spec["columns"].values():
            if target not in frame.columns:
                frame[target] = pd.Series("", index=frame.index, dtype="string")
        for target in spec.get("fill_down", []):
            # merged cells: the value sits in the first row of the merged range only
            frame[target] = frame[target].replace("", pd.NA).ffill().fillna("")
        frame["src_locator"] = [f"{sheet}!{r}" for r in table.rows]
        frame["src_row"] = pd.Series(table.rows, index=frame.index, dtype="int64")
        result.forms.append(RawForm(profile.study, form, "xlsx", src_file,
                                    _finalize(frame, profile.study, profile.site, src_file, sha, "xlsx"),
                                    letters, profile.date_format, dict(spec.get("units", {}))))


def ingest_odm(profile: SiteProfile, path: Path, src_file: str, result: IngestResult) -> None:
    sha = sha256_of(path)
    try:
        content = read_odm(path)
    except SourceReadError as exc:
        _record_file(profile, src_file, sha, "odm", result, exc)
        return
    _record_file(profile, src_file, sha, "odm", result)
    for form, spec in profile.forms.items():
        group = content.item_groups.get(spec["item_group"])
        fields: dict[str, str] = spec["fields"]
        if group is None:
            group = pd.DataFrame(columns=["subject_key", "site", "src_locator"], dtype="string")
        frame = pd.DataFrame({"subjid": group["subject_key"]}, index=group.index)
        for oid, target in fields.items():
            frame[target] = group[oid] if oid in group.columns else pd.Series("", index=group.index, dtype="string")
        frame["src_locator"] = group["src_locator"]
        frame["src_row"] = pd.Series(range(1, len(group) + 1), index=group.index, dtype="int64")
        frame["event_oid"] = group.get("event_oid", "")
        frame["event_repeat_key"] = group.get("event_repeat_key", "")
        result.forms.append(RawForm(profile.study, form, "odm", src_file,
                                    _finalize(frame, profile.study, group["site"], src_file, sha, "odm"),
                                    {"subjid": "", **{t: o for o, t in fields.items()}}, "iso"))


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
    declared = set(profile.identifiers) | dictionary.identifiers
    for form, spec in profile.forms.items():
        instrument = spec["instrument"]
        table = content.instruments.get(instrument)
        fields: dict[str, str] = spec["fields"]
        if table is None:
            result.findings.append(Finding("INGEST-SHEET-MISSING", profile.study, profile.site, form=form,
                                           expected=instrument, src_file=src_file, src_sha256=sha))
            continue
        frame = pd.DataFrame({"subjid": table["record_id"]}, index=table.index)
        for source, target in fields.items():
            if source in table.columns:
                frame[target] = table[source]
            else:
                frame[target] = pd.Series("", index=table.index, dtype="string")
                result.findings.append(Finding("INGEST-COLUMN-MISSING", profile.study, profile.site, form=form,
                                               field=target, expected=source, src_file=src_file, src_sha256=sha))
        for column in table.columns:
            if column in fields or column in _REDCAP_SYSTEM or column in declared:
                continue
            action, finding = _handle_extra_column(column, table[column], profile, form, src_file, sha,
                                                   f"field={column}")
            if finding is not None:
                result.findings.append(finding)
        frame["src_locator"] = table["src_locator"]
        frame["src_row"] = table["src_row"]
        frame["event_oid"] = table["event"]
        frame["event_repeat_key"] = table["instance"]
        result.forms.append(RawForm(profile.study, form, "redcap", src_file,
                                    _finalize(frame, profile.study, profile.site, src_file, sha, "redcap"),
                                    {"subjid": content.id_field, **{t: s for s, t in fields.items()}}, "iso"))


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


def ingest_site(study: str, site: str, landing: Path, profiles: list[SiteProfile]) -> IngestResult:
    """Read the landing files of one site of one study through that site's profiles.

    Files no profile claims but that sit in this site's folder are recorded with an
    ``INGEST-NO-PROFILE`` finding, so a site that sends data before it is onboarded is visible."""
    result = IngestResult(study)
    study_landing = Path(landing) / study
    claimed: set[Path] = set()
    for profile in (p for p in profiles_for(study, profiles) if p.site == site):
        dictionary_path = None
        if profile.format == "redcap" and profile.dictionary:
            matches = sorted(study_landing.glob(profile.dictionary))
            dictionary_path = matches[-1] if matches else None
            claimed.update(matches)
        first_form = len(result.forms)
        for path in profile.matching_files(study_landing):
            claimed.add(path)
            src_file = path.relative_to(Path(landing)).as_posix()
            if profile.format == "xlsx":
                ingest_xlsx(profile, path, src_file, result)
            elif profile.format == "odm":
                ingest_odm(profile, path, src_file, result)
            else:
                ingest_redcap(profile, path, dictionary_path, src_file, result)
        for raw in result.forms[first_form:]:
            raw.value_maps = profile.value_maps
    for path in landing_sites(landing, (study,), profiles).get((study, site), []):
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
    return result


def study_sites(study: str, landing: Path, profiles: list[SiteProfile]) -> list[str]:
    """Sites of a study: those with a profile and those with a folder of files in the landing area."""
    from_profiles = {p.site for p in profiles_for(study, profiles)}
    from_files = {site for (s, site) in landing_sites(landing, (study,), profiles) if s == study}
    return sorted(from_profiles | from_files)


def ingest_study(study: str, landing: Path, profiles: list[SiteProfile]) -> IngestResult:
    """Read every landing file of one study: each site through its own profiles."""
    return combine_ingested(study, [ingest_site(study, site, landing, profiles)
                                    for site in study_sites(study, landing, profiles)])
