"""Where assets keep their values between runs: one pickle per asset (and site partition) under the
output folder. Unlike Dagster's filesystem IO manager, an input marked ``allow_missing`` that was never
materialized loads as ``None`` (a study with no source yet), and a partitioned input always loads as a
``{partition: value}`` dict of the partitions that exist, even when there is only one."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from dagster import AssetKey, ConfigurableIOManager, InputContext, OutputContext


class PickleIOManager(ConfigurableIOManager):
    base_dir: str

    def _path(self, key: AssetKey, partition: str | None) -> Path:
        folder = Path(self.base_dir).joinpath(*key.path)
        return folder / f"{partition}.pickle" if partition is not None else folder / "value.pickle"

    def handle_output(self, context: OutputContext, obj: object) -> None:
        partition = context.partition_key if context.has_partition_key else None
        path = self._path(context.asset_key, partition)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # a run stopped mid-write leaves the previous value, never half a pickle

    def load_input(self, context: InputContext) -> object:
        key = context.asset_key
        allow_missing = bool((context.definition_metadata or {}).get("allow_missing"))
        if context.has_asset_partitions:
            values = {}
            for partition in context.asset_partition_keys:
                path = self._path(key, partition)
                if path.exists():
                    with open(path, "rb") as handle:
                        values[partition] = pickle.load(handle)
                elif not allow_missing:
                    raise FileNotFoundError(f"{key.to_user_string()} [{partition}] was never materialized")
            return values
        path = self._path(key, None)
        if not path.exists():
            if allow_missing:
                return None
            raise FileNotFoundError(f"{key.to_user_string()} was never materialized")
        with open(path, "rb") as handle:
            return pickle.load(handle)
