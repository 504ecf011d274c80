"""Site profiles: what a site's files mean (sheets, headers, date formats, units, value maps), kept as YAML.

Onboarding a new site is a new profile file, not new code. Profiles ship in ``dli_etl/site_profiles``;
``load_profiles(extra_dir)`` adds or overrides profiles from a folder a data manager maintains.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dli_etl.findings import LANGUAGES  # a site's workbook language: every site rule has a message in each
from dli_etl.specs import parse_yaml

SUPPORTED_FORMATS = ("xlsx", "odm", "redcap")
# every key a profile may use; anything else is a typo that would otherwise be ignored silently
PROFILE_KEYS = ("study", "site", "source_name", "format", "files", "dictionary", "date_format", "identifiers",
                "forms", "value_maps", "country", "layout", "decimal_separator", "thousands_separator", "mrd_unit",
                "study_oid", "subject_key", "default_site", "sites", "language")
# keys every block of a form may carry, whatever the format
_COMMON_BLOCK_KEYS = ("constants", "units", "reference_ranges")
FORM_KEYS = {"xlsx": {"required": ("sheet", "columns"),
                      "optional": ("header_row", "fill_down", "skip_rows", "unpivot", "sheet_name_to",
                                   *_COMMON_BLOCK_KEYS)},
             "odm": {"required": ("item_group", "fields"), "optional": _COMMON_BLOCK_KEYS},
             "redcap": {"required": ("instrument", "fields"), "optional": ("events", *_COMMON_BLOCK_KEYS)}}
IDENTIFIER_ACTIONS = ("drop", "pseudonymize")
SEPARATORS = (".", ",", " ", "'", "")
MRD_UNITS = ("percent", "fraction")
# where an ODM subject's own id sits: the SubjectKey attribute, or a vendor attribute beside it
SUBJECT_KEY_SOURCES = ("SubjectKey", "mdsol:SubjectName", "OpenClinica:StudySubjectID")


class ProfileError(ValueError):
    """A site profile that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SiteProfile:
    """One source of one study: a site workbook, the central EDC export or a REDCap project."""

    study: str
    site: str
    format: str
    files: tuple[str, ...]
    forms: dict[str, dict[str, Any]]
    source_name: str = ""
    country: str = "CHN"
    date_format: str | None = None
    identifiers: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    dictionary: str | None = None
    path: str = ""
    decimal_separator: str | None = None
    thousands_separator: str | None = None
    mrd_unit: str = "percent"
    study_oid: str | None = None
    subject_key: str = "SubjectKey"
    default_site: str | None = None
    sites: tuple[str, ...] = ()  # ODM: the SiteRef LocationOIDs this export may carry (empty: any)
    language: str = "en"  # the site's language: its triage workbook and messages are written in it

    def blocks(self, form: str) -> list[dict[str, Any]]:
        """The layout blocks of one form: a form may be read from several places of one source."""
        spec = self.forms[form]
        return list(spec) if isinstance(spec, list) else [spec]

    @property
    def key(self) -> str:
        return f"{self.study}/{self.site}/{self.format}"

    def matching_files(self, study_landing: Path) -> list[Path]:
        """Files under the study's landing folder matched by this profile, in a stable order."""
        found: set[Path] = set()
        for pattern in self.files:
            found.update(p for p in study_landing.glob(pattern) if p.is_file())
        return sorted(found)


def _unknown(path: str, where: str, key: object, known: list[str] | tuple[str, ...]) -> ProfileError:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(map(str, known)))}"
    return ProfileError(f"{path}: unknown {where} {key!r}{hint}")


