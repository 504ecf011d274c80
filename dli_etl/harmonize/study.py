"""Harmonize one study: every form, the cross-form rules, value-level quarantine, the schema guard, and
row and value accounting.

An error nulls the value it names and the record stays (``harmonize.quarantine``); only records that
cannot be attributed to a subject are held back whole. For every form and source file: rows in = rows
curated + rows held back, and values read = values curated + values nulled + values held back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from dli_etl.findings import Finding, empty_findings, findings_frame
from dli_etl.harmonize.forms import harmonize_form
from dli_etl.harmonize.quarantine import (
    ACCOUNTING_COLUMNS,
    QUARANTINED_VALUE_COLUMNS,
    QuarantinedForm,
    quarantine_form,
    value_accounting,
)
from dli_etl.harmonize.raw_cache import RawFormCache
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.lineage import cell_locator
from dli_etl.rules.ae_seriousness import seriousness_findings
from dli_etl.rules.chemo_regimen import regimen_findings
from dli_etl.rules.ctcae_consistency import ctcae_findings
from dli_etl.rules.death_consistency import (
    after_last_contact_findings,
    death_without_fatal_ae_findings,
    recovered_after_death_findings,
)
from dli_etl.rules.dli_dose import dose_findings
from dli_etl.rules.dli_indication import preemptive_dli_findings, repeat_dli_findings
from dli_etl.rules.eligibility import (
    consent_after_hsct_findings,
    early_window_findings,
    eligibility_findings,
    missing_criterion_findings,
)
from dli_etl.rules.event_answers import event_answer_findings, event_recorded
from dli_etl.rules.gvhd_consistency import magic_findings, nih_findings
from dli_etl.rules.identity import (
    duplicate_subject_findings,
    missing_subject_findings,
    unknown_subject_findings,
)
from dli_etl.rules.ist_duration import ist_duration_findings
from dli_etl.rules.lab_duplicates import lab_duplicate_findings
from dli_etl.rules.mrd import mrd_positivity_column
from dli_etl.rules.plerixafor import plerixafor_findings
from dli_etl.rules.response_consistency import response_blast_findings
from dli_etl.rules.treatment_timeline import (
    after_death_findings,
    chemo_timing_findings,
    dli_timeline_findings,
    end_before_start_findings,
    plerixafor_timing_findings,
)
from dli_etl.schemas.forms import DATAFRAME_CHECK_FIELDS, FORM_SCHEMAS
from dli_etl.specs import load_spec

HARMONIZED_FORMS = ("enrollment", "randomization", "transplant", "chemo", "dli", "immunosuppression", "plerixafor",
                    "cbc", "chemistry", "mrd", "agvhd", "cgvhd", "adverse_event", "response", "followup")
# form -> its event date, checked against the death date
_DATED_FORMS = {"dli": "dlidt", "chemo": "chemo_start", "plerixafor": "plx_date", "cbc": "lbdtc",
                "chemistry": "lbdtc", "mrd": "lbdtc", "agvhd": "assessment_date", "cgvhd": "assessment_date", "adverse_event": "aestdt",
                "response": "rsdt"}
_START_END = {"chemo": ("chemo_start", "chemo_end"), "immunosuppression": ("ist_start", "ist_end"),
              "adverse_event": ("aestdt", "aeendt")}
__all__ = ["ACCOUNTING_COLUMNS", "HARMONIZED_FORMS", "HarmonizeResult", "harmonize_study"]


@dataclass
class HarmonizeResult:
    """One study's harmonized forms.

    ``curated``: every attributable record, bad values nulled; ``quarantine``: records held back whole
    (with ``quarantine_reasons``); ``quarantined_values``: one row per nulled value with its verbatim and
    the rules that nulled it; ``enrolled``: every subject with a curated enrollment record (one held back as
    unattributable is in ``quarantine`` instead)."""

    study: str
    curated: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: pd.DataFrame = field(default_factory=empty_findings)
    accounting: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ACCOUNTING_COLUMNS)))
    staged: dict[str, pd.DataFrame] = field(default_factory=dict)  # ingested forms not harmonized yet
    quarantined_values: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(QUARANTINED_VALUE_COLUMNS), dtype="string"))
    enrolled: frozenset[str] = frozenset()


def _locator_factory(ingest: IngestResult) -> Callable[[str], Callable[[pd.Series, str], str]]:
    columns = {(raw.src_file, raw.form): raw.source_columns for raw in ingest.forms}

    def for_form(form: str) -> Callable[[pd.Series, str], str]:
        def locate(row: pd.Series, field_name: str) -> str:
            source = columns.get((str(row["src_file"]), form), {}).get(field_name, field_name)
            return cell_locator(str(row["src_format"]), str(row["src_locator"]), source)
        return locate

    return for_form


def _schema_findings(form: str, frame: pd.DataFrame) -> list[Finding]:
    schema = FORM_SCHEMAS.get(form)
    if schema is None or frame.empty:
        return []
    try:
        schema.validate(frame, lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    out = []
    for _, case in cases.iterrows():
        idx = case["index"]
        if idx is None or pd.isna(idx) or idx not in frame.index:
            row = frame.iloc[0]
            out.append(Finding("SCHEMA-CHECK-FAILED", str(row["study"]), form=form, field=str(case["column"]),
                               value=str(case["failure_case"]), expected=str(case["check"])))
            continue
        row = frame.loc[idx]
        column = str(case["column"]) if case["column"] is not None else DATAFRAME_CHECK_FIELDS.get(str(case["check"]), "")
        out.append(Finding("SCHEMA-CHECK-FAILED", str(row["study"]), str(row["site"]), str(row["subjid"]), form,
                           column, str(case["failure_case"]), str(case["check"]), "", str(row["src_file"]),
                           str(row["src_sha256"]), str(row["src_locator"]), str(row["row_id"])))
    return out


def harmonize_study(ingest: IngestResult, accepted: frozenset[str] | set[str] = frozenset(),
                    cache_dir: Path | None = None) -> HarmonizeResult:
    """Typed forms, findings, value-level quarantine and accounting for one study.

    ``accepted``: finding ids whose query the data manager accepted (value confirmed correct); they stay
    in the findings table but no longer null their value or hold their record. ``cache_dir``: keep each
    source's typed forms there and reuse the unchanged ones (``harmonize.raw_cache``).
    """
    study = ingest.study
    studies = load_spec("studies")
    params = studies[study]
    locate_for = _locator_factory(ingest)
    findings: list[Finding] = list(ingest.findings)
    frames: dict[str, pd.DataFrame] = {}
    verbatims: dict[str, pd.DataFrame] = {}
    cache = RawFormCache(Path(cache_dir)) if cache_dir is not None else None
    for form in HARMONIZED_FORMS:
        raws = ingest.frames_for(form)
        if not raws:
            continue
        frame, found, verbatim = harmonize_form(raws, form, cache)
        frames[form] = frame
        verbatims[form] = verbatim
        findings += found
    enrolled = set(frames["enrollment"]["usubjid"]) if "enrollment" in frames else set()
    for form, frame in frames.items():
        spec = load_spec("forms")[form]
        findings += missing_subject_findings(frame, form, locate_for(form))
        if spec.get("one_per_subject"):
            findings += duplicate_subject_findings(frame, form, locate_for(form), verbatims[form])
        if form != "enrollment":
            findings += unknown_subject_findings(frame, form, enrolled, locate_for(form))
        if form in ("cbc", "chemistry"):
            analytes = [name for name, f in spec["fields"].items() if f["type"] == "lab"]
            findings += lab_duplicate_findings(frame, form, analytes, locate_for(form))
        if form == "mrd":
            findings += lab_duplicate_findings(frame, form, ["mrd_result"], locate_for(form),
                                               same_test=("mrd_method", "mrd_marker", "specimen"))
    if "dli" in frames:
        dli = frames["dli"]
        # PyYAML reads "1.0e8" as text (YAML 1.1 wants "1.0e+8"), so numbers are cast here.
        targets = {k: float(v) for k, v in params.get("dli_dose", {}).items()}
        ranges = {k: [float(x) for x in v] for k, v in studies["dose_ranges"].items()}
        share = tuple(float(x) for x in studies["cd3_share_of_mnc"])
        findings += dose_findings(dli, targets, ranges, float(studies["dose_deviation_tolerance"]),
                                  float(studies["dose_power_of_ten_ratio"]), locate_for("dli"), share)
        findings += dli_timeline_findings(dli, frames.get("transplant", pd.DataFrame()),
                                          frames.get("enrollment", pd.DataFrame()),
                                          frames.get("randomization", pd.DataFrame()),
                                          params.get("prophylactic_window_days"), locate_for("dli"))
    findings += _clinical_findings(study, params, frames, locate_for)
    if "enrollment" in frames and params.get("eligibility"):
        findings += missing_criterion_findings(frames["enrollment"], verbatims["enrollment"], params["eligibility"],
                                               locate_for("enrollment"))
    result = HarmonizeResult(study)
    table = findings_frame(findings)
    accounting, nulled = [], []
    # each form's findings once: filtering the whole study's table per form, three times per form, was a
    # third of quarantine's time at 1x
    by_form = dict(iter(table.groupby("form", sort=False))) if not table.empty else {}
    guards: list[pd.DataFrame] = []
    for form, frame in frames.items():
        form_findings = by_form.get(form, table.iloc[0:0])
        quarantined = _with_mrd_positivity(form, quarantine_form(frame, verbatims[form], form_findings, form, accepted),
                                           studies)
        guard = _schema_findings(form, quarantined.curated)
        if guard:
            # the guard sees curated rows renumbered; its findings carry row_id, so they apply to ``frame``
            guards.append(findings_frame(guard))
            form_findings = pd.concat([form_findings, guards[-1]], ignore_index=True)
            quarantined = _with_mrd_positivity(form, quarantine_form(frame, verbatims[form], form_findings, form, accepted),
                                               studies)
        result.curated[form] = quarantined.curated
        result.quarantine[form] = quarantined.held_back
        nulled.append(quarantined.nulled)
        accounting.append(value_accounting(study, form, frame, verbatims[form], quarantined, form_findings))
    if guards:
        table = pd.concat([table, *guards], ignore_index=True)
    # the subjects DM must hold: enrollment records that are curated. One held back (an unknown site, a
    # missing id) is not attributable; it waits in quarantine with its reasons and must not block the release
    curated_enrollment = result.curated.get("enrollment", pd.DataFrame(columns=["usubjid"]))
    result.enrolled = frozenset(u for u in curated_enrollment["usubjid"] if isinstance(u, str) and not u.endswith("-"))
    result.findings = table.reset_index(drop=True)
    if accounting:
        result.accounting = pd.concat(accounting, ignore_index=True)
    if nulled:
        result.quarantined_values = pd.concat(nulled, ignore_index=True).astype("string")
    for raw in ingest.forms:
        if raw.form not in frames:
            result.staged[raw.form] = pd.concat([result.staged.get(raw.form, pd.DataFrame()), raw.frame],
                                                ignore_index=True)
    return result


def _with_mrd_positivity(form: str, quarantined: QuarantinedForm, studies: dict) -> QuarantinedForm:
    """MRD positivity is derived after quarantine, so a nulled result gives no positivity."""
    if form != "mrd":
        return quarantined
    curated = quarantined.curated
    return QuarantinedForm(curated.assign(mrd_positive=mrd_positivity_column(curated, studies["mrd_positivity"])),
                           quarantined.held_back, quarantined.nulled)


def _clinical_findings(study: str, params: dict, frames: dict[str, pd.DataFrame],
                       locate_for: Callable[[str], Callable[[pd.Series, str], str]]) -> list[Finding]:
    """Cross-field and cross-form clinical rules of one study."""
    empty = pd.DataFrame()
    out: list[Finding] = []
    followup = frames.get("followup", empty)
    deaths = pd.DataFrame(columns=["usubjid", "death_date"])
    if not followup.empty:
        died = followup[event_recorded(followup["death"], followup["death_date"], followup["death_cause"])
                        & followup["death_date"].notna()]
        deaths = died.drop_duplicates("usubjid")[["usubjid", "death_date"]]
    for form, date_field in _DATED_FORMS.items():
        if form in frames:
            out += after_death_findings(frames[form], form, date_field, deaths, locate_for(form))
            out += after_last_contact_findings(frames[form], form, date_field, followup, locate_for(form))
    ae = frames.get("adverse_event", empty)
    if not ae.empty:
        out += after_death_findings(ae, "adverse_event", "aeendt", deaths, locate_for("adverse_event"))
        out += recovered_after_death_findings(ae, deaths, locate_for("adverse_event"))
        out += seriousness_findings(ae, locate_for("adverse_event"))
    if not followup.empty:
        out += event_answer_findings(followup, locate_for("followup"))
        out += death_without_fatal_ae_findings(followup, ae, load_spec("studies")["disease_death_causes"],
                                               locate_for("followup"))
    for form, (start, end) in _START_END.items():
        if form in frames:
            out += end_before_start_findings(frames[form], form, start, end, locate_for(form))
    dli = frames.get("dli", empty)
    if "chemo" in frames and params.get("chemo_to_dli_days"):
        out += chemo_timing_findings(frames["chemo"], dli, params["chemo_to_dli_days"], locate_for("chemo"))
    if "plerixafor" in frames and params.get("plerixafor_days_after_dli"):
        out += plerixafor_timing_findings(frames["plerixafor"], dli, params["plerixafor_days_after_dli"],
                                          locate_for("plerixafor"))
    if "plerixafor" in frames:
        out += plerixafor_findings(frames["plerixafor"], params, locate_for("plerixafor"))
    if "agvhd" in frames:
        out += magic_findings(frames["agvhd"], locate_for("agvhd"))
    if "cgvhd" in frames:
        out += nih_findings(frames["cgvhd"], locate_for("cgvhd"))
    if "chemo" in frames and params.get("chemo_regimens"):
        out += regimen_findings(frames["chemo"], params["chemo_regimens"], locate_for("chemo"))
    if "immunosuppression" in frames and params.get("ist_weeks"):
        out += ist_duration_findings(frames["immunosuppression"], frames.get("transplant", empty), followup,
                                     params["ist_weeks"], locate_for("immunosuppression"))
    mrd = frames.get("mrd", empty)
    if not mrd.empty:
        mrd = mrd.assign(mrd_positive=mrd_positivity_column(mrd, load_spec("studies")["mrd_positivity"]))
    if params.get("preemptive_dli") and not dli.empty:
        rule = params["preemptive_dli"]
        out += preemptive_dli_findings(dli, frames.get("randomization", empty), mrd, rule["arm"],
                                       int(rule["mrd_positive_within_days"]), locate_for("dli"))
    if params.get("repeat_dli") and not dli.empty:
        rule = params["repeat_dli"]
        out += repeat_dli_findings(dli, frames.get("response", empty), mrd, list(rule["qualifying"]),
                                   list(rule["qualifying_with_mrd"]), locate_for("dli"))
    if "response" in frames and params.get("response_criteria"):
        out += response_blast_findings(frames["response"], dli, params["response_criteria"], locate_for("response"))
    if "adverse_event" in frames:
        out += ctcae_findings(frames["adverse_event"], frames.get("cbc"), set(deaths["usubjid"]),
                              locate_for("adverse_event"))
    if "enrollment" in frames:
        out += eligibility_findings(frames["enrollment"], params.get("eligibility", {}), locate_for("enrollment"))
        if params.get("early_window") and "transplant" in frames:
            out += early_window_findings(frames["transplant"], frames.get("randomization", empty),
                                         frames.get("adverse_event", empty),
                                         frames.get("agvhd", empty), params["early_window"], locate_for)
        if params.get("consent_before_hsct") and "transplant" in frames:
            out += consent_after_hsct_findings(frames["enrollment"], frames["transplant"], locate_for("enrollment"))
    return out
