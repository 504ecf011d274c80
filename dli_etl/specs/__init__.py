"""Specs as data: form definitions, codelists, study parameters and the rule catalogue (YAML)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load_spec(name: str) -> dict[str, Any]:
    """A shipped spec file by name (``forms``, ``codelists``, ``studies``, ``rules``)."""
    text = (resources.files("dli_etl") / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)
