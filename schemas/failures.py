"""Validate tables against their pandera models and keep what failed, table by table."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import pandera.pandas as pa


def register_pandera_backends() -> None:
    """Have pandera register its pandas backends now, which it otherwise does on a process's first
    validation (about a fifth of a second), for a caller with a core to spare before validating."""
    pa.DataFrameSchema({}).validate(pd.DataFrame())


def schema_failures(frames: dict[str, pd.DataFrame], models: dict[str, type[pa.DataFrameModel]]) -> dict[str, pd.DataFrame]:
    """``name -> failure cases`` (pandera's frame: column, check, failure_case, index) for every non-empty
    table that has a model and breaks it; tables that pass are absent."""
    failures = {}
    for name, frame in frames.items():
        model = models.get(name)
        if model is None or frame.empty:
            continue
        try:
            model.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            failures[name] = exc.failure_cases
    return failures
