"""Every source value is read into a form or reported as unmapped with its count (public ODM and REDCap
files), and ODM exports as EDCs write them: transactional files, typed ItemData, several studies,
vendor subject ids, no SiteRef."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dli_etl.ingest.apply_profile import ingest_odm, ingest_redcap
from dli_etl.ingest.errors import SourceReadError
from dli_etl.ingest.odm_reader import read_odm
from dli_etl.ingest.raw_form import IngestResult
from dli_etl.ingest.redcap_reader import read_dictionary, read_redcap
from dli_etl.site_profile import load_profile

_REDCAP_SYSTEM = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")


def _profile(tmp_path: Path, data: dict):
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_profile(path)


def _odm_profile(tmp_path: Path, forms: dict, **extra):
    return _profile(tmp_path, {"study": "DLIPRO", "site": "EDC", "format": "odm", "files": ["edc/*.xml"],
                               "forms": forms, **extra})


def _reported(result: IngestResult) -> int:
    """Values the unmapped findings name, from their "N values" detail."""
    total = 0
    for f in result.findings:
        if f.rule_id in ("INGEST-BLOCK-UNMAPPED", "INGEST-COLUMN-UNMAPPED", "REDCAP-COLUMN-NOT-IN-DICTIONARY"):
            total += int(f.detail.split(" values")[0].split()[-1])
    return total


def _item_values(path: Path) -> int:
    """Non-blank ItemData values counted straight from the XML, independently of the reader."""
    return sum(1 for e in ET.parse(path).iter() if e.tag.rsplit("}", 1)[-1] == "ItemData" and (e.get("Value") or ""))


def test_public_odm_every_value_mapped_or_reported(public_data, tmp_path):
    path = public_data / "odm-odmlib" / "odm-data-snapshot.xml"
    profile = _odm_profile(tmp_path, {"enrollment": {"item_group": "IG.DM",
                                                      "fields": {"IT.BRTHDAT": "brthdtc", "IT.SEX": "sex"}}})
    result = IngestResult("DLIPRO")
    ingest_odm(profile, path, "edc/odm-data-snapshot.xml", result)
    total = _item_values(path)
    mapped = sum(c.values_mapped for c in result.coverage)
    assert sum(c.values_in_source for c in result.coverage) == total == 165
    assert all(c.balanced for c in result.coverage)
    assert 0 < mapped < total and _reported(result) == total - mapped
    unread = {f.value for f in result.findings if f.rule_id == "INGEST-BLOCK-UNMAPPED"}
    assert "IG.AE.AE_ARRAY1" in unread and "IG.DM" not in unread


def test_public_redcap_every_value_mapped_or_reported(public_data, tmp_path):
    folder = public_data / "redcap-projects" / "vignette-repeating"
    profile = _profile(tmp_path, {"study": "DLIPLX", "site": "JLU", "format": "redcap", "files": ["redcap/data.csv"],
                                  "dictionary": "redcap/dictionary.csv",
                                  "forms": {"response": {"instrument": "laboratory", "fields": {"lab": "bm_blasts"}}}})
    result = IngestResult("DLIPLX")
    ingest_redcap(profile, folder / "data.csv", folder / "dictionary.csv", "redcap/data.csv", result)
    with open(folder / "data.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    total = sum(1 for row in rows for k, v in row.items()
                if k not in _REDCAP_SYSTEM and not k.endswith("_complete") and v.strip())
    mapped = sum(c.values_mapped for c in result.coverage)
    assert sum(c.values_in_source for c in result.coverage) == total
    assert all(c.balanced for c in result.coverage)
    assert mapped == sum(1 for row in rows if row["lab"].strip())
    assert _reported(result) == total - mapped > 0
    assert {f.value for f in result.findings if f.rule_id == "INGEST-BLOCK-UNMAPPED"} == {"intake", "blood_pressure", "image"}


TRANSACTIONAL = """<?xml version="1.0" encoding="UTF-8"?>
<ODM FileType="Transactional" FileOID="T1" CreationDateTime="2026-11-01T00:00:00" ODMVersion="1.3.2">
 <ClinicalData StudyOID="DLIPRO" MetaDataVersionOID="v1">
  <SubjectData SubjectKey="S01-001" TransactionType="Insert"><SiteRef LocationOID="S01"/>
   <StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.ENR">
    <ItemGroupData ItemGroupOID="IG.ENROL"><ItemData ItemOID="IT.SEX" Value="M"/>
     <ItemData ItemOID="IT.BRTHDTC" Value="1980-01-02"/><ItemData ItemOID="IT.DIAG" Value="AML"/></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
  <SubjectData SubjectKey="S01-002" TransactionType="Insert"><SiteRef LocationOID="S01"/>
   <StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.ENR">
    <ItemGroupData ItemGroupOID="IG.ENROL"><ItemData ItemOID="IT.SEX" Value="F"/></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
  <SubjectData SubjectKey="S01-001" TransactionType="Update">
   <StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.ENR">
    <AuditRecord><UserRef UserOID="dm.li"/><LocationRef LocationOID="S01"/>
     <DateTimeStamp>2026-10-02T09:00:00</DateTimeStamp><ReasonForChange>entry error</ReasonForChange></AuditRecord>
    <ItemGroupData ItemGroupOID="IG.ENROL" TransactionType="Update"><ItemData ItemOID="IT.SEX" Value="F"/>
     <ItemData ItemOID="IT.DIAG" TransactionType="Remove"/></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
  <SubjectData SubjectKey="S01-002" TransactionType="Remove"/>
  <SubjectData SubjectKey="S01-003" TransactionType="Insert"><SiteRef LocationOID="S01"/>
   <StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.ENR">
    <ItemGroupData ItemGroupOID="IG.ENROL" TransactionType="Upsert"><ItemData ItemOID="IT.SEX" Value="M"/></ItemGroupData>
    <ItemGroupData ItemGroupOID="IG.ENROL" TransactionType="Upsert"><ItemData ItemOID="IT.BRTHDTC" Value="1990-05-06"/></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
 </ClinicalData>
