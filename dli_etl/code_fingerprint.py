"""A fingerprint of the installed code and specs, for caches of derived outputs kept between runs: what
other code or specs derived is never reused."""

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
