"""What changed in the landing folder, by content: one digest per (study, site) over its files' names and
sha256. A file that is touched but not changed keeps its digest; an edit, a new file or a deletion
changes it. The landing sensor keeps these digests as its cursor."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dli_etl.ingest.apply_profile import landing_sites
from dli_etl.lineage import sha256_of
from dli_etl.queries import RESPONSES_FOLDER
from dli_etl.site_profile import SiteProfile

# the metadata key under which a site partition's materialization records the digest it read
LANDING_DIGEST = "landing_digest"
# the metadata key under which a study's harmonized materialization records the answered workbooks it applied
RESPONSES_DIGEST = "responses_digest"

def _digest(landing: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(landing).as_posix().encode())
        digest.update(sha256_of(path).encode())
    return digest.hexdigest()


def partition_digests(landing: Path, studies: tuple[str, ...], profiles: list[SiteProfile]) -> dict[str, str]:
    """``"STUDY|SITE" -> sha256`` over the (relative path, content sha256) of every data file of that site."""
    return {f"{study}|{site}": _digest(landing, files)
            for (study, site), files in sorted(landing_sites(landing, studies, profiles).items())}


def partition_digest(landing: Path, study: str, site: str, profiles: list[SiteProfile]) -> str:
    """The digest of one study x site (as in ``partition_digests``), hashing only that site's files."""
    files = landing_sites(landing, (study,), profiles).get((study, site))
    return _digest(landing, files) if files else ""


def response_digests(landing: Path, studies: tuple[str, ...]) -> dict[str, str]:
    """``STUDY -> sha256`` over the answered triage workbooks sites sent back (``<STUDY>/query_responses/``).
    A change there re-harmonizes the study (accepted answers change what is quarantined); no file is re-read."""
    digests = {}
    for study in studies:
        files = sorted(p for p in (Path(landing) / study / RESPONSES_FOLDER).glob("*.xlsx")
                       if not p.name.startswith(("~$", ".")))
        if files:
            digests[study] = _digest(Path(landing), files)
    return digests


def changed_partitions(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Keys whose digest differs, including sites that appeared or whose files were all removed."""
    return sorted(k for k in set(previous) | set(current) if previous.get(k) != current.get(k))
