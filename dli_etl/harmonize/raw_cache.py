"""Typed forms kept by content between runs: a raw form (one form of one source file) whose text, reading
instructions and harmonizing code are unchanged since an earlier run into the same output reuses that
run's typed frame, findings and source text instead of being typed again.

After a change at one site, only that site's files are typed again; the study's cross-form rules and
quarantine still run on the whole study, since they look across sites' forms.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.ingest.raw_form import RawForm
from dli_etl.run_cache import code_fingerprint, replace_entry

TypedForm = tuple[pd.DataFrame, list[Finding], pd.DataFrame]


def raw_form_key(raw: RawForm, form: str) -> str:
    """What typing ``raw`` as ``form`` depends on: every value and column of its frame, how the site's
    profile says to read it (units, maps, separators, date format...), and the code."""
    digest = hashlib.sha256(code_fingerprint().encode("utf-8"))
    instructions = {f.name: getattr(raw, f.name) for f in fields(raw) if f.name != "frame"}
    digest.update(json.dumps([form, instructions], sort_keys=True, default=str).encode("utf-8"))
    frame = raw.frame
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:32]


@dataclass
class RawFormCache:
    """Typed forms under ``folder``, one entry per (source file, form): a new entry replaces the file's
    older one. ``hits`` and ``misses`` count this run's lookups."""

    folder: Path
    hits: int = 0
    misses: int = 0

    def _slot(self, raw: RawForm, form: str) -> str:
        return f"{form}-{hashlib.sha256(raw.src_file.encode('utf-8')).hexdigest()[:16]}"

    def get(self, raw: RawForm, form: str) -> tuple[str, TypedForm | None]:
        """(key, the typed form stored under it or None)."""
        key = raw_form_key(raw, form)
        path = Path(self.folder) / f"{self._slot(raw, form)}-{key}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    typed = pickle.load(handle)
                self.hits += 1
                return key, typed
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                path.unlink(missing_ok=True)  # unreadable: typed again below, and rewritten
        self.misses += 1
        return key, None

    def put(self, raw: RawForm, form: str, key: str, typed: TypedForm) -> None:
        path = Path(self.folder) / f"{self._slot(raw, form)}-{key}.pkl"
        replace_entry(path, pickle.dumps(typed, protocol=pickle.HIGHEST_PROTOCOL))
