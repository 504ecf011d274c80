"""The same graph under Dagster: definitions load, a real instance materializes everything."""

from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, FilesystemIOManager, materialize
from dli_etl.assets.definitions import ALL_ASSETS, ALL_CHECKS
from dli_etl.assets.resources import DliEtlPaths


def test_code_location_loads_with_assets_checks_and_job(monkeypatch, tmp_path):
    monkeypatch.setenv("DLI_OUTPUT_DIR", str(tmp_path))
    from dli_etl.assets.definitions import build_definitions

    defs = build_definitions()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"query_state", "dlipro_ingested", "dlipro_harmonized", "dlipro_sdtm", "dliplx_ingested", "dliplx_harmonized",
                    "dliplx_sdtm", "published"}
    assert defs.resolve_job_def("full_refresh") is not None
    assert len(ALL_CHECKS) == 4


def test_workspace_yaml_points_at_the_definitions_file():
    text = (Path(__file__).resolve().parents[1] / "workspace.yaml").read_text()
    assert "dli_etl/definitions.py" in text
    assert (Path(__file__).resolve().parents[1] / "dli_etl" / "definitions.py").exists()


def test_materialize_on_a_real_instance(generated_defects, run_defects, tmp_path):
    paths = DliEtlPaths(landing_dir=str(generated_defects.landing), output_dir=str(tmp_path / "out"), data_docs=False)
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(tempdir=str(tmp_path / "home")) as instance:
        result = materialize([*ALL_ASSETS, *ALL_CHECKS], instance=instance,
                             resources={"paths": paths, "io_manager": FilesystemIOManager(base_dir=str(tmp_path / "io"))})
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"row_accounting_balanced": True, "no_unreadable_files": True}
        harmonized = [m for m in result.get_asset_materialization_events()
                      if m.asset_key.to_user_string() == "dlipro_harmonized"][0]
        metadata = harmonized.step_materialization_data.materialization.metadata
        assert metadata["rows_in"].value == metadata["rows_curated"].value + metadata["rows_quarantined"].value
        assert metadata["findings_error"].value > 0
        runs = instance.get_runs()
        assert len(runs) == 1
    dm = pd.read_parquet(tmp_path / "out" / "sdtm" / "pooled" / "dm.parquet")
    assert dm["STUDYID"].nunique() == 2
    # the Dagster graph and the plain pipeline find the same problems (SDTM, CT and GX findings included)
    via_dagster = pd.read_parquet(tmp_path / "out" / "findings" / "findings.parquet")
    plain = pd.read_parquet(run_defects.out / "findings" / "findings.parquet")
    assert set(via_dagster["finding_id"]) == set(plain["finding_id"])
    assert (via_dagster["severity"] == "info").any()  # CT sponsor extensions come from the sdtm assets
    assert (tmp_path / "out" / "report" / "dq_report.html").exists()
