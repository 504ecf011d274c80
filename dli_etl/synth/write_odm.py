"""Write Study A's central EDC export as a CDISC ODM 1.3.2 Snapshot (metadata + clinical data)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from dli_etl.lineage import odm_row_locator
from dli_etl.site_profile import SiteProfile
from dli_etl.synth.timelines import SourceBundle

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"

# form -> (StudyEventOID, event repeats by DLI round?, FormOID, item group repeats within the form?)
EVENT_LAYOUT: dict[str, tuple[str, bool, str, bool]] = {
    "enrollment": ("SE.SCREEN", False, "F.ENROL", False),
    "transplant": ("SE.SCREEN", False, "F.HSCT", False),
    "randomization": ("SE.RAND", False, "F.RAND", False),
    "chemo": ("SE.DLI", True, "F.CHEMO", False),
    "dli": ("SE.DLI", True, "F.DLI", False),
    "immunosuppression": ("SE.DLI", True, "F.IST", False),
    "agvhd": ("SE.ONSTUDY", False, "F.AGVHD", True),
    "cgvhd": ("SE.ONSTUDY", False, "F.CGVHD", True),
    "adverse_event": ("SE.ONSTUDY", False, "F.AE", True),
    "response": ("SE.ONSTUDY", False, "F.RESP", False),
    "followup": ("SE.EOS", False, "F.FU", False),
}
_DATE_FIELDS = {"brthdtc", "rficdtc", "randdt", "hsctdt", "chemo_start", "chemo_end", "dlidt", "ist_start",
                "ist_end", "assessment_date", "aestdt", "aeendt", "rsdt", "last_contact", "relapse_date", "death_date"}
_INT_FIELDS = {"dli_round", "skin_stage", "liver_stage", "upper_gi_stage", "lower_gi_stage",
               "magic_overall_grade", "aetoxgr", "skin_score", "mouth_score", "eyes_score", "gi_score",
               "liver_score", "lungs_score", "joints_score", "genital_score"}
_FLOAT_FIELDS = {"skin_bsa", "bilirubin_mg_dl", "stool_ml_day", "bm_blasts"}


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _data_type(field: str) -> str:
    if field in _DATE_FIELDS:
        return "date"
    if field in _INT_FIELDS:
        return "integer"
    if field in _FLOAT_FIELDS:
        return "float"
    return "text"


def _metadata(study: ET.Element, profile: SiteProfile) -> None:
    mdv = ET.SubElement(study, _q("MetaDataVersion"), OID="MDV.DLIPRO.1", Name="DLIPRO CRF v1.0")
    protocol = ET.SubElement(mdv, _q("Protocol"))
    events: dict[str, list[str]] = {}
    for event, _, form_oid, _ in EVENT_LAYOUT.values():
        events.setdefault(event, [])
        if form_oid not in events[event]:
            events[event].append(form_oid)
    for order, event in enumerate(events, start=1):
        ET.SubElement(protocol, _q("StudyEventRef"), StudyEventOID=event, OrderNumber=str(order), Mandatory="Yes")
    repeating_events = {e for e, rep, _, _ in EVENT_LAYOUT.values() if rep}
    for event, forms in events.items():
        sed = ET.SubElement(mdv, _q("StudyEventDef"), OID=event, Name=event.split(".")[1].title(),
                            Repeating="Yes" if event in repeating_events else "No", Type="Scheduled")
        for order, form_oid in enumerate(forms, start=1):
            ET.SubElement(sed, _q("FormRef"), FormOID=form_oid, OrderNumber=str(order), Mandatory="No")
    for form, spec in profile.forms.items():
        form_oid = EVENT_LAYOUT[form][2]
        fd = ET.SubElement(mdv, _q("FormDef"), OID=form_oid, Name=form.replace("_", " ").title(), Repeating="No")
        ET.SubElement(fd, _q("ItemGroupRef"), ItemGroupOID=spec["item_group"], Mandatory="Yes")
    for form, spec in profile.forms.items():
        ig_repeats = EVENT_LAYOUT[form][3]
        igd = ET.SubElement(mdv, _q("ItemGroupDef"), OID=spec["item_group"], Name=form,
                            Repeating="Yes" if ig_repeats else "No")
        for order, item_oid in enumerate(spec["fields"], start=1):
            ET.SubElement(igd, _q("ItemRef"), ItemOID=item_oid, OrderNumber=str(order), Mandatory="No")
    for spec in profile.forms.values():
        for item_oid, field in spec["fields"].items():
            ET.SubElement(mdv, _q("ItemDef"), OID=item_oid, Name=field, DataType=_data_type(field),
                          Length="200" if _data_type(field) == "text" else "10")


def write_odm(bundle: SourceBundle, profile: SiteProfile, path: Path, created: str) -> dict[int, str]:
    """Write the ODM file; return each record's row locator (``_rid`` -> key path)."""
    ET.register_namespace("", ODM_NS)
    root = ET.Element(_q("ODM"), FileOID=f"DLIPRO.EDC.{created[:10]}", FileType="Snapshot",
                      Granularity="All", ODMVersion="1.3.2", CreationDateTime=created,
                      AsOfDateTime=created, Originator="dli-etl synthetic EDC", SourceSystem="SyntheticEDC",
                      SourceSystemVersion="1.0")
    study = ET.SubElement(root, _q("Study"), OID="DLIPRO")
    gv = ET.SubElement(study, _q("GlobalVariables"))
    ET.SubElement(gv, _q("StudyName")).text = "DLIPRO"
    ET.SubElement(gv, _q("StudyDescription")).text = (
        "Prophylactic vs preemptive DLI in R/R myeloid neoplasms after allo-HSCT (synthetic data)")
    ET.SubElement(gv, _q("ProtocolName")).text = "DLIPRO"
    _metadata(study, profile)

    admin = ET.SubElement(root, _q("AdminData"), StudyOID="DLIPRO")
    user = ET.SubElement(admin, _q("User"), OID="U.CRC01")
    ET.SubElement(user, _q("FullName")).text = "Clinical research coordinator"
    for site in sorted(set(bundle.sites.values())):
        loc = ET.SubElement(admin, _q("Location"), OID=site, Name=f"Site {site}", LocationType="Site")
        ET.SubElement(loc, _q("MetaDataVersionRef"), StudyOID="DLIPRO", MetaDataVersionOID="MDV.DLIPRO.1",
                      EffectiveDate="2025-08-01")

    clinical = ET.SubElement(root, _q("ClinicalData"), StudyOID="DLIPRO", MetaDataVersionOID="MDV.DLIPRO.1")
    item_oids = {form: {f: oid for oid, f in spec["fields"].items()} for form, spec in profile.forms.items()}
    groups = {form: spec["item_group"] for form, spec in profile.forms.items()}

    # Gather records by subject, in enrollment order; duplicated subjects get their own SubjectData.
    order: list[tuple[str, int]] = []
    by_subject: dict[tuple[str, int], list[tuple[str, dict]]] = {}
    for form, records in bundle.forms.items():
        for record in records:
            key = (record["subjid"], int(record.get("_copy", 0) or 0))
            if key not in by_subject:
                by_subject[key] = []
                order.append(key)
            by_subject[key].append((form, record))
    locators: dict[int, str] = {}
    audit_budget = 12
    for subjid, _copy in sorted(order, key=lambda k: (k[0], k[1])):
        sd = ET.SubElement(clinical, _q("SubjectData"), SubjectKey=subjid, TransactionType="Insert")
        site = bundle.sites.get(subjid, "S99")
        ET.SubElement(sd, _q("SiteRef"), LocationOID=site)
        events: dict[tuple[str, str], ET.Element] = {}
        forms_in_event: dict[tuple[str, str, str], ET.Element] = {}
        ig_counter: dict[tuple[str, str, str], int] = {}
        round_counter: dict[str, int] = {}
        for form, record in by_subject[(subjid, _copy)]:
            event, repeating, form_oid, ig_repeats = EVENT_LAYOUT[form]
            event_rk = ""
            if repeating:
                round_counter[form] = round_counter.get(form, 0) + 1
                event_rk = record.get("dli_round") or str(round_counter[form])
            ekey = (event, event_rk)
            if ekey not in events:
                attrs = {"StudyEventOID": event}
                if repeating:
                    attrs["StudyEventRepeatKey"] = event_rk
                events[ekey] = ET.SubElement(sd, _q("StudyEventData"), **attrs)
            fkey = (event, event_rk, form_oid)
            if fkey not in forms_in_event:
                forms_in_event[fkey] = ET.SubElement(events[ekey], _q("FormData"), FormOID=form_oid)
            ig_counter[fkey] = ig_counter.get(fkey, 0) + 1
            ig_attrs = {"ItemGroupOID": groups[form]}
            ig_rk = ""
            if ig_repeats:
                ig_rk = str(ig_counter[fkey])
                ig_attrs["ItemGroupRepeatKey"] = ig_rk
            igd = ET.SubElement(forms_in_event[fkey], _q("ItemGroupData"), **ig_attrs)
            for field, value in record.items():
                if field.startswith("_") or field == "subjid" or value == "" or field not in item_oids[form]:
                    continue
                item = ET.SubElement(igd, _q("ItemData"), ItemOID=item_oids[form][field], Value=value)
                if form == "dli" and field == "dlidt" and audit_budget > 0:
                    audit_budget -= 1
                    audit = ET.SubElement(item, _q("AuditRecord"))
                    ET.SubElement(audit, _q("UserRef"), UserOID="U.CRC01")
                    ET.SubElement(audit, _q("LocationRef"), LocationOID=site)
                    ET.SubElement(audit, _q("DateTimeStamp")).text = f"{value}T16:20:00+08:00"
                    ET.SubElement(audit, _q("ReasonForChange")).text = "Initial entry from infusion record"
            locators[record["_rid"]] = odm_row_locator(subjid, event, event_rk, form_oid, "", groups[form], ig_rk,
                                                       _copy + 1)
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return locators
