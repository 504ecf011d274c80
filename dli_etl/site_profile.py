"""Site profiles: what a site's files mean (sheets, headers, date formats, units, value maps), kept as YAML.

Onboarding a new site is a new profile file, not new code. Profiles ship in ``dli_etl/site_profiles``;
``load_profiles(extra_dir)`` adds or overrides profiles from a folder a data manager maintains.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FORMATS = ("xlsx", "odm", "redcap")
# every key a profile may use; anything else is a typo that would otherwise be ignored silently
PROFILE_KEYS = ("study", "site", "source_name", "format", "files", "dictionary", "date_format", "identifiers",
                "forms", "value_maps", "country", "layout")
FORM_KEYS = {"xlsx": {"required": ("sheet", "columns"), "optional": ("header_row", "fill_down", "units")},
             "odm": {"required": ("item_group", "fields"), "optional": ()},
             "redcap": {"required": ("instrument", "fields"), "optional": ()}}
IDENTIFIER_ACTIONS = ("drop", "pseudonymize")


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
    if data.get("date_format") and fmt != "xlsx":
        raise ProfileError(f"{path}: 'date_format' applies to xlsx sources only; {fmt} exports carry ISO dates")
    for column, action in (data.get("identifiers") or {}).items():
        if action not in IDENTIFIER_ACTIONS:
            raise ProfileError(f"{path}: identifiers.{column} is {action!r}; use one of {IDENTIFIER_ACTIONS}")
    forms_spec = load_spec("forms")
    units = load_spec("units")
    coded: set[str] = set()
    if not isinstance(data["forms"], dict) or not data["forms"]:
        raise ProfileError(f"{path}: 'forms' must map form names to their layout")
    for form, spec in data["forms"].items():
        if form not in forms_spec:
            raise _unknown(path, "form", form, list(forms_spec))
        if not isinstance(spec, dict):
            raise ProfileError(f"{path}: forms.{form} must be a mapping")
        allowed = FORM_KEYS[fmt]
        for key in spec:
            if key not in allowed["required"] + allowed["optional"]:
                raise _unknown(path, f"key in forms.{form} (format {fmt})", key, allowed["required"] + allowed["optional"])
        for key in allowed["required"]:
            if key not in spec:
                raise ProfileError(f"{path}: forms.{form} needs {key!r} for a {fmt} source")
        fields = forms_spec[form]["fields"]
        mapping = spec["columns"] if fmt == "xlsx" else spec["fields"]
        for source, target in (mapping or {}).items():
            if target != "subjid" and target not in fields:
                raise _unknown(path, f"target field for {source!r} in forms.{form}", target, ["subjid", *fields])
        for field_name, unit in (spec.get("units") or {}).items():
            analyte = fields.get(field_name, {}).get("analyte")
            if analyte is None:
                raise ProfileError(f"{path}: forms.{form}.units.{field_name}: {field_name!r} is not a lab value")
            if unit not in units[analyte]["convert"]:
                raise _unknown(path, f"unit for {form}.{field_name}", unit, list(units[analyte]["convert"]))
        coded |= {n for n, f in fields.items() if f["type"] == "code" and n in set(mapping.values())}
    for field_name in (data.get("value_maps") or {}):
        if field_name not in coded:
            raise ProfileError(f"{path}: value_maps.{field_name}: {field_name!r} is not a coded field this profile "
                               f"reads (coded fields here: {', '.join(sorted(coded)) or 'none'})")


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
    )


def load_profile(path: Path) -> SiteProfile:
    """Read one profile YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    return _from_mapping(data, str(path))


def load_profiles(extra_dir: Path | None = None) -> list[SiteProfile]:
    """Shipped profiles plus any in ``extra_dir`` (a profile with the same study/site/format replaces one)."""
    by_key: dict[str, SiteProfile] = {}
    shipped = resources.files("dli_etl") / "site_profiles"
    for study_dir in sorted(shipped.iterdir(), key=lambda p: p.name):
        if not study_dir.is_dir():
            continue
        for item in sorted(study_dir.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                profile = load_profile(Path(str(item)))
                by_key[profile.key] = profile
    if extra_dir is not None:
        for item in sorted(Path(extra_dir).rglob("*.yaml")):
            profile = load_profile(item)
            by_key[profile.key] = profile
    return sorted(by_key.values(), key=lambda p: (p.study, p.site, p.format))


def profiles_for(study: str, profiles: list[SiteProfile]) -> list[SiteProfile]:
    """The profiles of one study."""
    return [p for p in profiles if p.study == study]
