"""dli-etl: harmonize donor-lymphocyte-infusion trial data into validated, SDTM-like tables.

The library knows nothing of Dagster: ``dli_etl.pipeline`` runs every step as plain functions;
``dli_etl.assets`` (the top-level ``assets/`` folder) wires those functions into a Dagster graph.
"""

__version__ = "0.1.0"
