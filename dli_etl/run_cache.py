"""What a run keeps by content for the next run into the same output (GX outcomes, typed forms, curve
drawings): the code fingerprint their keys include, so nothing other code or specs derived is reused, and
how an entry is stored."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path


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
    one entry per slot (domain, source form, curve) is kept. Written aside and renamed, so a killed run
    never leaves half an entry behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    slot = path.stem.rsplit("-", 1)[0]
    for stale in path.parent.glob(f"{slot}-*{path.suffix}"):
        if stale != path:
            stale.unlink(missing_ok=True)