def validate_profile(data: dict[str, Any], path: str) -> None:
    """Check a profile against what the readers understand; the first problem is raised as a
    ``ProfileError`` naming the file and the key."""
    from dli_etl.specs import load_spec

    for key in data:
        if key not in PROFILE_KEYS:
            raise _unknown(path, "key", key, PROFILE_KEYS)
    for required in ("study", "site", "format", "files", "forms"):
        if required not in data:
            raise ProfileError(f"{path}: missing key {required!r}")
    fmt = data["format"]
    if fmt not in SUPPORTED_FORMATS:
        raise ProfileError(f"{path}: format {fmt!r} is not one of {SUPPORTED_FORMATS}")
    studies = [k for k, v in load_spec("studies").items() if isinstance(v, dict) and "arms" in v]
    if str(data["study"]) not in studies:
        raise _unknown(path, "study", data["study"], studies)
    files = data["files"]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise ProfileError(f"{path}: 'files' must be a list of glob patterns under landing/<STUDY>/, "
                           f"e.g. files: [\"sites/{data['site']}/*.xlsx\"]")
    for column, action in (data.get("identifiers") or {}).items():
        if action not in IDENTIFIER_ACTIONS:
            raise ProfileError(f"{path}: identifiers.{column} is {action!r}; use one of {IDENTIFIER_ACTIONS}")
    for key in ("decimal_separator", "thousands_separator"):
        if key in data and data[key] not in SEPARATORS:
            raise ProfileError(f"{path}: {key} is {data[key]!r}; use one of {SEPARATORS}")
    if "decimal_separator" in data and data["decimal_separator"] == data.get("thousands_separator"):
        raise ProfileError(f"{path}: decimal_separator and thousands_separator are both {data['decimal_separator']!r}")
    if data.get("language", "en") not in LANGUAGES:
        raise ProfileError(f"{path}: language is {data['language']!r}; use one of {LANGUAGES}")
    if data.get("mrd_unit", "percent") not in MRD_UNITS:
        raise ProfileError(f"{path}: mrd_unit is {data['mrd_unit']!r}; use one of {MRD_UNITS}")
    if "sites" in data and not (isinstance(data["sites"], list) and all(isinstance(x, str) for x in data["sites"])):
        raise ProfileError(f"{path}: 'sites' must be a list of site codes, e.g. [S01, S02]")
    for key in ("study_oid", "subject_key", "default_site", "sites"):
        if key in data and fmt != "odm":
            raise ProfileError(f"{path}: {key!r} applies to odm sources only")
    if data.get("subject_key", "SubjectKey") not in SUBJECT_KEY_SOURCES:
        raise _unknown(path, "subject_key", data["subject_key"], SUBJECT_KEY_SOURCES)
    forms_spec = load_spec("forms")
    coded: set[str] = set()
    if not isinstance(data["forms"], dict) or not data["forms"]:
        raise ProfileError(f"{path}: 'forms' must map form names to their layout")
    for form, spec in data["forms"].items():
        if form not in forms_spec:
            raise _unknown(path, "form", form, list(forms_spec))
        blocks = spec if isinstance(spec, list) else [spec]
        for n, block in enumerate(blocks, start=1):
            where = f"forms.{form}" + (f"[{n}]" if isinstance(spec, list) else "")
            coded |= _validate_block(block, where, fmt, forms_spec[form]["fields"], path)
    for field_name in (data.get("value_maps") or {}):
        if field_name not in coded:
            raise ProfileError(f"{path}: value_maps.{field_name}: {field_name!r} is not a coded field this profile "
                               f"reads (coded fields here: {', '.join(sorted(coded)) or 'none'})")


def _check_targets(targets: list[str], where: str, fields: dict[str, Any], path: str) -> None:
    for target in targets:
        if target != "subjid" and target not in fields:
            raise _unknown(path, f"target field in {where}", target, ["subjid", *fields])


def _validate_block(block: Any, where: str, fmt: str, fields: dict[str, Any], path: str) -> set[str]:
    """Check one layout block of a form; returns the coded fields it fills."""
    units = load_units()
    if not isinstance(block, dict):
        raise ProfileError(f"{path}: {where} must be a mapping")
    allowed = FORM_KEYS[fmt]
    for key in block:
        if key not in allowed["required"] + allowed["optional"]:
            raise _unknown(path, f"key in {where} (format {fmt})", key, allowed["required"] + allowed["optional"])
    for key in allowed["required"]:
        if key not in block:
            raise ProfileError(f"{path}: {where} needs {key!r} for a {fmt} source")
    mapping = block["columns"] if fmt == "xlsx" else block["fields"]
    if not isinstance(mapping, dict):
        raise ProfileError(f"{path}: {where}.{'columns' if fmt == 'xlsx' else 'fields'} must map source names to fields")
    filled = [str(t) for t in mapping.values()]
    for key in ("sheet", "item_group", "instrument", "events"):
        value = block.get(key)
        if value is not None and not (isinstance(value, str) or (isinstance(value, list) and value
                                                                 and all(isinstance(v, str) for v in value))):
            raise ProfileError(f"{path}: {where}.{key} must be a name or a list of names (glob patterns allowed)")
    header = block.get("header_row", 1)
    rows = header if isinstance(header, list) else [header]
    if not rows or not all(isinstance(r, int) and r >= 1 for r in rows):
        raise ProfileError(f"{path}: {where}.header_row must be a row number from 1, or a list of them")
    constants = block.get("constants") or {}
    if not isinstance(constants, dict):
        raise ProfileError(f"{path}: {where}.constants must map fields to one value each")
    filled += list(constants)
    for n, rule in enumerate(block.get("skip_rows") or []):
        if not isinstance(rule, dict) or "matching" not in rule or set(rule) - {"matching", "column"}:
            raise ProfileError(f"{path}: {where}.skip_rows[{n}] needs 'matching' (a regular expression) and may "
                               f"name a 'column'")
        try:
            re.compile(str(rule["matching"]))
        except re.error as exc:
            raise ProfileError(f"{path}: {where}.skip_rows[{n}].matching is not a regular expression ({exc})") from exc
    unpivot = block.get("unpivot")
    if unpivot is not None:
        if not isinstance(unpivot, dict) or set(unpivot) != {"value_field", "columns"} or \
                not isinstance(unpivot["columns"], dict) or not unpivot["columns"]:
            raise ProfileError(f"{path}: {where}.unpivot needs 'value_field' and 'columns' (source column -> "
                               f"the fields that column implies, e.g. {{mrd_method: FLOW CYTOMETRY}})")
        filled.append(str(unpivot["value_field"]))
        for source, implied in unpivot["columns"].items():
            if not isinstance(implied, dict):
                raise ProfileError(f"{path}: {where}.unpivot.columns.{source} must map fields to values")
            filled += list(implied)
    if block.get("sheet_name_to"):
        filled.append(str(block["sheet_name_to"]))
    _check_targets(filled, where, fields, path)
    for field_name in block.get("fill_down") or []:
        if field_name not in filled:
            raise ProfileError(f"{path}: {where}.fill_down names {field_name!r}, which this block does not read")
    for field_name, unit in (block.get("units") or {}).items():
        analyte = fields.get(field_name, {}).get("analyte")
        if analyte is None:
            raise ProfileError(f"{path}: {where}.units.{field_name}: {field_name!r} is not a lab value")
        if unit not in units[analyte]["convert"]:
            raise _unknown(path, f"unit for {where}.{field_name}", unit, list(units[analyte]["convert"]))
    for field_name, limits in (block.get("reference_ranges") or {}).items():
        if fields.get(field_name, {}).get("type") != "lab":
            raise ProfileError(f"{path}: {where}.reference_ranges.{field_name}: {field_name!r} is not a lab value")
        if not (isinstance(limits, list) and len(limits) == 2 and all(isinstance(x, (int, float)) for x in limits)
                and limits[0] < limits[1]):
            raise ProfileError(f"{path}: {where}.reference_ranges.{field_name} must be [low, high] in the unit the "
                               f"site reports {field_name} in, low below high")
    return {n for n, f in fields.items() if f["type"] == "code" and n in set(filled)}


