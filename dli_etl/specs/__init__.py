"""Specs as data: form definitions, codelists, study parameters and the rule catalogue (YAML)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

# libyaml parses the shipped specs and every site profile several times faster than the pure-Python
# parser (0.5 s of a 1x run went there); the constructors are the same, so the data is too
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, through libyaml when PyYAML was built with it."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, C or Python


@cache
def load_spec(name: str) -> dict[str, Any]:
    """A shipped spec file by name (``forms``, ``codelists``, ``studies``, ``rules``)."""
    text = (resources.files("dli_etl") / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
    return parse_yaml(text)
