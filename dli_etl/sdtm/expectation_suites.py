"""Great Expectations suites for the SDTM domains: built from the variable metadata and CT (specs as
data), stored as JSON in ``expectations/`` (installed as ``dli_etl.expectations``), run on every build.

Failures become findings; Data Docs are written beside the HTML report. GX is imported only when a
suite runs, because its import alone takes seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from types import ModuleType

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.run_cache import replace_entry
from dli_etl.sdtm.algorithms import variable_metadata
from dli_etl.sdtm.controlled_terms import codelists

ISO_8601 = r"^\d{4}(?:-(?:\d{2}|-)(?:-(?:\d{2}|-))?)?(?:T\d{2}(?::\d{2}(?::\d{2})?)?)?$"
SUITE_DOMAINS = ("DM", "IE", "EX", "SUPPEX", "MH", "PR", "SUPPPR", "CM", "LB", "AE", "SUPPAE", "FA", "RS", "DS", "DD",
                 "TS", "TA", "TE", "TI", "SV", "DV", "RELREC")
_START_END = {"EX": ("EXSTDTC", "EXENDTC"), "CM": ("CMSTDTC", "CMENDTC"), "AE": ("AESTDTC", "AEENDTC")}
MAX_ROWS_PER_FAILURE = 50


def build_suite(domain: str) -> dict:
    """The suite of one domain as plain JSON (type + kwargs per expectation)."""
    meta = variable_metadata()
    rows = meta[meta["domain"] == domain]
    lists = codelists()
    expectations: list[dict] = [{"type": "expect_table_columns_to_match_ordered_list",
                                 "kwargs": {"column_list": rows["variable"].tolist()}}]
    for _, var in rows.iterrows():
        name = var["variable"]
        if var["core"] == "Req":
            expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": name}})
        codelist = var["codelist"]
        if codelist and codelist in lists and not lists[codelist][0]:  # non-extensible: exact set
            expectations.append({"type": "expect_column_values_to_be_in_set",
                                 "kwargs": {"column": name, "value_set": sorted(lists[codelist][1])}})
        if name.endswith("DTC"):
            expectations.append({"type": "expect_column_values_to_match_regex", "kwargs": {"column": name, "regex": ISO_8601}})
    seq = f"{domain}SEQ"
    if seq in set(rows["variable"]) and "USUBJID" in set(rows["variable"]):
        expectations.append({"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["USUBJID", seq]}})
    if domain == "DM":
        expectations.append({"type": "expect_column_values_to_be_unique", "kwargs": {"column": "USUBJID"}})
    if domain in _START_END:
        start, end = _START_END[domain]
        expectations.append({"type": "expect_column_pair_values_a_to_be_greater_than_b",
                             "kwargs": {"column_A": end, "column_B": start, "or_equal": True,
                                        "ignore_row_if": "either_value_is_missing"}})
    return {"name": f"sdtm_{domain.lower()}", "expectations": expectations,
            "meta": {"generated_by": "dli_etl.sdtm.expectation_suites.build_suite", "domain": domain}}


def write_suites(folder: Path) -> list[Path]:
    """(Re)write every suite JSON file; ``scripts/build_expectation_suites.py`` calls this."""
    paths = []
    for domain in SUITE_DOMAINS:
        path = Path(folder) / f"sdtm_{domain.lower()}.json"
        path.write_text(json.dumps(build_suite(domain), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def load_suite(domain: str) -> dict:
    text = (resources.files("dli_etl.expectations") / f"sdtm_{domain.lower()}.json").read_text(encoding="utf-8")
    return json.loads(text)


EXPECTATION_COLUMNS = ("study", "domain", "expectation", "column", "success", "element_count", "unexpected_count",
                       "unexpected_percent", "observed_value", "unexpected_examples")


def validate_domains(study: str, domains: dict[str, pd.DataFrame], docs_dir: Path | None = None,
                     details: list[dict] | None = None, cache_dir: Path | None = None
                     ) -> tuple[list[Finding], dict[str, bool], Path | None]:
    """Run each domain's suite; return findings, success per domain and the Data Docs index. With
    ``details``, append one row per expectation (``EXPECTATION_COLUMNS``): what the report shows in place
    of Data Docs, which need the internet to render.

    With ``cache_dir`` (and no Data Docs), a domain whose content and suite are the same as in an earlier
    run takes that run's outcome instead of running GX again: after a change at one site most domains are
    unchanged, and when none changed GX is not even imported (its import alone takes seconds)."""
    findings: list[Finding] = []
    success: dict[str, bool] = {}
    pending: list[tuple[str, pd.DataFrame, Path | None]] = []
    for name, frame in domains.items():
        domain = name.upper()
        if domain not in SUITE_DOMAINS:
            continue
        cached = None
        if cache_dir is not None and docs_dir is None:
            cached = Path(cache_dir) / f"{domain}-{_content_key(domain, frame)}.json"
            outcome = _cached_outcome(cached)
            if outcome is not None:
                findings += [Finding(**f) for f in outcome["findings"]]
                success[domain] = bool(outcome["success"])
                if details is not None:
                    details.extend(outcome["details"])
                continue
        pending.append((domain, frame, cached))
    if not pending and docs_dir is None:
        return findings, success, None
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(f"{study}_sdtm")
    stored = docs_dir is not None
    if stored:
        context.add_data_docs_site(site_name="dli_etl", site_config={
            "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}})
    else:
        # Without Data Docs nothing needs GX's stores: one asset serves every domain (its frame is a batch
        # parameter) and each suite is validated on its batch directly. Checkpoints, validation definitions
        # and per-domain assets were saved, re-serialised and checked for freshness on every run: 40% of
        # GX's time after import at 1x, for results that are the same.
        whole = source.add_dataframe_asset("sdtm").add_batch_definition_whole_dataframe("all")
    # Data Docs are built once at the end: an UpdateDataDocsAction per checkpoint rebuilds the whole site
    # each time, which is quadratic in the number of domains.
    actions: list = []
    for domain, frame, cached in pending:
        spec = load_suite(domain)
        keys = [c for c in ("USUBJID", f"{domain}SEQ") if c in frame.columns]
        complete = {"result_format": "COMPLETE", **({"unexpected_index_column_names": keys} if keys else {})}
        data = {"dataframe": frame.reset_index(drop=True)}
        # Pass or fail first (BOOLEAN_ONLY computes no unexpected lists: 40% of GX's time at 1x), then the
        # details (rows, values, counts) only for the expectations that failed. Data Docs show every
        # result, so with them each expectation is run once in full.
        if stored:
            definition = source.add_dataframe_asset(domain).add_batch_definition_whole_dataframe("all")
            first = _run_checkpoint(context, study, domain, definition, spec["expectations"], actions, complete, data)
            results = list(first.results)
        else:
            batch = whole.get_batch(batch_parameters=data)
            first = batch.validate(_suite(study, domain, "", spec["expectations"]),
                                   result_format={"result_format": "BOOLEAN_ONLY"})
            results = list(first.results)
            failing = [{"type": item.expectation_config.type, "kwargs": dict(item.expectation_config.kwargs)}
                       for item in results if not item.success]
            if failing:
                # GX orders results its own way: the full results are matched back by configuration
                again = batch.validate(_suite(study, domain, ".failed", failing), result_format=complete)
                full = {_config_key(item.expectation_config): item for item in again.results}
                results = [full.get(_config_key(item.expectation_config), item) for item in results]
        success[domain] = bool(first.success)
        mine = [f for item in results if not item.success for f in _failure_findings(study, domain, item, keys)]
        rows = [expectation_row(study, domain, item, len(frame)) for item in results]
        findings += mine
        if details is not None:
            details.extend(rows)
        if cached is not None:
            text = json.dumps({"success": success[domain], "findings": [asdict(f) for f in mine], "details": rows},
                              default=str)
            replace_entry(cached, text.encode("utf-8"))
    index = None
    if docs_dir is not None:
        context.build_data_docs(site_names=["dli_etl"])
        candidate = Path(docs_dir) / "index.html"
        index = candidate if candidate.exists() else None
    return findings, success, index


def import_great_expectations() -> ModuleType:
    """GX, imported. Its import pulls in ``scipy.stats`` for expectations dli-etl does not use (a quarter or
    more of the import's time): that module is loaded only if something reads from it."""
    if "great_expectations" not in sys.modules and "scipy.stats" not in sys.modules:
        import scipy

        spec = importlib.util.find_spec("scipy.stats")
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
            stats = importlib.util.module_from_spec(spec)
            sys.modules["scipy.stats"] = stats
            spec.loader.exec_module(stats)
            # as an attribute too: ``from scipy import stats`` asks the package first, and scipy's own lazy
            # ``__getattr__`` would go through the import system, which reads the module and so loads it
            scipy.stats = stats
    import great_expectations

    return great_expectations


def _cached_outcome(path: Path) -> dict | None:
    """A stored outcome, or None when there is none or it cannot be read (pruned by a run sharing the
    cache, cut short): the domain is validated again."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _content_key(domain: str, frame: pd.DataFrame) -> str:
    """What a domain's outcome depends on: its suite, its columns and types, every value, and GX's version."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(json.dumps([version("great_expectations"), load_suite(domain)], sort_keys=True).encode("utf-8"))
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:24]


