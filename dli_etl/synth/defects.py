"""Plant realistic errors into source records and log each one in the defect manifest.

Each defect class names the form and field it touches; ``COVERED_BY`` says which harmonized forms a
pipeline must have built for the class to be detectable, so tests can measure recall per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from dli_etl.rules.cell_dose import parse_cell_dose
from dli_etl.synth.dose_notation import write_cell_dose
from dli_etl.synth.timelines import SourceBundle

# defect class -> forms whose harmonization makes it detectable ("ingest" = any file read)
COVERED_BY: dict[str, str] = {
    "dose_power_of_ten": "dli",
    "dose_wrong_unit": "dli",
    "impossible_date": "dli",
    "dli_before_transplant": "dli",
    "dli_outside_window": "dli",
    "duplicate_subject": "enrollment",
    "unknown_subject": "dli",
    "missing_required": "enrollment",
    "identifier_column": "ingest",
    "mrd_above_100_percent": "mrd",
    "ctcae_grade_contradiction": "adverse_event",
    "magic_grade_contradiction": "agvhd",
    "cgvhd_severity_contradiction": "cgvhd",
    "ambiguous_date": "cbc",
}


@dataclass
class PlantedDefect:
    """One manifest row before the writer tells where the record landed."""

    study: str
    site: str
    form: str
    subjid: str
    field: str
    defect_class: str
    original: str
    planted: str
    rid: int


def _pick(rng: np.random.Generator, candidates: list, rate: float) -> list:
    if rate <= 0 or not candidates:
        return []
    n = min(len(candidates), max(1, int(round(rate * len(candidates)))))
    idx = rng.choice(len(candidates), size=n, replace=False)
    return [candidates[i] for i in sorted(idx)]


def _shift_iso(value: str, days: int) -> str:
    return (date.fromisoformat(value) + timedelta(days=days)).isoformat()


class DefectPlanter:
    """Applies every defect class at ``rate`` to one study's bundle; records what it changed."""

    def __init__(self, bundle: SourceBundle, rng: np.random.Generator, rate: float):
        self.bundle = bundle
        self.rng = rng
        self.rate = rate
        self.used: set[int] = set()
        self.planted: list[PlantedDefect] = []
        # identifier columns to add: (site, header) -> {rid: value}
        self.extra_columns: dict[str, dict[str, dict[int, str]]] = {}

    def _site(self, subjid: str) -> str:
        return self.bundle.sites.get(subjid, "")

    def _log(self, form: str, record: dict, field: str, defect: str, original: str, planted: str) -> None:
        self.used.add(record["_rid"])
        self.planted.append(PlantedDefect(self.bundle.study, self._site(record["subjid"]), form, record["subjid"],
                                          field, defect, original, planted, record["_rid"]))

    def _free(self, records: list[dict]) -> list[dict]:
        return [r for r in records if r["_rid"] not in self.used]

    def plant_all(self, hsct_by_subject: dict[str, str], arm_by_subject: dict[str, str]) -> None:
        forms = self.bundle.forms
        dli = forms.get("dli", [])
        # Dose written a power of ten off, or as total cells.
        for record in _pick(self.rng, self._free(dli), self.rate):
            field = str(self.rng.choice(["mnc_dose", "cd3_dose"]))
            parsed = parse_cell_dose(record[field])
            if parsed.cells_per_kg is None:
                continue
            factor = float(self.rng.choice([0.01, 0.1, 10.0, 100.0]))
            new = write_cell_dose(parsed.cells_per_kg * factor, "times_caret")
            self._log("dli", record, field, "dose_power_of_ten", record[field], new)
            record[field] = new
        for record in _pick(self.rng, self._free(dli), self.rate):
            parsed = parse_cell_dose(record["mnc_dose"])
            if parsed.cells_per_kg is None:
                continue
            new = write_cell_dose(parsed.cells_per_kg, "times_caret", per_kg=False)
            self._log("dli", record, "mnc_dose", "dose_wrong_unit", record["mnc_dose"], new)
            record["mnc_dose"] = new
        for record in _pick(self.rng, self._free(dli), self.rate):
            year, month = record["dlidt"][:4], int(record["dlidt"][5:7])
            new = f"{year}-{month:02d}-{31 if month in (4, 6, 9, 11) else 32}"
            self._log("dli", record, "dlidt", "impossible_date", record["dlidt"], new)
            record["dlidt"] = new
        for record in _pick(self.rng, self._free(dli), self.rate):
            hsct = hsct_by_subject.get(record["subjid"])
            if not hsct:
                continue
            new = _shift_iso(hsct, -int(self.rng.integers(2, 30)))
            self._log("dli", record, "dlidt", "dli_before_transplant", record["dlidt"], new)
            record["dlidt"] = new
        if self.bundle.study == "DLIPRO":
            proph = [r for r in self._free(dli) if arm_by_subject.get(r["subjid"]) == "PROPH"]
            for record in _pick(self.rng, proph, self.rate):
                new = _shift_iso(hsct_by_subject[record["subjid"]], int(self.rng.integers(62, 80)))
                self._log("dli", record, "dlidt", "dli_outside_window", record["dlidt"], new)
                record["dlidt"] = new
        # Required values left blank.
        for form, field in (("enrollment", "sex"), ("transplant", "hsctdt"), ("dli", "mnc_dose")):
            for record in _pick(self.rng, self._free(forms.get(form, [])), self.rate / 2):
                self._log(form, record, field, "missing_required", record[field], "")
                record[field] = ""
        # The same subject enrolled twice (a second copy of the enrollment record).
        for record in _pick(self.rng, self._free(forms.get("enrollment", [])), self.rate / 2):
            copy = dict(record, _rid=self._new_rid(), _copy=1)
            forms["enrollment"].append(copy)
            self._log("enrollment", copy, "subjid", "duplicate_subject", "", record["subjid"])
        # A DLI record for a subject who was never enrolled.
        for record in _pick(self.rng, self._free(dli), self.rate / 2):
            site = self._site(record["subjid"])
            ghost = f"{site[1:]}-9{int(self.rng.integers(10, 99))}" if self.bundle.study == "DLIPRO" \
                else f"9{int(self.rng.integers(10, 99))}"
            self.bundle.sites[ghost] = site
            copy = dict(record, _rid=self._new_rid(), subjid=ghost)
            dli.append(copy)
            self._log("dli", copy, "subjid", "unknown_subject", "", ghost)
        # Recorded grades that contradict what they are graded from.
        # Only where the site's blood counts are exported (Study A workbooks) can the contradiction be seen.
        lab_aes = [r for r in self._free(forms.get("adverse_event", []))
                   if r["aeterm"] in ("Neutrophil count decreased", "Platelet count decreased")
                   and self.bundle.study == "DLIPRO"]
        for record in _pick(self.rng, lab_aes, self.rate):
            new = str(max(1, int(record["aetoxgr"]) - 2))
            self._log("adverse_event", record, "aetoxgr", "ctcae_grade_contradiction", record["aetoxgr"], new)
            record["aetoxgr"] = new
        for record in _pick(self.rng, self._free(forms.get("agvhd", [])), self.rate * 2):
            grade = int(record["magic_overall_grade"])
            new = str(grade + 1 if grade < 4 else grade - 1)
            self._log("agvhd", record, "magic_overall_grade", "magic_grade_contradiction", str(grade), new)
            record["magic_overall_grade"] = new
        for record in _pick(self.rng, self._free(forms.get("cgvhd", [])), self.rate * 2):
            order = ["NONE", "MILD", "MODERATE", "SEVERE"]
            now = order.index(record["global_severity"])
            new = order[now + 1] if now < 3 else order[now - 1]
            self._log("cgvhd", record, "global_severity", "cgvhd_severity_contradiction", record["global_severity"], new)
            record["global_severity"] = new
        self._plant_lab_defects()

    def _new_rid(self) -> int:
        self.bundle._next_rid += 1
        return self.bundle._next_rid

    def _plant_lab_defects(self) -> None:
        for site, forms in sorted(self.bundle.site_labs.items()):
            for record in _pick(self.rng, self._free(forms.get("mrd", [])), self.rate / 4):
                new = f"{int(self.rng.integers(101, 180))}%"
                self.used.add(record["_rid"])
                self.planted.append(PlantedDefect(self.bundle.study, site, "mrd", record["subjid"], "mrd_result",
                                                  "mrd_above_100_percent", record["mrd_result"], new, record["_rid"]))
                record["mrd_result"] = new
        # Two-digit years at the dd/mm/yyyy sites: 03/04/26 could be read several ways.
        for site in ("S01", "S04"):
            cbc = self._free(self.bundle.site_labs.get(site, {}).get("cbc", []))
            for record in _pick(self.rng, cbc, self.rate / 4):
                new = date.fromisoformat(record["lbdtc"]).strftime("%d/%m/%y")
                self.used.add(record["_rid"])
                self.planted.append(PlantedDefect(self.bundle.study, site, "cbc", record["subjid"], "lbdtc",
                                                  "ambiguous_date", record["lbdtc"], new, record["_rid"]))
                record["lbdtc"] = new
        # An undeclared identifier column (patient names) in some site workbooks.
        sites = sorted(self.bundle.site_labs)
        for site in _pick(self.rng, sites, self.rate * 5):
            forms = self.bundle.site_labs[site]
            form = "cbc" if site != "JLU" else "mrd"
            records = forms.get(form, [])
            if not records:
                continue
            header = "患者姓名" if site in ("S02", "S05", "JLU") else "Patient name"
            self.extra_columns.setdefault(site, {})[header] = {
                r["_rid"]: _fake_name(r["subjid"], chinese=header == "患者姓名") for r in records}
            self.planted.append(PlantedDefect(self.bundle.study, site, form, "", header, "identifier_column",
                                              "", "patient names", records[0]["_rid"]))
        if self.bundle.study == "DLIPLX" and self.rate > 0:
            enrol = self.bundle.forms.get("enrollment", [])
            self.extra_columns.setdefault("REDCAP", {})["patient_name"] = {
                r["_rid"]: _fake_name(r["subjid"], chinese=False) for r in enrol}
            self.planted.append(PlantedDefect(self.bundle.study, "JLU", "enrollment", "", "patient_name",
                                              "identifier_column", "", "patient names", enrol[0]["_rid"]))


_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao")
_SURNAMES_ZH = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵")
_GIVEN = ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Qiang", "Xiu")
_GIVEN_ZH = ("伟", "芳", "敏", "静", "磊", "燕", "强", "秀")


def _fake_name(subjid: str, chinese: bool) -> str:
    n = sum(ord(c) for c in subjid)
    if chinese:
        return _SURNAMES_ZH[n % 8] + _GIVEN_ZH[(n // 8) % 8]
    return f"{_SURNAMES[n % 8]} {_GIVEN[(n // 8) % 8]}"
