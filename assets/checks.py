"""Asset checks. Error-level checks are blocking: an asset that fails one is stored, but nothing
downstream materializes from it (in the same run, or later through automation). Warnings never block.

The checks run inside their asset's step (declared as ``check_specs``): for a site partition, a separate
check would load every partition of the asset, not the one just written."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue
from dli_etl.schemas.failures import schema_failures
from dli_etl.schemas.forms import FORM_SCHEMAS

from dli_etl import pipeline
from dli_etl.adam.build import adam_findings
from dli_etl.endpoints.protocol import endpoint_table
from dli_etl.harmonize.study import HarmonizeResult
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.release_gates import endpoint_populations


def files_readable(source_files: IngestResult) -> AssetCheckResult:
    bad = [f.path for f in source_files.files if f.status == "unreadable"]
    return AssetCheckResult(passed=not bad, severity=AssetCheckSeverity.WARN,
                            metadata={"unreadable_files": MetadataValue.json(bad)})


def files_have_profiles(source_files: IngestResult) -> AssetCheckResult:
    unclaimed = [f.path for f in source_files.files if f.status == "no_profile"]
    return AssetCheckResult(passed=not unclaimed, severity=AssetCheckSeverity.WARN,
                            metadata={"files_without_profile": MetadataValue.json(unclaimed)})


def source_values_accounted(source_files: IngestResult) -> AssetCheckResult:
    coverage = pd.DataFrame([c.__dict__ for c in source_files.coverage])
    if coverage.empty:
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN, metadata={"blocks": 0})
    unbalanced = [c.block for c in source_files.coverage if not c.balanced]
    unmapped = int(coverage["values_unmapped"].sum())
    return AssetCheckResult(
        passed=not unbalanced and unmapped == 0, severity=AssetCheckSeverity.WARN,
        metadata={"values_in_source": int(coverage["values_in_source"].sum()),
                  "values_mapped": int(coverage["values_mapped"].sum()), "values_unmapped": unmapped,
                  "values_skipped": int(coverage["values_skipped"].sum()), "unbalanced_blocks": MetadataValue.json(unbalanced),
                  "coverage": MetadataValue.md(coverage.drop(columns=["study"]).to_markdown(index=False))})


def row_accounting_balanced(harmonized: HarmonizeResult) -> AssetCheckResult:
    acc = harmonized.accounting
    rows_off = acc["rows_in"] != acc["rows_curated"] + acc["rows_held_back"]
    values_off = (acc["values_read"] != acc["values_curated"] + acc["values_nulled"] + acc["values_held_back"]) \
        | (acc["values_unaccounted"] != 0)
    off = acc[rows_off | values_off]
    return AssetCheckResult(passed=off.empty, severity=AssetCheckSeverity.ERROR,
                            metadata={"unbalanced": len(off), "forms": len(acc),
                                      "unbalanced_rows": MetadataValue.md(off.to_markdown(index=False) if not off.empty else "_none_")})


def curated_forms_match_schemas(harmonized: HarmonizeResult) -> AssetCheckResult:
    failures = {form: len(cases) for form, cases in schema_failures(harmonized.curated, FORM_SCHEMAS).items()}
    return AssetCheckResult(passed=not failures, severity=AssetCheckSeverity.ERROR,
                            metadata={"forms_checked": len(harmonized.curated), "failures": MetadataValue.json(failures)})


def no_unreadable_files(harmonized: HarmonizeResult) -> AssetCheckResult:
    f = harmonized.findings
    bad = f[f["rule_id"] == "INGEST-FILE-UNREADABLE"] if not f.empty else f
    return AssetCheckResult(passed=bad.empty, severity=AssetCheckSeverity.WARN, metadata={"unreadable_files": len(bad)})


def gx_suites_pass(sdtm: pipeline.SdtmResult) -> AssetCheckResult:
    failed = sorted(d for d, ok in sdtm.expectations.items() if not ok)
    return AssetCheckResult(passed=not failed, severity=AssetCheckSeverity.WARN,
                            metadata={"suites": len(sdtm.expectations), "failed": MetadataValue.json(failed)})


def _gate_metadata(gates: list) -> dict:
    failures = pd.concat([g.findings for g in gates], ignore_index=True) if gates else pd.DataFrame()
    return {"gates": MetadataValue.json({g.gate: {"passed": g.passed, "checked": g.checked} for g in gates}),
            "failures": MetadataValue.md(failures[["subjid", "form", "field", "message"]].head(20).to_markdown(index=False)
                                         if not failures.empty else "_none_")}


def sdtm_keeps_every_record(sdtm: pipeline.SdtmResult) -> AssetCheckResult:
    return AssetCheckResult(passed=all(g.passed for g in sdtm.gates), severity=AssetCheckSeverity.ERROR,
                            metadata=_gate_metadata(sdtm.gates))


def endpoints_count_their_populations(adam: dict[str, pd.DataFrame]) -> AssetCheckResult:
    study = str(adam["adsl"]["STUDYID"].iloc[0]) if not adam["adsl"].empty else ""
    adams = {study: adam} if study else {}
    gate = endpoint_populations(adams, endpoint_table(adams))
    return AssetCheckResult(passed=gate.passed, severity=AssetCheckSeverity.ERROR, metadata=_gate_metadata([gate]))


def adam_schemas_pass(adam: dict[str, pd.DataFrame]) -> AssetCheckResult:
    study = str(adam["adsl"]["STUDYID"].iloc[0]) if not adam["adsl"].empty else ""
    found = adam_findings(study, adam)
    return AssetCheckResult(passed=found.empty, severity=AssetCheckSeverity.ERROR,
                            metadata={"failures": len(found),
                                      "details": MetadataValue.md(found[["form", "field", "expected", "value"]]
                                                                  .to_markdown(index=False) if not found.empty else "_none_")})


CHECKS = {
    # asset: [(check function, blocking, description)]
    "source_files": [
        (files_readable, False, "Warns when a landing file of this site could not be read (its rows cannot be counted)."),
        (files_have_profiles, False, "Warns when files sit in a site folder that no site profile claims (site not onboarded yet)."),
        (source_values_accounted, False, "Warns when a source value is in no form: a column, item, item group, instrument or sheet the site profile does not read (each has a finding with its value count)."),
    ],
    "harmonized": [
        (row_accounting_balanced, True, "Every source row and value is accounted for, per form and file: rows in = curated + held back; values read = curated + nulled with a finding + in held-back rows."),
        (curated_forms_match_schemas, True, "Each curated form satisfies its pandera model (types, allowed values, ranges)."),
        (no_unreadable_files, False, "Warns when any landing file of the study could not be read."),
    ],
    "sdtm": [
        # a warning, as in the plain run: a required value the site left blank (a finding and a query already)
        # fails a not-null expectation, and a blocking check would hold the study's release for the site
        (gx_suites_pass, False, "Warns when an SDTM domain fails its Great Expectations suite (none run when expectations are off); each failed expectation is a GX-EXPECTATION-FAILED finding in the listing."),
        (sdtm_keeps_every_record, True, "Release gate: DM holds every enrolled subject, and per subject every curated record reached its SDTM domain."),
    ],
    "adam": [
        (adam_schemas_pass, True, "ADSL, ADTTE, ADAE, ADLB and ADRS satisfy their pandera contracts."),
        (endpoints_count_their_populations, True, "Release gate: every ITT and safety endpoint's N equals its population count."),
    ],
}


def check_specs(study: str, asset_name: str) -> list[AssetCheckSpec]:
    """The check specs the study's asset declares."""
    return [AssetCheckSpec(name=fn.__name__, asset=AssetKey([study, asset_name]), blocking=blocking,
                           description=description)
            for fn, blocking, description in CHECKS[asset_name]]


def run_checks(study: str, asset_name: str, value) -> list[AssetCheckResult]:
    """Every check of the study's ``asset_name`` on the value the asset just produced."""
    results = []
    for fn, _, _ in CHECKS[asset_name]:
        result = fn(value)
        results.append(AssetCheckResult(check_name=fn.__name__, asset_key=AssetKey([study, asset_name]),
                                        passed=result.passed, severity=result.severity, metadata=result.metadata))
    return results
