"""What a run keeps by content for the next run (GX outcomes, typed forms, curve drawings): where it is
kept, the code fingerprint their keys include, so nothing other code or specs derived is reused, and how
an entry is stored."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

CACHE_VARIABLE = "DLI_CACHE_DIR"
ABANDONED_AFTER_SECONDS = 600


def cache_root(out: Path) -> Path:
    """Where a run into ``out`` keeps its caches: ``$DLI_CACHE_DIR`` when set, so several output folders
    (staging and production, one folder per day, a test session) reuse one another's work; otherwise
    ``<out>/.cache``. Entries are keyed by content, so sharing never changes a result."""
    shared = os.environ.get(CACHE_VARIABLE, "").strip()
    return Path(shared) if shared else Path(out) / ".cache"


@cache
def code_fingerprint() -> str:
    """Every file of the installed ``dli_etl`` package (code and specs, by path inside the package) and
    the pandas version."""
    digest = hashlib.sha256(version("pandas").encode("utf-8"))
    root = Path(str(resources.files("dli_etl")))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".csv", ".json"):
            digest.update(path.relative_to(root).as_posix().encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def replace_entry(path: Path, data: bytes) -> None:
    """Store ``data`` as ``path``, named ``<slot>-<key><suffix>``, and remove the slot's older entries:
    one entry per slot (domain, source form, curve) is kept. Written aside under a name of its own and
    renamed, so neither a killed run nor two runs sharing the cache ever leave half an entry behind.
    Readers treat an entry that vanished under them (another run's pruning) as a miss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    slot = path.stem.rsplit("-", 1)[0]
    for stale in path.parent.glob(f"{slot}-*{path.suffix}"):
        if stale != path:
            stale.unlink(missing_ok=True)
    # what a run killed between writing and renaming left behind; a live writer renames within seconds
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for abandoned in path.parent.glob(f".{slot}-*.tmp"):
        try:
            if abandoned.stat().st_mtime < cutoff:
                abandoned.unlink(missing_ok=True)
        except OSError:
            pass