def expectation_table(details: list[dict]) -> pd.DataFrame:
    """The rows ``validate_domains`` appended, typed: counts as integers (missing where GX gives none)."""
    table = pd.DataFrame(details, columns=list(EXPECTATION_COLUMNS))
    return table.astype({"element_count": "Int64", "unexpected_count": "Int64", "unexpected_percent": "Float64",
                         "success": bool})


def expectation_row(study: str, domain: str, item, rows_checked: int | None = None) -> dict:
    """One expectation's outcome as plain values: counts, the observed value, a few unexpected values.

    A passing expectation run as BOOLEAN_ONLY carries no counts and no observed value; ``rows_checked``
    fills the counts of the row-wise (map) expectations, where passing means no unexpected row."""
    config, result = item.expectation_config, item.result or {}
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", [])[:3]) or \
        f"{config.kwargs.get('column_A', '')},{config.kwargs.get('column_B', '')}".strip(",")
    examples = result.get("partial_unexpected_list") or []
    observed = result.get("observed_value")
    percent = result.get("unexpected_percent")
    count, elements = result.get("unexpected_count"), result.get("element_count")
    if not result and item.success and rows_checked is not None and not config.type.startswith("expect_table_"):
        count, elements = 0, rows_checked  # the percent is of non-null values, which GX did not count
    return {"study": study, "domain": domain, "expectation": config.type, "column": column,
            "success": bool(item.success), "element_count": elements, "unexpected_count": count,
            "unexpected_percent": None if percent is None else round(float(percent), 2),
            "observed_value": "" if observed is None else str(observed)[:200],
            "unexpected_examples": ", ".join(dict.fromkeys(map(str, examples)))[:200]}