</ODM>
"""


def test_transactional_odm_applies_insert_update_upsert_remove(tmp_path):
    path = tmp_path / "tx.xml"
    path.write_text(TRANSACTIONAL, encoding="utf-8")
    content = read_odm(path)
    enrol = content.item_groups["IG.ENROL"].set_index("subject_key")
    assert content.transactional and sorted(enrol.index) == ["S01-001", "S01-003"]  # S01-002 removed
    assert enrol.loc["S01-001", "IT.SEX"] == "F"  # the correction, not the superseded "M"
    assert enrol.loc["S01-001", "IT.BRTHDTC"] == "1980-01-02"  # an Update keeps what it does not name
    assert enrol.get("IT.DIAG", pd.Series("", index=enrol.index)).loc["S01-001"] == ""  # an ItemData Remove
    assert (enrol.loc["S01-003", "IT.SEX"], enrol.loc["S01-003", "IT.BRTHDTC"]) == ("M", "1990-05-06")
    assert content.removed == 1
    assert content.audit == [{"key_path": content.audit[0]["key_path"], "subject": "S01-001", "transaction": "Update",
                              "user": "dm.li", "DateTimeStamp": "2026-10-02T09:00:00", "ReasonForChange": "entry error"}]


def test_a_snapshot_read_as_a_snapshot_keeps_both_copies(tmp_path):
    path = tmp_path / "snap.xml"
    path.write_text(TRANSACTIONAL.replace('FileType="Transactional"', 'FileType="Snapshot"'), encoding="utf-8")
    enrol = read_odm(path).item_groups["IG.ENROL"]
    assert (enrol["subject_key"] == "S01-001").sum() == 2  # two SubjectData: a duplicate to report, not merge


NO_NAMESPACE = """<?xml version="1.0" encoding="UTF-8"?>
<ODM FileType="Snapshot" FileOID="R1" ODMVersion="1.3.2" xmlns:mdsol="http://www.mdsol.com/ns/odm/metadata">
 <ClinicalData StudyOID="DLIPRO(Prod)" MetaDataVersionOID="1">
  <SubjectData SubjectKey="a1f3-uuid" mdsol:SubjectName="01-007">
   <StudyEventData StudyEventOID="SCR"><FormData FormOID="ENR">
    <ItemGroupData ItemGroupOID="ENR_LOG"><ItemDataString ItemOID="SEX">F</ItemDataString>
     <ItemDataDate ItemOID="BRTHDTC">1975-03-04</ItemDataDate><ItemDataInteger ItemOID="AGE">51</ItemDataInteger>
     <ItemDataString ItemOID="SEX">M</ItemDataString></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
 </ClinicalData>
 <ClinicalData StudyOID="OTHERSTUDY(Prod)" MetaDataVersionOID="1">
  <SubjectData SubjectKey="b2-uuid" mdsol:SubjectName="09-001"><SiteRef LocationOID="S09"/>
   <StudyEventData StudyEventOID="SCR"><FormData FormOID="ENR">
    <ItemGroupData ItemGroupOID="ENR_LOG"><ItemDataString ItemOID="SEX">M</ItemDataString></ItemGroupData>
   </FormData></StudyEventData></SubjectData>
 </ClinicalData>
