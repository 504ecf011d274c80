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


# Variables coded to an external dictionary (Define-XML ExternalCodeList). AEDECOD holds the CTCAE v5.0
# term, not a MedDRA preferred term, and AEBODSYS the CTCAE system organ class: the define says so.
_DICTIONARIES = {("AE", "AEDECOD"): ("CL.CTCAE.TERM", "CTCAE", "5.0"),
                 ("AE", "AEBODSYS"): ("CL.CTCAE.SOC", "CTCAE", "5.0")}


def _external_codelist(oid: str, dictionary: str, version: str) -> ET.Element:
    codelist = ET.Element(f"{{{ODM}}}CodeList", {"OID": oid, "Name": f"{dictionary} {version} ({oid.rsplit('.', 1)[1]})",
                                                   "DataType": "text"})
    ET.SubElement(codelist, f"{{{ODM}}}ExternalCodeList", {"Dictionary": dictionary, "Version": version})
    return codelist


# Where each variable's value comes from (Define-XML 2.1 def:Origin), by role: table-driven on the variable
# name, its suffix and its domain. A derived variable points to the method that derives it.
_METHODS = {
    "MT.USUBJID": "USUBJID = STUDYID-SITEID-SUBJID of the collected subject id.",
    "MT.SEQ": "Sequence number of the record within USUBJID, in the domain's sort order.",
    "MT.DY": "Study day: --DTC minus RFSTDTC in days, plus 1 on or after RFSTDTC (no day 0).",
    "MT.EPOCH": "The trial epoch whose element (SE) holds --DTC.",
    "MT.STRES": "Standardized from --ORRES and --ORRESU by the unit conversions of specs/units.yaml.",
    "MT.NRIND": "NORMAL, LOW or HIGH: the standardized result against the site's reference range.",
    "MT.TOXGR": "CTCAE v5.0 grade from the standardized result (baseline rule for chemistry).",
    "MT.BLFL": "Y on the last non-missing result on or before the first DLI.",
    "MT.REF": "From the subject's enrollment, treatment and follow-up records (see the mapping spec).",
    "MT.DERIVED": "Derived by dli-etl from collected data (see specs/sdtm_mapping.csv).",
}
_ASSIGNED = {"STUDYID", "DOMAIN", "EPOCH", "VISITNUM", "VISIT", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS",
             "ACTARMUD", "COUNTRY", "SITEID", "IDVAR", "RDOMAIN", "QNAM", "QLABEL", "QORIG", "QEVAL"}
_ASSIGNED_SUFFIX = ("TESTCD", "TEST", "CAT", "SCAT", "ORRESU", "STRESU", "SPEC", "METHOD", "OBJ", "DECOD", "LLOQ")
_DERIVED = {"USUBJID": "MT.USUBJID", "RFSTDTC": "MT.REF", "RFENDTC": "MT.REF", "RFXSTDTC": "MT.REF",
            "RFXENDTC": "MT.REF", "RFICDTC": "MT.REF", "RFPENDTC": "MT.REF", "DTHDTC": "MT.REF", "DTHFL": "MT.REF",
            "AGE": "MT.REF", "AGEU": "MT.REF", "EPOCH": "MT.EPOCH"}
_DERIVED_SUFFIX = (("SEQ", "MT.SEQ"), ("DY", "MT.DY"), ("STDY", "MT.DY"), ("ENDY", "MT.DY"), ("STRESC", "MT.STRES"),
                   ("STRESN", "MT.STRES"), ("STNRLO", "MT.STRES"), ("STNRHI", "MT.STRES"), ("NRIND", "MT.NRIND"),
                   ("TOXGR", "MT.TOXGR"), ("LOBXFL", "MT.BLFL"), ("BLFL", "MT.BLFL"))
_PROTOCOL_DOMAINS = {"TS", "TA", "TE", "TI", "TV"}


def variable_origin(domain: str, variable: str) -> tuple[str, str | None]:
    """(def:Origin Type, MethodDef OID or None) of one SDTM variable."""
    if domain in _PROTOCOL_DOMAINS:
        return "Protocol", None
    if variable in _DERIVED:
        return "Derived", _DERIVED[variable]
    if variable in _ASSIGNED:
        return "Assigned", None
    stem = variable[len(domain):] if variable.startswith(domain) else variable
    for suffix, method in _DERIVED_SUFFIX:
        if stem == suffix:
            # an AE grade is collected on the CRF; an LB grade is derived from the lab value
            if suffix == "TOXGR" and domain != "LB":
                return "Collected", None
            return "Derived", method
    if stem in _ASSIGNED_SUFFIX or domain.startswith("SUPP") and variable in ("IDVARVAL",):
        return "Assigned", None
    return "Collected", None


# Findings domains described per test (value-level metadata): the result variable's type and unit
# depend on the test, so each --TESTCD value gets its own ItemDef under a WhereClause.
_VALUE_LEVEL = {"LB": ("LBTESTCD", ("LBORRES", "LBSTRESN")), "FA": ("FATESTCD", ("FAORRES",))}


