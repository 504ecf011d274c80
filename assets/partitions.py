"""Partitions: study (static) x site (dynamic). A site folder that appears in the landing area becomes a
new ``site`` partition through the landing sensor, with no code change."""

import warnings

from dagster import (
    BetaWarning,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from dli_etl.pipeline import STUDIES

# the study roll-up relies on MultiToSingleDimensionPartitionMapping, still marked beta in Dagster 1.13
warnings.filterwarnings("ignore", category=BetaWarning, message=".*MultiToSingleDimensionPartitionMapping.*")

study_partitions = StaticPartitionsDefinition(list(STUDIES))
site_partitions = DynamicPartitionsDefinition(name="site")
study_site_partitions = MultiPartitionsDefinition({"study": study_partitions, "site": site_partitions})


def study_site_key(study: str, site: str) -> MultiPartitionKey:
    return MultiPartitionKey({"study": study, "site": site})
