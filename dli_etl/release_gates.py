"""Release gates: what must hold before a release is published, whatever the data quality.

Data errors are the sites' to fix and never block a release; these gates catch the pipeline losing
records, which must never happen. Each gate is a plain function returning a ``GateResult``: the plain
pipeline refuses to publish when one fails, and the Dagster assets report the same results as blocking
asset checks.

- ``dm_subjects``: DM holds exactly the subjects with a curated enrollment record;
- ``sdtm_reconciles``: per subject and domain, curated records = SDTM records (``specs/reconciliation.yaml``);
- ``endpoint_populations``: every endpoint's N equals the count of its pre-specified population.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dli_etl.findings import Finding, empty_findings, findings_frame
from dli_etl.sdtm.findings_domains import lab_result_reported, lb_tests
from dli_etl.sdtm.mapping_spec import select_rows
from dli_etl.specs import load_spec


@dataclass(frozen=True)
class GateResult:
    """One gate: whether it passed, how many things it checked, and a finding per failure."""

    gate: str
    passed: bool
    checked: int
    findings: pd.DataFrame = field(default_factory=empty_findings)


def _result(gate: str, checked: int, found: list[Finding]) -> GateResult:
    return GateResult(gate, not found, checked, findings_frame(found) if found else empty_findings())


def _site_subject(study: str, usubjid: str) -> tuple[str, str]:
    rest = str(usubjid)[len(study) + 1:] if str(usubjid).startswith(study + "-") else str(usubjid)
    site, _, subjid = rest.partition("-")
    return site, subjid


def dm_subjects(study: str, enrolled: frozenset[str] | set[str], dm: pd.DataFrame) -> GateResult:
    """DM subjects = subjects enrolled in the sources (no subject lost, none invented)."""
    in_dm = set(dm["USUBJID"].dropna()) if not dm.empty else set()
    found = []
    for usubjid, detail in [*((u, "missing") for u in sorted(set(enrolled) - in_dm)),
                            *((u, "present without an enrollment record") for u in sorted(in_dm - set(enrolled)))]:
        site, subjid = _site_subject(study, usubjid)
        found.append(Finding("GATE-DM-SUBJECTS", study, site, subjid, "DM", "USUBJID", usubjid, "", detail,
                             src_locator=f"DM:{usubjid}"))
    return _result("dm_subjects", len(enrolled), found)


def _lab_results(frame: pd.DataFrame) -> pd.Series:
    """Per row: how many analytes were reported (a value, or verbatim text for a quarantined one)."""
    count = pd.Series(0, index=frame.index)
    for test in lb_tests():
        if test["field"] in frame.columns:
            count = count + lab_result_reported(frame, test["field"]).astype(int)
    return count


def sdtm_reconciles(study: str, curated: dict[str, pd.DataFrame], domains: dict[str, pd.DataFrame]) -> GateResult:
    """Per subject, curated records of each source form = SDTM records of the domain they map to."""
    found: list[Finding] = []
    checked = 0
    for entry in load_spec("reconciliation"):
        expected = pd.Series(dtype="int64")
        forms = []
        for source in entry["sources"]:
            frame = curated.get(source["form"])
            if frame is None or frame.empty:
                continue
            if source.get("where"):
                frame = select_rows(frame, source["where"])
            weights = _lab_results(frame) if source.get("per") == "lab_result" else pd.Series(1, index=frame.index)
            expected = expected.add(weights.groupby(frame["usubjid"].astype(object)).sum(), fill_value=0)
            forms.append(source["form"])
        domain = domains.get(entry["domain"], pd.DataFrame())
        if not domain.empty and entry.get("where"):
            domain = domain.query(entry["where"], engine="python")
        actual = domain.groupby(domain["USUBJID"].astype(object)).size() if not domain.empty else pd.Series(dtype="int64")
        if not forms and actual.empty:
            continue
        both = pd.concat([expected.rename("expected"), actual.rename("actual")], axis=1).fillna(0).astype(int)
        checked += int(both["expected"].sum())
        label = f"{entry['domain'].upper()}" + (f" where {entry['where']}" if entry.get("where") else "")
        for usubjid, row in both[both["expected"] != both["actual"]].iterrows():
            site, subjid = _site_subject(study, str(usubjid))
            found.append(Finding("GATE-SDTM-RECONCILE", study, site, subjid, "+".join(forms), entry["domain"].upper(),
                                 str(usubjid), str(row["expected"]), f"{row['actual']} record(s) in {label}",
                                 src_locator=f"{entry['domain'].upper()}:{usubjid}"))
    return _result("sdtm_reconciles", checked, found)


def _population_counts(adsl: pd.DataFrame, flag: str) -> tuple[pd.Series, int]:
    part = adsl[adsl[flag] == "Y"]
    groups = part["ARMCD"].astype("string").fillna("NOT ASSIGNED")
    return groups.value_counts(), len(part)


def endpoint_populations(adams: dict[str, dict[str, pd.DataFrame]], endpoints: pd.DataFrame) -> GateResult:
    """Every ITT and safety endpoint row counts its whole population: N per arm = subjects of the arm in
    the population, N of a between-arm test = the whole population; pooled DLI rows count the safety
    population of their study (or of both)."""
    from dli_etl.endpoints.protocol import ITT, SAFETY

    found: list[Finding] = []
    counts: dict[tuple[str, str], tuple[pd.Series, int]] = {}
    for study, adam in adams.items():
        adsl = adam["adsl"]
        if adsl.empty:
            continue
        counts[(study, ITT)] = _population_counts(adsl, "ITTFL")
        counts[(study, SAFETY)] = _population_counts(adsl, "SAFFL")
    checked = 0
    for _, row in endpoints.iterrows():
        study, group, population = str(row["STUDYID"]), str(row["ANALYSIS_GROUP"]), str(row["POPULATION"])
        if study == "POOLED":
            studies = [s for s, _ in counts if s == group] if group in adams else [s for s in adams if (s, SAFETY) in counts]
            expected = sum(counts[(s, SAFETY)][1] for s in set(studies))
            label = "safety"
        elif (study, population) in counts:
            by_arm, total = counts[(study, population)]
            expected = total if " vs " in group else int(by_arm.get(group, 0))
            label = population
        else:
            continue  # a sub-population by definition (e.g. subjects in CR)
        checked += 1
        if pd.isna(row["N"]) or int(row["N"]) != expected:
            found.append(Finding("GATE-ENDPOINT-N", study, form=group, field=str(row["ENDPOINT"]),
                                 value=str(row["N"]), expected=str(expected), detail=label,
                                 src_locator=f"endpoints:{study}:{group}:{row['ENDPOINT']}:{row['MEASURE']}"))
    return _result("endpoint_populations", checked, found)


class ReleaseBlocked(RuntimeError):
    """A release gate failed: the pipeline lost or invented records, so nothing is published."""

    def __init__(self, gates: list[GateResult]):
        failed = [g for g in gates if not g.passed]
        self.gates = failed
        lines = [f"{g.gate}: {len(g.findings)} failure(s), e.g. {g.findings['message'].iloc[0]}" for g in failed]
        super().__init__("release blocked by failed release gates; nothing was published.\n  " + "\n  ".join(lines))
