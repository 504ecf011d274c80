"""Write Study B as a REDCap project export: raw record CSV plus the data dictionary CSV."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from dli_etl.lineage import redcap_row_locator
from dli_etl.site_profile import SiteProfile
from dli_etl.synth.timelines import SourceBundle

DICTIONARY_HEADER = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]

# instrument -> event when not given by the record; repeating instruments
DEFAULT_EVENT = {"demographics": "baseline_arm_1", "transplant": "baseline_arm_1", "response": "followup_arm_1",
                 "followup": "followup_arm_1"}
REPEATING = {"plerixafor", "adverse_event", "agvhd", "cgvhd"}

FIELD_TYPES: dict[str, tuple[str, str, str]] = {
    # field: (type, choices, validation)
    "sex": ("radio", "1, Male | 2, Female", ""),
    "diagnosis": ("radio", "1, AML | 2, ALL", ""),
    "relapse_type": ("checkbox", "1, Hematologic | 2, Molecular (MRD) | 3, Extramedullary", ""),
    "donor_type": ("dropdown", "1, Matched sibling | 2, Matched unrelated | 3, Haploidentical", ""),
    "relapse_yn": ("yesno", "", ""),
    "ae_hosp": ("yesno", "", ""),
    "ae_life": ("yesno", "", ""),
    "ae_disab": ("yesno", "", ""),
    "ae_mie": ("yesno", "", ""),
    "death_yn": ("yesno", "", ""),
    "dli_round": ("text", "", "integer"),
    "plx_doses_given": ("text", "", "integer"),
}


def _field_type(name: str) -> tuple[str, str, str]:
    if name in FIELD_TYPES:
        return FIELD_TYPES[name]
    if name.endswith(("_date", "_start", "_end")) or name in ("dob", "last_contact"):
        return ("text", "", "date_ymd")
    return ("text", "", "")


def write_redcap(
    bundle: SourceBundle, profile: SiteProfile, data_path: Path, dictionary_path: Path,
    extra_fields: dict[str, dict[int, str]],
) -> dict[int, str]:
    """Write data + dictionary; return ``_rid`` -> row locator. ``extra_fields``: field -> {rid: value}."""
    form_to_instrument = {form: spec["instrument"] for form, spec in profile.forms.items()}
    source_name = {form: {c: s for s, c in spec["fields"].items()} for form, spec in profile.forms.items()}
    declared = list(profile.identifiers)
    dictionary: list[list[str]] = [["record_id", "demographics", "", "text", "Study ID", "", "", "", "", "", "", "",
                                    "", "", "", "", "", ""]]
    columns = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for spec in profile.forms.values():
        instrument = spec["instrument"]
        names = list(spec["fields"])
        if instrument == "demographics":
            names = names + declared + [f for f in extra_fields if f not in names]
        for name in names:
            ftype, choices, validation = _field_type(name)
            identifier = "y" if name in declared else ""
            dictionary.append([name, instrument, "", ftype, name.replace("_", " ").capitalize(), choices, "",
                               validation, "", "", identifier, "", "", "", "", "", "", ""])
            if ftype == "checkbox":
                columns.extend(f"{name}___{c.split(',')[0].strip()}" for c in choices.split("|"))
            else:
                columns.append(name)
        columns.append(f"{instrument}_complete")

    rows: list[dict[str, str]] = []
    locators: dict[int, str] = {}
    merged: dict[tuple[str, str], dict[str, str]] = {}
    # repeat instances per (record, instrument, event) so far: counting earlier rows per record was
    # quadratic in the site's size (a 256x REDCap site spent most of the generation there)
    repeats: Counter[tuple[str, str, str]] = Counter()
    for form, records in bundle.forms.items():
        instrument = form_to_instrument[form]
        for record in records:
            event = record.get("_event") or DEFAULT_EVENT.get(instrument, "baseline_arm_1")
            record_id = record["subjid"]
            if instrument in REPEATING:
                repeat = (record_id, instrument, event)
                instance = record.get("_instance") or str(1 + repeats[repeat])
                repeats[repeat] += 1
                row = {"record_id": record_id, "redcap_event_name": event, "redcap_repeat_instrument": instrument,
                       "redcap_repeat_instance": str(instance)}
                rows.append(row)
            else:
                key = (record_id + ("#dup" if record.get("_copy") else ""), event)
                if key not in merged:
                    merged[key] = {"record_id": record_id, "redcap_event_name": event,
                                   "redcap_repeat_instrument": "", "redcap_repeat_instance": ""}
                    rows.append(merged[key])
                row = merged[key]
                instance = ""
            for field, value in record.items():
                if field.startswith("_") or field == "subjid":
                    continue
                name = source_name[form][field]
                if _field_type(name)[0] == "checkbox":
                    ticked = set(value.split("|"))
                    for c in _field_type(name)[1].split("|"):
                        code = c.split(",")[0].strip()
                        row[f"{name}___{code}"] = "1" if code in ticked else "0"
                elif _field_type(name)[0] == "yesno" and value in ("Y", "N"):
                    row[name] = "1" if value == "Y" else "0"  # REDCap stores yes/no as 1/0
                else:
                    row[name] = value
            if instrument == "demographics":
                for name in declared:
                    row[name] = f"13{int(''.join(ch for ch in record_id if ch.isdigit()) or 0):09d}"  # a fake phone number
                for name, values in extra_fields.items():
                    if record["_rid"] in values:
                        row[name] = values[record["_rid"]]
            row[f"{instrument}_complete"] = "2"
            locators[record["_rid"]] = redcap_row_locator(record_id, event, instrument, str(instance))
    data_path.parent.mkdir(parents=True, exist_ok=True)
    with open(data_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    with open(dictionary_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DICTIONARY_HEADER)
        writer.writerows(dictionary)
    return locators
