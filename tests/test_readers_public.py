"""Readers against real files written by others (../shared/reference/public-data)."""

from pathlib import Path

import pandas as pd
import pytest

from dli_etl.ingest.errors import SourceReadError
from dli_etl.ingest.odm_reader import read_odm
from dli_etl.ingest.redcap_reader import read_dictionary, read_redcap


def test_odm_snapshot_from_an_edc(public_data: Path):
    content = read_odm(public_data / "odm-odmlib" / "odm-data-snapshot.xml")
    # SOURCE.txt: 2 subjects, 60 ItemGroupData, 165 ItemData
    groups = content.item_groups
    assert sum(len(f) for f in groups.values()) == 60
    subjects = set(pd.concat([f["subject_key"] for f in groups.values()]))
    assert len(subjects) == 2
    item_columns = [c for f in groups.values() for c in f.columns if c.startswith("IT.")]
    filled = sum(int((f[c] != "").sum()) for f in groups.values() for c in f.columns if c.startswith("IT."))
    assert filled == 165 and item_columns
    dm = groups["IG.DM"]
    assert "1966-02-10" in set(dm["IT.BRTHDAT"])
    assert content.attributes["ODMVersion"] == "1.3.2"
    assert content.item_defs  # MetaDataVersion read too


def test_odm_lineage_names_the_key_path(public_data: Path):
    content = read_odm(public_data / "odm-odmlib" / "odm-data-snapshot.xml")
    locator = content.item_groups["IG.DM"]["src_locator"].iloc[0]
    assert locator.startswith("SubjectData[") and "/ItemGroupData[IG.DM:" in locator


def test_odm_without_namespace_and_two_clinical_data_blocks(public_data: Path):
    content = read_odm(public_data / "odm-odmlib" / "test_clinical_data_01.xml")
    assert set(content.item_groups) == {"DM", "LB", "AE"}


def test_malformed_odm_gives_a_clear_error_not_a_crash(public_data: Path):
    with pytest.raises(SourceReadError) as info:
        read_odm(public_data / "odm-odmlib" / "test_odm_001.xml")
    message = str(info.value)
    assert "test_odm_001.xml" in message and "not well-formed XML" in message and "unbound prefix" in message


def test_corrected_twin_reads(public_data: Path):
    content = read_odm(public_data / "odm-odmlib" / "test_odm_002.xml")
    assert content.item_groups == {}  # metadata only
    assert content.item_defs


def test_entity_expansion_is_refused(tmp_path: Path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    '<ODM><ClinicalData><SubjectData SubjectKey="&b;"/></ClinicalData></ODM>')
    with pytest.raises(SourceReadError):
        read_odm(bomb)


def _redcap(public_data: Path, project: str):
    folder = public_data / "redcap-projects" / project
    return read_redcap(folder / "data.csv", read_dictionary(folder / "dictionary.csv"))


def test_redcap_repeating_instruments(public_data: Path):
    content = _redcap(public_data, "repeating-instruments")
    raw = pd.read_csv(public_data / "redcap-projects" / "repeating-instruments" / "data.csv", dtype=str)
    assert len(content.instruments["bp"]) == int((raw["redcap_repeat_instrument"] == "bp").sum())
    assert len(content.instruments["demographics"]) == int(raw["redcap_repeat_instrument"].isna().sum())
    assert content.instruments["bp"]["src_locator"].iloc[0] == "record=1;event=;instrument=bp;instance=1"


def test_redcap_same_study_as_odm_and_csv_agree(public_data: Path):
    csv_side = _redcap(public_data, "repeating-instruments").instruments["bp"]
    odm_side = read_odm(public_data / "redcap-projects" / "repeating-instruments" / "project.xml").item_groups
    assert len(odm_side["bp.date_bp"]) == len(csv_side)
    assert sorted(odm_side["bp.date_bp"]["bp_systolic"]) == sorted(csv_side["bp_systolic"])


def test_redcap_checkboxes_fold_into_codes(public_data: Path):
    form = _redcap(public_data, "checkboxes-1").instruments["form_2"].set_index("record_id")
    assert form.loc["1", "check_one"] == "1"
    assert form.loc["1", "check_two"] == "a|c"
    assert form.loc["3", "check_one"] == "1|2|3|4"


def test_redcap_identifier_flags_from_dictionary(public_data: Path):
    dictionary = read_dictionary(public_data / "redcap-projects" / "simple" / "dictionary.csv")
    assert {"name_first", "name_last", "telephone", "email", "address", "dob"} <= dictionary.identifiers


def test_redcap_bom_dictionary_and_empty_export(public_data: Path):
    folder = public_data / "redcap-projects" / "potentially-problematic-dictionary"
    dictionary = read_dictionary(folder / "dictionary.csv")  # starts with a UTF-8 BOM
    assert "record_id" in dictionary.field_types
    with pytest.raises(SourceReadError, match="not a readable CSV export"):
        read_redcap(folder / "data.csv", dictionary)


def test_redcap_export_of_repeating_project_with_several_instruments(public_data: Path):
    content = _redcap(public_data, "vignette-repeating")
    assert set(content.instruments) == {"intake", "blood_pressure", "laboratory", "image"}
    raw = pd.read_csv(public_data / "redcap-projects" / "vignette-repeating" / "data.csv", dtype=str)
    for name in ("blood_pressure", "laboratory", "image"):
        assert len(content.instruments[name]) == int((raw["redcap_repeat_instrument"] == name).sum())


def test_an_odm_declared_latin1_but_written_in_utf8_is_read_as_utf8(tmp_path):
    from dli_etl.ingest.odm_reader import declared_encoding_mismatch

    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<ODM FileType="Snapshot"><ClinicalData StudyOID="DLIPRO">'
            '<SubjectData SubjectKey="01-001"><SiteRef LocationOID="S01"/><StudyEventData StudyEventOID="SE">'
            '<FormData FormOID="F"><ItemGroupData ItemGroupOID="IG.AE"><ItemData ItemOID="IT.TERM" Value="肺部感染"/>'
            '</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData></ODM>')
    mislabelled = tmp_path / "mislabelled.xml"
    mislabelled.write_bytes(text.encode("utf-8"))
    assert declared_encoding_mismatch(mislabelled) == "ISO-8859-1"
    content = read_odm(mislabelled)
    assert content.item_groups["IG.AE"]["IT.TERM"].iloc[0] == "肺部感染" and "UTF-8" in content.encoding_note
    honest = tmp_path / "latin1.xml"
    honest.write_bytes(text.replace("肺部感染", "Müller").encode("latin-1"))
    assert declared_encoding_mismatch(honest) is None
    assert read_odm(honest).item_groups["IG.AE"]["IT.TERM"].iloc[0] == "Müller"
