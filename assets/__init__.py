"""Dagster definitions for dli-etl (installed as ``dli_etl.assets``): thin wrappers over ``dli_etl.pipeline``."""
