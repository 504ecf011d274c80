"""Site profiles: what a site's files mean (sheets, headers, date formats, units, value maps), kept as YAML.

Onboarding a new site is a new profile file, not new code. Profiles ship in ``dli_etl/site_profiles``;
``load_profiles(extra_dir)`` adds or overrides profiles from a folder a data manager maintains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FORMATS = ("xlsx", "odm", "redcap")


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


def _from_mapping(data: dict[str, Any], path: str) -> SiteProfile:
    for required in ("study", "site", "format", "files", "forms"):
        if required not in data:
            raise ProfileError(f"{path}: missing key {required!r}")
    if data["format"] not in SUPPORTED_FORMATS:
        raise ProfileError(f"{path}: format {data['format']!r} is not one of {SUPPORTED_FORMATS}")
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
