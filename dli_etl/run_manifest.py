"""The run manifest: what went in (files and their sha256), which code, rules, schemas and terminology
made the outputs, what came out (every file's sha256, every table's row count) and under which run id.
It is how a published table is traced back to the exact inputs and rules that produced it."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata, resources
from pathlib import Path

from dli_etl import __version__
from dli_etl.lineage import sha256_of
from dli_etl.sdtm.controlled_terms import CT_PACKAGE_DATE

_PINNED = ("dagster", "pandera", "great-expectations", "sqlalchemy", "pandas", "pyarrow", "openpyxl",
           "python-calamine", "scipy", "psycopg")


def _tree_digest(folder, suffixes: tuple[str, ...]) -> str:
    """sha256 over the names and bytes of the files under ``folder`` (a stable fingerprint)."""
    digest = hashlib.sha256()
    root = Path(str(folder))
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def code_versions() -> dict[str, object]:
    """Package version, git commit (when run from a clone), fingerprints of the code, the specs and rules,
    the schemas, the CT package date, and the versions of the libraries that shape the outputs."""
    package = resources.files("dli_etl")
    libraries = {}
    for name in _PINNED:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = None
    return {
        "dli_etl_version": __version__,
        "git_commit": _git_commit(),
        "code_sha256": _tree_digest(package, (".py",)),
        "specs_sha256": _tree_digest(package / "specs", (".yaml", ".csv")),
        "rules_sha256": hashlib.sha256((package / "specs" / "rules.yaml").read_bytes()).hexdigest(),
        "site_profiles_sha256": _tree_digest(package / "site_profiles", (".yaml",)),
        "schemas_sha256": _tree_digest(resources.files("dli_etl.schemas"), (".py",)),
        "expectation_suites_sha256": _tree_digest(resources.files("dli_etl.expectations"), (".json",)),
        "ct_package_date": CT_PACKAGE_DATE,
        "python": platform.python_version(),
        "libraries": libraries,
    }


def output_files(release: Path) -> list[dict[str, object]]:
    """Every file of a release with its size and sha256 (the manifest itself excluded)."""
    return [{"path": p.relative_to(release).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
            for p in sorted(release.rglob("*")) if p.is_file() and p.name != "run_manifest.json"]
