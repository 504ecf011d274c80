"""Never publish less by accident: a run that read nothing for a study the live release has data for
refuses to publish (a wrong ``--landing``, an empty mount, a transfer that has not arrived yet).

The previous release, the warehouse and the query state stay exactly as they were; ``--allow-empty``
publishes anyway, for the rare day a study really is withdrawn.
"""

from __future__ import annotations

import json
from pathlib import Path

STUDY_FOLDERS = ("DLIPRO", "DLIPLX")


class PublishRefused(RuntimeError):
    """The run would replace a release that has a study's data with one that has none of it."""


def live_subjects(out: Path) -> dict[str, int]:
    """Subjects per study in the live release (``<out>/current/run_manifest.json``); empty when none."""
    manifest = Path(out) / "current" / "run_manifest.json"
    if not manifest.is_file():
        return {}
    try:
        return {k: int(v) for k, v in json.loads(manifest.read_text(encoding="utf-8")).get("subjects", {}).items()}
    except (ValueError, OSError):
        return {}


def landing_files(landing: Path, study: str) -> list[Path]:
    """Every file under ``landing/<study>/`` except answered query workbooks (they are not sources)."""
    root = Path(landing) / study
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file() and "query_responses" not in p.relative_to(root).parts]


def unknown_study_folders(landing: Path) -> list[str]:
    """Folders in the landing area that name no study this installation knows."""
    root = Path(landing)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p.name not in STUDY_FOLDERS)


def check_landing(landing: Path, out: Path, allow_empty: bool = False) -> None:
    """Before any work: refuse when a study with data in the live release has no file in the landing area."""
    if allow_empty:
        return
    missing = [s for s, n in live_subjects(out).items() if n > 0 and not landing_files(landing, s)]
    if missing:
        unknown = unknown_study_folders(landing)
        hint = f"; unknown study folder(s) there: {', '.join(unknown)}" if unknown else ""
        raise PublishRefused(
            f"no source files for {', '.join(missing)} in {landing} (the live release has "
            f"{', '.join(f'{s}: {live_subjects(out)[s]} subjects' for s in missing)}){hint}; nothing was published "
            "(check --landing, or pass --allow-empty to publish without them)")


def check_read(read_by_study: dict[str, int], out: Path, allow_empty: bool = False) -> None:
    """After ingest: refuse when a study with data in the live release had no readable file this run."""
    if allow_empty:
        return
    missing = [s for s, n in live_subjects(out).items() if n > 0 and read_by_study.get(s, 0) == 0]
    if missing:
        raise PublishRefused(
            f"no readable source for {', '.join(missing)} this run, but the live release has its data; nothing "
            "was published (fix the files, or pass --allow-empty to publish without them)")
