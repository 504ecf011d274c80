"""Per-study assets: ingested -> harmonized -> sdtm, with a blocking row-accounting check."""


import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    asset,
    asset_check,
)

from dli_etl import pipeline
from dli_etl.harmonize.study import HarmonizeResult
from dli_etl.ingest.raw_form import IngestResult

from .resources import DliEtlPaths


def _markdown(frame: pd.DataFrame, rows: int = 10) -> MetadataValue:
    return MetadataValue.md(frame.head(rows).to_markdown(index=False) if not frame.empty else "_empty_")


def build_study_assets(study: str) -> tuple[list[AssetsDefinition], list[AssetChecksDefinition]]:
    """The three assets and the check of one study; names are prefixed with the study id."""
    key = study.lower()

    @asset(name=f"{key}_ingested", group_name=key, compute_kind="python",
           description=f"{study} landing files read through their site profiles (text + lineage).")
    def ingested(context: AssetExecutionContext, paths: DliEtlPaths) -> IngestResult:
        result = pipeline.ingest(study, paths.landing(), paths.profiles())
        rows = sum(len(f.frame) for f in result.forms)
        context.add_output_metadata({
            "files": len(result.files), "raw_rows": rows, "ingest_findings": len(result.findings),
            "sources": MetadataValue.md("\n".join(f"- `{f.path}` ({f.status})" for f in result.files) or "_none_"),
        })
        return result

    @asset(name=f"{key}_harmonized", group_name=key, compute_kind="pandera",
           ins={"ingested": AssetIn(f"{key}_ingested"), "query_state": AssetIn("query_state")},
           description=f"{study} typed forms in canonical units, quarantine and findings.")
    def harmonized(context: AssetExecutionContext, ingested: IngestResult,
                   query_state: pipeline.QueryState) -> HarmonizeResult:
        result = pipeline.harmonize(ingested, query_state.accepted)
        acc = result.accounting
        severity = result.findings.groupby("severity").size().to_dict() if not result.findings.empty else {}
        context.add_output_metadata({
            "rows_in": int(acc["rows_in"].sum()), "rows_curated": int(acc["rows_curated"].sum()),
            "rows_quarantined": int(acc["rows_quarantined"].sum()),
            "findings_error": int(severity.get("error", 0)), "findings_warning": int(severity.get("warning", 0)),
            "row_accounting": _markdown(acc, 50),
            "findings_preview": _markdown(result.findings[["severity", "rule_id", "site", "subjid", "message"]]
                                          if not result.findings.empty else result.findings),
        })
        return result

    @asset_check(asset=harmonized, name="row_accounting_balanced", blocking=True,
                 description="Every source row is curated or quarantined: rows in = curated + quarantined.")
    def row_accounting_balanced(harmonized: HarmonizeResult) -> AssetCheckResult:
        acc = harmonized.accounting
        off = acc[acc["rows_in"] != acc["rows_curated"] + acc["rows_quarantined"]]
        return AssetCheckResult(passed=off.empty, severity=AssetCheckSeverity.ERROR,
                                metadata={"unbalanced": len(off), "forms": len(acc)})

    @asset_check(asset=harmonized, name="no_unreadable_files", blocking=False,
                 description="Warns when a landing file could not be read (its rows cannot be accounted).")
    def no_unreadable_files(harmonized: HarmonizeResult) -> AssetCheckResult:
        f = harmonized.findings
        bad = f[f["rule_id"] == "INGEST-FILE-UNREADABLE"] if not f.empty else f
        return AssetCheckResult(passed=bad.empty, severity=AssetCheckSeverity.WARN,
                                metadata={"unreadable_files": len(bad)})

    @asset(name=f"{key}_sdtm", group_name=key, compute_kind="sdtm",
           ins={"harmonized": AssetIn(f"{key}_harmonized")},
           description=f"{study} SDTM domains, lineage, and the CT / cross-domain / GX findings about them.")
    def sdtm(context: AssetExecutionContext, paths: DliEtlPaths, harmonized: HarmonizeResult) -> pipeline.SdtmResult:
        result = pipeline.map_sdtm(harmonized)
        if paths.expectations:
            result = pipeline.check_expectations(study, result, paths.output(), paths.data_docs)
        meta: dict = {f"{name}_rows": len(frame) for name, frame in result.domains.items()}
        meta["sdtm_findings"] = len(result.findings)
        meta["gx_suites_failed"] = MetadataValue.json(sorted(d for d, ok in result.expectations.items() if not ok))
        if result.data_docs:
            meta["data_docs"] = MetadataValue.path(str(result.data_docs))
        context.add_output_metadata(meta | {"dm_preview": _markdown(result.domains["dm"], 5)})
        return result

    return [ingested, harmonized, sdtm], [row_accounting_balanced, no_unreadable_files]
