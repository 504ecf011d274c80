"""Define-XML 2.1 generated from the same variable metadata that drives the mapping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dli_etl.sdtm.algorithms import integer_variable, variable_metadata
from dli_etl.sdtm.controlled_terms import CT_PACKAGE_DATE, codelist_terms
from dli_etl.sdtm.xpt import DATASET_LABELS

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
_CLASS = {"TS": "TRIAL DESIGN", "TA": "TRIAL DESIGN", "TE": "TRIAL DESIGN", "TI": "TRIAL DESIGN",
          "DM": "SPECIAL PURPOSE", "EX": "INTERVENTIONS", "CM": "INTERVENTIONS", "PR": "INTERVENTIONS",
          "AE": "EVENTS", "MH": "EVENTS", "DS": "EVENTS", "LB": "FINDINGS", "RS": "FINDINGS", "DD": "FINDINGS",
          "FA": "FINDINGS ABOUT", "SUPPEX": "RELATIONSHIP", "RELREC": "RELATIONSHIP", "SV": "SPECIAL PURPOSE", "DV": "EVENTS", "SUPPAE": "RELATIONSHIP", "SUPPPR": "RELATIONSHIP"}


def _text(parent: ET.Element, tag: str, text: str) -> None:
    node = ET.SubElement(parent, f"{{{ODM}}}{tag}")
    ET.SubElement(node, f"{{{ODM}}}TranslatedText", {"xml:lang": "en"}).text = text


def _codelist(name: str, ct: tuple[str, bool, tuple[tuple[str, str], ...]], used: set[str]) -> ET.Element:
    """A CodeList with the shipped CT terms (each with its NCI C-code) and, for an extensible codelist,
    the sponsor values the data use, flagged ``def:ExtendedValue``."""
    code, extensible, terms = ct
    codelist = ET.Element(f"{{{ODM}}}CodeList", {"OID": f"CL.{name}", "Name": name, "DataType": "text",
                                                   f"{{{DEF}}}StandardOID": "STD.CT"})
    known = {value for value, _ in terms}
    for value, term_code in terms:
        item = ET.SubElement(codelist, f"{{{ODM}}}EnumeratedItem", {"CodedValue": value})
        ET.SubElement(item, f"{{{ODM}}}Alias", {"Context": "nci:ExtCodeID", "Name": term_code})
    if extensible:
        for value in sorted(used - known):
            ET.SubElement(codelist, f"{{{ODM}}}EnumeratedItem", {"CodedValue": value, f"{{{DEF}}}ExtendedValue": "Yes"})
    ET.SubElement(codelist, f"{{{ODM}}}Alias", {"Context": "nci:ExtCodeID", "Name": code})
    return codelist


def write_define(study: str, domains: dict[str, pd.DataFrame], path: Path) -> Path:
    """Define-XML listing every dataset produced and its variables, with the CT package recorded."""
    ET.register_namespace("", ODM)
    ET.register_namespace("def", DEF)
    ET.register_namespace("xlink", XLINK)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    root = ET.Element(f"{{{ODM}}}ODM", {"FileType": "Snapshot", "FileOID": f"DEFINE.{study}", "ODMVersion": "1.3.2",
                                        "CreationDateTime": now, "Originator": "dli-etl",
                                        f"{{{DEF}}}Context": "Other"})
    study_el = ET.SubElement(root, f"{{{ODM}}}Study", {"OID": study})
    gv = ET.SubElement(study_el, f"{{{ODM}}}GlobalVariables")
    ET.SubElement(gv, f"{{{ODM}}}StudyName").text = study
    ET.SubElement(gv, f"{{{ODM}}}StudyDescription").text = f"{study} SDTM datasets (dli-etl)"
    ET.SubElement(gv, f"{{{ODM}}}ProtocolName").text = study
    mdv = ET.SubElement(study_el, f"{{{ODM}}}MetaDataVersion", {
        "OID": f"MDV.{study}.SDTMIG.3.4", "Name": f"{study} SDTM", f"{{{DEF}}}DefineVersion": "2.1.0"})
    standards = ET.SubElement(mdv, f"{{{DEF}}}Standards")
    ET.SubElement(standards, f"{{{DEF}}}Standard", {"OID": "STD.SDTMIG", "Name": "SDTMIG", "Type": "IG",
                                                     "Version": "3.4", "Status": "Final"})
    ET.SubElement(standards, f"{{{DEF}}}Standard", {"OID": "STD.CT", "Name": "CDISC/NCI", "Type": "CT",
                                                     "PublishingSet": "SDTM", "Version": CT_PACKAGE_DATE,
                                                     "Status": "Final"})
    meta = variable_metadata()
    terms = codelist_terms()
    item_defs: list[ET.Element] = []
    used: dict[str, set[str]] = {}  # codelist -> values the datasets hold
    for name, frame in domains.items():
        domain = name.upper()
        rows = meta[meta["domain"] == domain]
        if rows.empty:
            continue
        group = ET.SubElement(mdv, f"{{{ODM}}}ItemGroupDef", {
            "OID": f"IG.{domain}", "Name": domain, "Repeating": "Yes" if domain not in ("TS",) else "No",
            "Domain": domain[4:] if domain.startswith("SUPP") else domain, "SASDatasetName": domain,
            "IsReferenceData": "Yes" if domain in ("TS", "TA", "TE", "TI") else "No", "Purpose": "Tabulation",
            f"{{{DEF}}}Structure": "One record per row", f"{{{DEF}}}StandardOID": "STD.SDTMIG",
            f"{{{DEF}}}ArchiveLocationID": f"LF.{domain}"})
        _text(group, "Description", DATASET_LABELS.get(domain, domain))
        for order, (_, var) in enumerate(rows.iterrows(), start=1):
            oid = f"IT.{domain}.{var['variable']}"
            ET.SubElement(group, f"{{{ODM}}}ItemRef", {"ItemOID": oid, "OrderNumber": str(order),
                                                       "Mandatory": "Yes" if var["core"] == "Req" else "No"})
            values = frame[var["variable"]].dropna().astype(str) if var["variable"] in frame.columns else pd.Series([], dtype=str)
            length = max(1, int(values.str.len().max())) if var["type"] == "Char" and not values.empty else 8
            item = ET.Element(f"{{{ODM}}}ItemDef", {"OID": oid, "Name": var["variable"], "SASFieldName": var["variable"],
                                                    "DataType": "text" if var["type"] == "Char" else
                                                    "integer" if integer_variable(var["variable"]) else "float",
                                                    "Length": str(length)})
            _text(item, "Description", var["label"])
            if var["codelist"] in terms:
                ET.SubElement(item, f"{{{ODM}}}CodeListRef", {"CodeListOID": f"CL.{var['codelist']}"})
                used.setdefault(var["codelist"], set()).update(values)
            item_defs.append(item)
        ET.SubElement(group, f"{{{DEF}}}Class", {"Name": _CLASS.get(domain, "FINDINGS")})
        leaf = ET.SubElement(group, f"{{{DEF}}}leaf", {"ID": f"LF.{domain}", f"{{{XLINK}}}href": f"xpt/{name}.xpt"})
        ET.SubElement(leaf, f"{{{DEF}}}title").text = f"{name}.xpt"
    for item in item_defs:
        mdv.append(item)
    for name in sorted(used):
        mdv.append(_codelist(name, terms[name], used[name]))
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path