def load_units() -> dict[str, Any]:
    from dli_etl.specs import load_spec

    return load_spec("units")


def _from_mapping(data: dict[str, Any], path: str) -> SiteProfile:
    validate_profile(data, path)
    return SiteProfile(
        study=str(data["study"]),
        site=str(data["site"]),
        format=str(data["format"]),
        files=tuple(data["files"]),
        forms=dict(data["forms"]),
        source_name=str(data.get("source_name", "")),
        country=str(data.get("country", "CHN")),
        date_format=data.get("date_format"),
        identifiers={str(k): str(v) for k, v in (data.get("identifiers") or {}).items()},
        value_maps={k: {str(a): str(b) for a, b in v.items()} for k, v in (data.get("value_maps") or {}).items()},
        dictionary=data.get("dictionary"),
        path=path,
        decimal_separator=data.get("decimal_separator"),
        thousands_separator=data.get("thousands_separator"),
        mrd_unit=str(data.get("mrd_unit", "percent")),
        study_oid=data.get("study_oid"),
        subject_key=str(data.get("subject_key", "SubjectKey")),
        default_site=data.get("default_site"),
        sites=tuple(data.get("sites") or ()),
        language=str(data.get("language", "en")),
    )


def load_profile(path: Path) -> SiteProfile:
    """Read one profile YAML file."""
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    return _from_mapping(data, str(path))


def _claim(by_key: dict[str, SiteProfile], profile: SiteProfile, replacing: set[str]) -> None:
    """Add a profile; two profiles of one folder for the same study/site/format is an error (one would be
    ignored silently), while a profile in the data manager's folder replaces a shipped one on purpose."""
    earlier = by_key.get(profile.key)
    if earlier is not None and profile.key not in replacing:
        raise ProfileError(f"{profile.path}: describes {profile.key}, as {earlier.path} already does; merge them "
                           f"into one profile (a form may list several blocks)")
    by_key[profile.key] = profile


def load_profiles(extra_dir: Path | None = None) -> list[SiteProfile]:
    """Shipped profiles plus any in ``extra_dir`` (a profile with the same study/site/format replaces one)."""
    by_key: dict[str, SiteProfile] = {}
    shipped = resources.files("dli_etl") / "site_profiles"
    for study_dir in sorted(shipped.iterdir(), key=lambda p: p.name):
        if not study_dir.is_dir():
            continue
        for item in sorted(study_dir.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                _claim(by_key, load_profile(Path(str(item))), set())
    if extra_dir is not None:
        replacing = set(by_key)
        for item in sorted(Path(extra_dir).rglob("*.yaml")):
            profile = load_profile(item)
            _claim(by_key, profile, replacing)
            replacing.discard(profile.key)
    return sorted(by_key.values(), key=lambda p: (p.study, p.site, p.format))


def profiles_for(study: str, profiles: list[SiteProfile]) -> list[SiteProfile]:
    """The profiles of one study."""
    return [p for p in profiles if p.study == study]