def _value_level(domain: str, frame: pd.DataFrame, item_defs: list[ET.Element], lists: list[ET.Element],
                 clauses: dict[str, ET.Element], methods: set[str]) -> dict[str, str]:
    """ValueListDefs (into ``lists``) for the result variables of a findings domain, one ItemRef per test
    with its WhereClauseDef (``--TESTCD EQ value``, into ``clauses``); returns variable -> ValueListOID."""
    testcd, results = _VALUE_LEVEL[domain]
    if testcd not in frame.columns or frame.empty:
        return {}
    refs: dict[str, str] = {}
    tests = frame[[c for c in (testcd, f"{domain}TEST", f"{domain}ORRESU", f"{domain}STRESU") if c in frame.columns]]
    for variable in results:
        if variable not in frame.columns:
            continue
        oid = f"VL.{domain}.{variable}"
        value_list = ET.Element(f"{{{DEF}}}ValueListDef", {"OID": oid})
        for order, (code, part) in enumerate(tests.groupby(testcd, sort=True), start=1):
            where = f"WC.{domain}.{testcd}.{code}"
            item_oid = f"IT.{domain}.{variable}.{code}"
            ref = ET.SubElement(value_list, f"{{{ODM}}}ItemRef", {"ItemOID": item_oid, "OrderNumber": str(order),
                                                                  "Mandatory": "No"})
            ET.SubElement(ref, f"{{{DEF}}}WhereClauseRef", {"WhereClauseOID": where})
            if where not in clauses:
                clause = clauses[where] = ET.Element(f"{{{DEF}}}WhereClauseDef", {"OID": where})
                check = ET.SubElement(clause, f"{{{ODM}}}RangeCheck", {"SoftHard": "Soft", "Comparator": "EQ",
                                                                      f"{{{DEF}}}ItemOID": f"IT.{domain}.{testcd}"})
                ET.SubElement(check, f"{{{ODM}}}CheckValue").text = str(code)
            values = frame.loc[frame[testcd] == code, variable].dropna().astype(str)
            numeric = pd.to_numeric(values, errors="coerce").notna().all() and not values.empty
            unit_column = f"{domain}STRESU" if variable.endswith("STRESN") else f"{domain}ORRESU"
            units = sorted(part[unit_column].dropna().astype(str).unique()) if unit_column in part.columns else []
            name = str(part[f"{domain}TEST"].iloc[0]) if f"{domain}TEST" in part.columns else str(code)
            item = ET.Element(f"{{{ODM}}}ItemDef", {
                "OID": item_oid, "Name": variable, "SASFieldName": variable,
                "DataType": "float" if variable.endswith("STRESN") or numeric else "text",
                "Length": str(max(1, int(values.str.len().max())) if not values.empty else 8)})
            _text(item, "Description", f"{name}{f' ({units[0]})' if len(units) == 1 else ''}")
            origin, method = variable_origin(domain, variable)
            if method:
                ref.set("MethodOID", method)
                methods.add(method)
            ET.SubElement(item, f"{{{DEF}}}Origin", {"Type": origin, **({"Source": "Investigator"} if origin == "Collected" else {})})
            item_defs.append(item)
        lists.append(value_list)
        refs[variable] = oid
    return refs


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
    methods: set[str] = set()
    lists: list[ET.Element] = []
    clauses: dict[str, ET.Element] = {}
    dictionaries: set[tuple[str, str, str]] = set()
    value_lists = {name.upper(): _value_level(name.upper(), frame, item_defs, lists, clauses, methods)
                   for name, frame in domains.items() if name.upper() in _VALUE_LEVEL}
    # the schema's order: value lists, then where clauses, then the datasets
    mdv.extend(lists)
    mdv.extend(clauses[oid] for oid in sorted(clauses))
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
            origin, method = variable_origin(domain, var["variable"])
            ET.SubElement(group, f"{{{ODM}}}ItemRef", {"ItemOID": oid, "OrderNumber": str(order),
                                                       "Mandatory": "Yes" if var["core"] == "Req" else "No",
                                                       **({"MethodOID": method} if method else {})})
            if method:
                methods.add(method)
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
            elif (domain, var["variable"]) in _DICTIONARIES:
                external = _DICTIONARIES[(domain, var["variable"])]
                ET.SubElement(item, f"{{{ODM}}}CodeListRef", {"CodeListOID": external[0]})
                dictionaries.add(external)
            if var["variable"] in value_lists.get(domain, {}):
                ET.SubElement(item, f"{{{DEF}}}ValueListRef", {"ValueListOID": value_lists[domain][var["variable"]]})
            ET.SubElement(item, f"{{{DEF}}}Origin", {"Type": origin,
                                                     **({"Source": "Investigator"} if origin == "Collected" else {})})
            item_defs.append(item)
        ET.SubElement(group, f"{{{DEF}}}Class", {"Name": _CLASS.get(domain, "FINDINGS")})
        leaf = ET.SubElement(group, f"{{{DEF}}}leaf", {"ID": f"LF.{domain}", f"{{{XLINK}}}href": f"xpt/{name}.xpt"})
        ET.SubElement(leaf, f"{{{DEF}}}title").text = f"{name}.xpt"
    for item in item_defs:
        mdv.append(item)
    for name in sorted(used):
        mdv.append(_codelist(name, terms[name], used[name]))
    for oid, dictionary, version in sorted(dictionaries):
        mdv.append(_external_codelist(oid, dictionary, version))
    for oid in sorted(methods):
        method = ET.SubElement(mdv, f"{{{ODM}}}MethodDef", {"OID": oid, "Name": oid[3:], "Type": "Computation"})
        _text(method, "Description", _METHODS[oid])
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path
