"""One findings table for every problem: rule, severity, Kahn category, where, what, and the source cell.

Findings are rows, never exceptions. Rules and their messages are data (``specs/rules.yaml``); this
module fills the message template and gives each finding a stable id so the same problem keeps its id
across runs (the key of the data manager's query).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from dli_etl.specs import parse_yaml

FINDING_COLUMNS = (
    "finding_id", "rule_id", "severity", "category", "study", "site", "subjid", "form", "field", "value",
    "expected", "detail", "message", "src_file", "src_sha256", "src_locator", "row_id", "action",
    "root_finding_id",
)
SEVERITIES = ("error", "warning", "info")
ACTIONS = ("null", "hold", "keep")
AUDIENCES = ("site", "data_manager")  # who can fix it: the site at its source, or the data manager (profile, mapping, pipeline)
LANGUAGES = ("en", "zh")
# what a site message may name: never an internal field name, always the site's own words
SITE_PLACEHOLDERS = ("value", "expected", "detail", "item", "form_label")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    category: str
    message: str
    action: str = "keep"  # what an error does to the data: null the value, hold the record, or keep it
    audience: str = "site"
    why: str = ""
    source: str = ""
    site_messages: tuple[tuple[str, str], ...] = ()  # (language, template) for the site's workbook
    consequence_of_rules: tuple[str, ...] = ()  # a finding of these rules on the same subject is the root cause
    consequence_of_fields: tuple[str, ...] = ()  # an error on this form.field of the same subject is the root cause

    def site_message(self, language: str) -> str:
        """The template the site reads, in its language (English when the language has none)."""
        messages = dict(self.site_messages)
        return messages.get(language) or messages.get("en") or self.message


@lru_cache(maxsize=1)
def rule_catalogue() -> dict[str, Rule]:
    """Every rule a finding can name, from ``specs/rules.yaml``."""
    text = (resources.files("dli_etl") / "specs" / "rules.yaml").read_text(encoding="utf-8")
    data = parse_yaml(text)
    rules = {}
    for rid, spec in data.items():
        default = "null" if spec["severity"] == "error" else "keep"
        action = spec.get("action", default)
        if action not in ACTIONS or (spec["severity"] != "error" and action != "keep"):
            raise ValueError(f"rules.yaml: {rid} has action {action!r}; errors take one of {ACTIONS}, others keep")
        audience = spec.get("audience", "site")
        site = spec.get("site") or {}
        if audience not in AUDIENCES or (audience == "site" and set(site) != set(LANGUAGES)):
            raise ValueError(f"rules.yaml: {rid} must name an audience of {AUDIENCES}; a site rule needs a site "
                             f"message in each of {LANGUAGES}")
        roots = spec.get("consequence_of") or {}
        rules[rid] = Rule(rid, spec["severity"], spec["category"], spec["message"], action, audience,
                          spec.get("why", ""), spec.get("source", ""), tuple(sorted(site.items())),
                          tuple(roots.get("rules", ())), tuple(roots.get("fields", ())))
    return rules


def render_site_message(rule_id: str, language: str, value: str = "", expected: str = "", detail: str = "",
                        item: str = "", form_label: str = "") -> str:
    """A finding told to the site in its language, naming the item as the site knows it."""
    template = rule_catalogue()[rule_id].site_message(language)
    try:
        return template.format(value=value, expected=expected, detail=detail, item=item, form_label=form_label)
    except (KeyError, IndexError, ValueError):
        return template


@dataclass(frozen=True)
class Finding:
    rule_id: str
    study: str
    site: str = ""
    subjid: str = ""
    form: str = ""
    field: str = ""
    value: str = ""
    expected: str = ""
    detail: str = ""
    src_file: str = ""
    src_sha256: str = ""
    src_locator: str = ""
    row_id: str = ""


def stable_finding_id(rule_id: str, study: str, src_file: str, src_locator: str, field: str, subjid: str) -> str:
    """Same rule at the same place keeps the same id across runs (file content may change, its name not)."""
    key = "|".join((rule_id, study, src_file, src_locator, field, subjid))
    return "F-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12].upper()


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """Render findings with severity, category and message from the catalogue."""
    catalogue = rule_catalogue()
    rows = []
    for finding in findings:
        rule = catalogue[finding.rule_id]
        values = asdict(finding)
        try:
            message = rule.message.format(**values)
        except (KeyError, IndexError, ValueError):
            message = rule.message
        rows.append({
            "finding_id": stable_finding_id(finding.rule_id, finding.study, finding.src_file, finding.src_locator,
                                            finding.field, finding.subjid),
            "rule_id": finding.rule_id, "severity": rule.severity, "category": rule.category,
            "study": finding.study, "site": finding.site, "subjid": finding.subjid, "form": finding.form,
            "field": finding.field, "value": finding.value, "expected": finding.expected, "detail": finding.detail,
            "message": message,
            "src_file": finding.src_file, "src_sha256": finding.src_sha256, "src_locator": finding.src_locator,
            "row_id": finding.row_id, "action": rule.action, "root_finding_id": "",
        })
    frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS)).astype("string")
    return frame.drop_duplicates("finding_id").reset_index(drop=True)


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in FINDING_COLUMNS})