def _config_key(config) -> str:
    return json.dumps([config.type, config.kwargs], sort_keys=True, default=str)


def _suite(study: str, domain: str, suffix: str, expectations: list[dict]):
    """A GX ``ExpectationSuite`` from the JSON form (type + kwargs per expectation)."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationSuite(name=f"{study}.sdtm_{domain.lower()}{suffix}",
                            expectations=[ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"]) for e in expectations])


def _run_checkpoint(context, study: str, domain: str, batch_definition, expectations: list[dict], actions: list,
                    result_format: dict, data: dict):
    """Run ``expectations`` on one domain through a checkpoint kept in the context (what Data Docs are
    built from); the domain's validation result."""
    import great_expectations as gx

    suite = context.suites.add(_suite(study, domain, "", expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{study}.{domain}", data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{study}.{domain}.checkpoint", validation_definitions=[definition], actions=actions,
        result_format=result_format))
    return next(iter(checkpoint.run(batch_parameters=data).run_results.values()))


def _failure_findings(study: str, domain: str, item, keys: list[str]) -> list[Finding]:
    config = item.expectation_config
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", [])[:3]) or \
        config.kwargs.get("column_A", "")
    rows = item.result.get("unexpected_index_list") or []
    values = item.result.get("partial_unexpected_list") or []
    out = []
    if not rows or not keys:
        shown = ", ".join(map(str, values[:5])) or str(item.result.get("observed_value", ""))[:200]
        return [Finding("GX-EXPECTATION-FAILED", study, form=domain, field=column, value=shown,
                        expected=config.type, src_locator=f"{domain}:{config.type}:{column}")]
    for row in rows[:MAX_ROWS_PER_FAILURE]:
        usubjid = str(row.get("USUBJID", "")) if isinstance(row, dict) else ""
        seq = row.get(f"{domain}SEQ", "") if isinstance(row, dict) else ""
        value = row.get(column, "") if isinstance(row, dict) and column in row else ""
        parts = usubjid.split("-")
        site, subjid = (parts[1], "-".join(parts[2:])) if len(parts) >= 3 else ("", usubjid)
        out.append(Finding("GX-EXPECTATION-FAILED", study, site, subjid, domain, column, str(value), config.type, "",
                           src_locator=f"{domain}:{usubjid}:{seq}:{column}"))
    return out
