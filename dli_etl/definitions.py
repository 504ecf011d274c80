"""The Dagster code location: ``workspace.yaml`` loads this file (``dagster dev -w workspace.yaml``).

Paths come from ``DLI_LANDING_DIR``, ``DLI_OUTPUT_DIR``, ``DLI_WAREHOUSE_URL`` (default: ``dli-etl-out/``
under the current folder, where ``dli-etl demo`` writes).
"""

from dli_etl.assets.definitions import build_definitions

defs = build_definitions()
