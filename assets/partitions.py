"""Partitions: each study has its own dynamic set of site partitions, so a partition exists only for a
site the study really has (``DLIPRO``: EDC and S01..S06; ``DLIPLX``: JLU), never the cross product of
studies and sites. A site folder that appears in a study's landing area becomes a new partition of that
study through the landing sensor, with no code change and no reload.

Dagster supports no custom partition mapping, so the study level is an asset per study (``DLIPRO/harmonized``)
that reads every site partition of its own study's ``source_files``."""

from dagster import AssetKey, DynamicPartitionsDefinition

from dli_etl.pipeline import STUDIES

SITE_PARTITIONS = {study: DynamicPartitionsDefinition(name=f"{study}_sites") for study in STUDIES}


def site_partitions(study: str) -> DynamicPartitionsDefinition:
    """The site partitions of one study."""
    return SITE_PARTITIONS[study]


def study_asset_key(study: str, name: str) -> AssetKey:
    """``DLIPRO/source_files``, ``DLIPLX/harmonized``: one asset per study and stage."""
    return AssetKey([study, name])
