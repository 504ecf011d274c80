"""Try one site profile on a landing folder without a run (``dli-etl check-profile``).

Reads only the files this profile claims, types every form it fills, and says what each form would get:
rows, how full each field is, and the first findings, plus where every source value went. Seconds, not
a pipeline run; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dli_etl.findings import findings_frame
from dli_etl.harmonize.forms import harmonize_form
from dli_etl.ingest.apply_profile import ingest_profile
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.site_profile import SiteProfile, load_profile, load_profiles
from dli_etl.specs import load_spec

# problems of the profile itself (a sheet or column it names is not there, a file claimed twice)
PROFILE_PROBLEMS = ("INGEST-SHEET-MISSING", "INGEST-COLUMN-MISSING", "INGEST-FILE-UNREADABLE", "INGEST-FILE-CLAIMED-TWICE")


@dataclass
class FormPreview:
    form: str
    rows: int
    filled: dict[str, int]
    findings: pd.DataFrame


@dataclass
class ProfileCheck:
    profile: SiteProfile
    ingest: IngestResult
    forms: list[FormPreview] = field(default_factory=list)
    claimed_elsewhere: dict[str, str] = field(default_factory=dict)  # file -> the other profile claiming it

    @property
    def problems(self) -> list[str]:
        found = [f"{f.rule_id}: {f.expected or f.value or f.detail} ({f.src_file})"
                 for f in self.ingest.findings if f.rule_id in PROFILE_PROBLEMS]
        found += [f"{path} is also claimed by {other}" for path, other in self.claimed_elsewhere.items()]
        if not self.ingest.files:
            found.append("no landing file matches files: " + ", ".join(self.profile.files))
        return found


def check_profile(profile_path: Path, landing: Path, profiles_dir: Path | None = None) -> ProfileCheck:
    """Validate ``profile_path`` (``ProfileError`` if it is not a valid profile), read the files it
    claims under ``landing/<STUDY>/`` and type the forms it fills."""
    profile = load_profile(Path(profile_path))
    study_landing = Path(landing) / profile.study
    result = ingest_profile(profile, Path(landing))
    check = ProfileCheck(profile, result)
    mine = set(profile.matching_files(study_landing))
    for other in load_profiles(profiles_dir):
        if other.study != profile.study or other.key == profile.key or other.path == profile.path:
            continue
        for path in mine & set(other.matching_files(study_landing)):
            check.claimed_elsewhere[path.relative_to(Path(landing)).as_posix()] = other.path
    specs = load_spec("forms")
    for form in profile.forms:
        raws = result.frames_for(form)
        if not raws:
            continue
        typed, found, _ = harmonize_form(raws, form)
        fields = [f for f in specs[form]["fields"] if f in typed.columns]
        filled = {f: int(typed[f].notna().sum()) for f in fields}
        check.forms.append(FormPreview(form, len(typed), filled, findings_frame(found) if found else pd.DataFrame()))
    return check


def format_check(check: ProfileCheck, first: int = 5) -> str:
    """The report a data manager reads in a terminal."""
    lines = [f"profile {check.profile.path}: valid ({check.profile.key})"]
    lines.append(f"files: {len(check.ingest.files)} " + ", ".join(f"{f.path} [{f.status}]" for f in check.ingest.files))
    for preview in check.forms:
        lines.append(f"\n{preview.form}: {preview.rows} rows")
        for name, count in preview.filled.items():
            share = 100 * count / preview.rows if preview.rows else 0
            lines.append(f"  {name:<22} {count:>6} filled ({share:5.1f}%)")
        if not preview.findings.empty:
            by_rule = preview.findings.groupby(["severity", "rule_id"]).size().sort_values(ascending=False)
            lines.append("  findings: " + ", ".join(f"{rule} {n} ({sev})" for (sev, rule), n in by_rule.items()))
            for _, f in preview.findings.head(first).iterrows():
                lines.append(f"    {f['src_locator']}: {f['message']}")
    coverage = check.ingest.coverage
    if coverage:
        total = sum(c.values_in_source for c in coverage)
        mapped = sum(c.values_mapped for c in coverage)
        lines.append(f"\nsource values: {total} = {mapped} read + {sum(c.values_identifier for c in coverage)} "
                     f"identifier + {sum(c.values_unmapped for c in coverage)} not read + "
                     f"{sum(c.values_skipped for c in coverage)} skipped")
    other = [f for f in check.ingest.findings if f.rule_id not in PROFILE_PROBLEMS]
    if other:
        frame = findings_frame(other)
        for _, f in frame.groupby("rule_id").head(2).head(12).iterrows():
            lines.append(f"  {f['rule_id']} ({f['severity']}): {f['message']}")
    problems = check.problems
    lines.append("\n" + ("problems:\n  " + "\n  ".join(problems) if problems else "no problem with the profile itself"))
    return "\n".join(lines)