</ODM>
"""


def test_typed_items_vendor_subject_ids_study_oid_and_site_default(tmp_path):
    path = tmp_path / "rave.xml"
    path.write_text(NO_NAMESPACE, encoding="utf-8")
    profile = _odm_profile(tmp_path, {"enrollment": {"item_group": ["ENR_LOG"],
                                                      "fields": {"SEX": "sex", "BRTHDTC": "brthdtc"}}},
                           study_oid="DLIPRO(Prod)", subject_key="mdsol:SubjectName", default_site="S01")
    result = IngestResult("DLIPRO")
    ingest_odm(profile, path, "edc/rave.xml", result)
    frame = result.frames_for("enrollment")[0].frame
    assert list(frame["subjid"]) == ["01-007"] and list(frame["site"]) == ["S01"]
    assert list(frame["sex"]) == ["F"] and list(frame["brthdtc"]) == ["1975-03-04"]
    rules = {f.rule_id: f for f in result.findings}
    assert rules["ODM-ITEM-REPEATED"].field == "SEX" and rules["ODM-ITEM-REPEATED"].value == "M"
    assert "1 records" in rules["ODM-OTHER-STUDY"].detail and "OTHERSTUDY(Prod)" in rules["ODM-OTHER-STUDY"].detail
    assert rules["INGEST-COLUMN-UNMAPPED"].value == "ENR_LOG/AGE"
    assert all(c.balanced for c in result.coverage)
    assert sum(c.values_in_source for c in result.coverage) == 5  # 3 read + AGE + the other study's SEX + repeat


def test_two_studies_in_one_export_without_study_oid_is_an_error(tmp_path):
    path = tmp_path / "rave.xml"
    path.write_text(NO_NAMESPACE, encoding="utf-8")
    profile = _odm_profile(tmp_path, {"enrollment": {"item_group": "ENR_LOG", "fields": {"SEX": "sex"}}})
    result = IngestResult("DLIPRO")
    ingest_odm(profile, path, "edc/rave.xml", result)
    rules = {f.rule_id for f in result.findings}
    assert {"ODM-STUDIES-MIXED", "ODM-SITE-MISSING"} <= rules


def test_redcap_label_export_keeps_checkbox_ticks(public_data, tmp_path):
    folder = public_data / "redcap-projects" / "checkboxes-1"
    raw = pd.read_csv(folder / "data.csv", dtype=str, keep_default_na=False)
    boxes = [c for c in raw.columns if "___" in c]
    labels = raw.copy()
    labels[boxes] = raw[boxes].replace({"1": "Checked", "0": "Unchecked"})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    dictionary = read_dictionary(folder / "dictionary.csv")
    from_raw = read_redcap(folder / "data.csv", dictionary).instruments["form_2"]
    from_labels = read_redcap(tmp_path / "labels.csv", dictionary).instruments["form_2"]
    assert list(from_labels["check_two"]) == list(from_raw["check_two"]) and "a|c" in set(from_labels["check_two"])


def test_redcap_encodings_are_detected_or_refused_with_a_fix(public_data, tmp_path):
    folder = public_data / "redcap-projects" / "simple"
    text = (folder / "data.csv").read_text(encoding="utf-8-sig")
    chinese = text.replace(text.splitlines()[1].split(",")[1], "王芳", 1)
    (tmp_path / "zh.csv").write_bytes(chinese.encode("gb18030"))
    assert read_redcap(tmp_path / "zh.csv", read_dictionary(folder / "dictionary.csv")).encoding == "gb18030"
    (tmp_path / "utf16.csv").write_bytes(chinese.encode("utf-16"))
    assert read_redcap(tmp_path / "utf16.csv", read_dictionary(folder / "dictionary.csv")).encoding == "utf-16"
    (tmp_path / "broken.csv").write_bytes(b"record_id,name\n1,\xff\xfe\xfd\x80\x80\n")
    with pytest.raises(SourceReadError) as raised:
        read_redcap(tmp_path / "broken.csv", read_dictionary(folder / "dictionary.csv"))
    assert "re-export it as UTF-8" in str(raised.value)
