"""Partitioned inputs as one shape: Dagster hands an asset the value itself, not a one-entry dict, when
exactly one upstream partition is loaded (a first transfer with a single site, a release of one study),
and only the partitions that exist when some are missing."""

from dagster import AssetExecutionContext


def by_partition(context: AssetExecutionContext, input_name: str, value: object) -> dict[str, object]:
    """``{partition key: value}`` whether Dagster passed a dict of partitions or the single value."""
    keys = sorted(context.asset_partition_keys_for_input(input_name))
    if isinstance(value, dict) and value and set(value) <= set(keys):
        return value  # some partitions may be missing (a study with no source yet)
    if len(keys) == 1:
        return {keys[0]: value}
    return value  # type: ignore[return-value]
