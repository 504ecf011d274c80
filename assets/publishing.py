"""Study-independent assets: publish every table and write the data-quality report."""


from dagster import AssetExecutionContext, AssetIn, MetadataValue, asset

from dli_etl import pipeline
from dli_etl.harmonize.study import HarmonizeResult
from dli_etl.ingest.raw_form import IngestResult

from .resources import DliEtlPaths


@asset(group_name="queries", compute_kind="sqlalchemy",
       description="Queries of the previous run (warehouse) and the answered triage workbooks sites sent back.")
def query_state(context: AssetExecutionContext, paths: DliEtlPaths) -> pipeline.QueryState:
    state = pipeline.query_state(paths.landing(), paths.output(), paths.warehouse_url or None)
    context.add_output_metadata({"previous_queries": len(state.previous), "responses": len(state.responses),
                                 "accepted": len(state.accepted)})
    return state


@asset(
    group_name="publish", compute_kind="sqlalchemy",
    ins={
        "query_state": AssetIn("query_state"),
        "dlipro_ingested": AssetIn("dlipro_ingested"), "dlipro_harmonized": AssetIn("dlipro_harmonized"),
        "dlipro_sdtm": AssetIn("dlipro_sdtm"), "dliplx_ingested": AssetIn("dliplx_ingested"),
        "dliplx_harmonized": AssetIn("dliplx_harmonized"), "dliplx_sdtm": AssetIn("dliplx_sdtm"),
    },
    description="Parquet files, SQL warehouse tables, findings workbook, HTML report and run manifest.",
)
def published(
    context: AssetExecutionContext, paths: DliEtlPaths, query_state: pipeline.QueryState,
    dlipro_ingested: IngestResult, dlipro_harmonized: HarmonizeResult, dlipro_sdtm: pipeline.SdtmResult,
    dliplx_ingested: IngestResult, dliplx_harmonized: HarmonizeResult, dliplx_sdtm: pipeline.SdtmResult,
) -> dict[str, object]:
    runs = [
        pipeline.study_run(dlipro_ingested, dlipro_harmonized, dlipro_sdtm),
        pipeline.study_run(dliplx_ingested, dliplx_harmonized, dliplx_sdtm),
    ]
    summary = pipeline.write_outputs(runs, paths.output(), paths.landing(), paths.warehouse_url or None,
                                     run_id=context.run_id, state=query_state)
    context.add_output_metadata({
        "report": MetadataValue.path(str(summary.report)),
        "findings_xlsx": MetadataValue.path(str(summary.findings_xlsx)),
        "warehouse": pipeline.redact_url(summary.warehouse_url),
        "parquet_files": summary.parquet_files,
        "sql_tables": MetadataValue.json(summary.sql_tables),
        "subjects": MetadataValue.json(summary.subjects),
        "queries": MetadataValue.json(summary.queries_by_status),
        "triage_workbooks": MetadataValue.md("\n".join(f"- `{p}`" for p in summary.triage_workbooks) or "_none_"),
    })
    return {"run_id": summary.run_id, "report": str(summary.report), "subjects": summary.subjects,
            "findings_by_severity": summary.findings_by_severity, "sql_tables": summary.sql_tables,
            "parquet_files": summary.parquet_files, "warehouse_url": summary.warehouse_url,
            "findings_xlsx": str(summary.findings_xlsx), "queries_by_status": summary.queries_by_status,
            "triage": [str(p) for p in summary.triage_workbooks],
            "accounting": summary.accounting.to_dict("records")}
