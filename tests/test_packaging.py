"""`pip install .` ships every subpackage: the explicit package list in pyproject.toml must name them all."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = {name: REPO / folder for name, folder in config["package-dir"].items()}
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "dli_etl").rglob("__init__.py")}
    for name, folder in mapped.items():
        found |= {".".join((name, *p.parent.relative_to(folder).parts)) for p in folder.rglob("__init__.py")}
    found = {f for f in found if "__pycache__" not in f}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
