"""How a query is put to a site: in the site's language, naming the item by the site's own header (or the
EDC's item name, or the REDCap field label), and saying where the value sits in words a research nurse
knows ("sheet CBC, cell B298"; "visit 'DLI', form 'DLI administration', item 'CD3+ dose'") instead of
internal field names, OIDs and key paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dli_etl.ingest.raw_form import IngestResult
from dli_etl.specs import load_spec

_ODM_PART = re.compile(r"(SubjectData|StudyEventData|FormData|ItemGroupData|ItemData)\[([^\]]*)\]")
_XLSX = re.compile(r"^(?P<sheet>.+)!(?P<cell>[A-Z]{0,3}\d*)$")

_WORDS = {
    "en": {"sheet": "sheet {0}", "cell": "cell {0}", "row": "row {0}", "column": "column {0}",
           "visit": "visit '{0}'", "form": "form '{0}'", "item": "item '{0}'", "record": "record {0}",
           "event": "event {0}", "instrument": "instrument {0}", "instance": "instance {0}",
           "field": "field '{0}'", "sep": ", "},
    "zh": {"sheet": "工作表“{0}”", "cell": "单元格 {0}", "row": "第 {0} 行", "column": "第 {0} 列",
           "visit": "访视“{0}”", "form": "表单“{0}”", "item": "条目“{0}”", "record": "记录 {0}",
           "event": "事件 {0}", "instrument": "表单 {0}", "instance": "第 {0} 次", "field": "字段“{0}”",
           "sep": "，"},
}


@dataclass
class SiteWording:
    """What the run knows of each site's own words: its language, its headers and the EDC's names."""

    languages: dict[tuple[str, str], str] = field(default_factory=dict)  # (study, site) -> en | zh
    items: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (src_file, form, field) -> name
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # src_file -> OID -> name

    def language(self, study: str, site: str) -> str:
        return self.languages.get((study, site), "en")

    def item(self, src_file: str, form: str, field_name: str) -> str:
        """The site's own name of a field: the header in its file, else the study's label for it."""
        found = self.items.get((src_file, form, field_name))
        if found:
            return found
        spec = load_spec("forms").get(form, {}).get("fields", {}).get(field_name, {})
        return str(spec.get("label") or field_name)

    def where(self, src_file: str, locator: str, language: str = "en") -> str:
        """A source locator in words: sheet and cell, or visit/form/item names, or REDCap record/event/field."""
        words = _WORDS.get(language, _WORDS["en"])
        if not locator:
            return ""
        names = self.names.get(src_file, {})
        if locator.startswith("SubjectData["):
            parts = []
            for tag, key in _ODM_PART.findall(locator):
                oid, _, repeat = key.partition(":")
                name = names.get(oid) or oid.split(".", 1)[-1]
                if tag == "StudyEventData":
                    parts.append(words["visit"].format(name + (f" #{repeat}" if repeat not in ("", "1") else "")))
                elif tag == "FormData":
                    parts.append(words["form"].format(name))
                elif tag == "ItemData":
                    parts.append(words["item"].format(name))
            return words["sep"].join(parts)
        if locator.startswith("record="):
            keys = dict(part.partition("=")[::2] for part in locator.split(";"))
            parts = [words["record"].format(keys.get("record", ""))]
            for key in ("event", "instrument", "instance"):
                if keys.get(key):
                    parts.append(words[key].format(keys[key]))
            if keys.get("field"):
                parts.append(words["field"].format(keys["field"]))
            return words["sep"].join(parts)
        match = _XLSX.match(locator)
        if match:
            cell = match.group("cell")
            sheet = words["sheet"].format(match.group("sheet"))
            if not cell:
                return sheet
            if cell.isdigit():
                return sheet + words["sep"] + words["row"].format(cell)
            if cell.isalpha():
                return sheet + words["sep"] + words["column"].format(cell)
            return sheet + words["sep"] + words["cell"].format(cell)
        return locator


def form_label(form: str, language: str = "en") -> str:
    """A form's name for a site: the study's label in the site's language."""
    spec = load_spec("forms").get(form, {})
    return str(spec.get(f"label_{language}") or spec.get("label") or form)


def site_wording(ingests: list[IngestResult]) -> SiteWording:
    """Collect languages, headers and EDC names from the run's ingests (all studies)."""
    wording = SiteWording()
    for ingested in ingests:
        for site, language in ingested.languages.items():
            wording.languages[(ingested.study, site)] = language
        for raw in ingested.forms:
            for field_name, label in raw.source_labels.items():
                wording.items.setdefault((raw.src_file, raw.form, field_name), label)
        wording.names.update(ingested.source_names)
    return wording
