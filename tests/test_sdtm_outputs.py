"""SDTM outputs: every domain for both studies, XPT read back by an independent reader, Define-XML,
controlled terminology, --SEQ and --DY conventions, a pooled DM."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from dli_etl.sdtm.algorithms import labels, variable_metadata
from dli_etl.sdtm.controlled_terms import ct_findings

DOMAINS = ("ts", "ta", "te", "ti", "dm", "mh", "pr", "ex", "cm", "lb", "ae", "fa", "rs", "ds", "dd")
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.mark.parametrize("study", ["DLIPRO", "DLIPLX"])
def test_every_domain_is_built(run_clean, study):
    for domain in DOMAINS:
        if study == "DLIPLX" and domain == "cm":
            continue  # Study B has no post-DLI immunosuppression form
        frame = pd.read_parquet(run_clean.out / "sdtm" / study / f"{domain}.parquet")
        assert len(frame) > 0, domain


def test_xpt_reads_back_with_same_values_names_and_labels(run_clean):
    folder = run_clean.out / "sdtm" / "DLIPRO"
    for domain in ("dm", "ex", "lb", "ae"):
        original = pd.read_parquet(folder / f"{domain}.parquet")
        back, meta = pyreadstat.read_xport(str(folder / "xpt" / f"{domain}.xpt"))
        assert list(back.columns) == list(original.columns)
        assert meta.table_name == domain.upper()
        assert meta.column_names_to_labels == {k: v for k, v in labels(domain.upper()).items() if k in back.columns}
        for column in original.columns:
            if pd.api.types.is_numeric_dtype(original[column].dtype):
                assert back[column].fillna(-1).tolist() == pytest.approx(original[column].astype("float64").fillna(-1).tolist())
            else:
                assert back[column].tolist() == original[column].fillna("").astype(str).tolist(), column


def test_submission_package_is_written_only_on_request(run_clean, run_defects):
    """run_clean asked for --submission all; run_defects took the default (none)."""
    for study in ("DLIPRO", "DLIPLX", "pooled"):
        assert (run_clean.out / "sdtm" / study / "define.xml").is_file()
        assert any((run_clean.out / "sdtm" / study / "xpt").glob("*.xpt"))
    assert not list((run_defects.out / "sdtm").rglob("*.xpt"))
    assert not list((run_defects.out / "sdtm").rglob("define.xml"))
    assert (run_defects.out / "sdtm" / "DLIPRO" / "dm.parquet").is_file()
    assert "submission package (SAS XPT v5 and Define-XML 2.1): not requested" in run_defects.report.read_text()


def test_submission_scope_study_leaves_out_pooled(run_clean, tmp_path):
    from dli_etl.pipeline import write_submission_files

    class Run:
        study = "DLIPRO"
        sdtm = {"dm": pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")}

    pooled = {"sdtm/pooled/dm": pd.read_parquet(run_clean.out / "sdtm" / "pooled" / "dm.parquet")}
    written = write_submission_files([Run()], pooled, tmp_path, "study")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["sdtm/DLIPRO/define.xml",
                                                                            "sdtm/DLIPRO/xpt/dm.xpt"]
    with pytest.raises(ValueError, match="submission scope"):
        write_submission_files([Run()], pooled, tmp_path, "pooled")


def test_xpt_names_and_labels_within_v5_limits(run_clean):
    for path in (run_clean.out / "sdtm").rglob("*.xpt"):
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        assert all(len(c) <= 8 for c in meta.column_names)
        assert all(len(v or "") <= 40 for v in meta.column_labels)


def test_define_lists_every_dataset_and_variable(run_clean):
    for study in ("DLIPRO", "DLIPLX", "pooled"):
        root = ET.parse(run_clean.out / "sdtm" / study / "define.xml").getroot()
        groups = {g.get("Name"): g for g in root.iter(f"{ODM}ItemGroupDef")}
        items = {i.get("OID") for i in root.iter(f"{ODM}ItemDef")}
        for xpt in (run_clean.out / "sdtm" / study / "xpt").glob("*.xpt"):
            domain = xpt.stem.upper()
            assert domain in groups, domain
            _, meta = pyreadstat.read_xport(str(xpt), metadataonly=True)
            refs = {r.get("ItemOID") for r in groups[domain].iter(f"{ODM}ItemRef")}
            assert refs == {f"IT.{domain}.{c}" for c in meta.column_names}
            assert refs <= items
        standards = [s.get("Version") for s in root.iter("{http://www.cdisc.org/ns/def/v2.1}Standard")]
        assert "2025-03-25" in standards


def test_pooled_dm_across_both_studies(run_clean):
    dm = pd.read_parquet(run_clean.out / "sdtm" / "pooled" / "dm.parquet")
    assert dm.groupby("STUDYID").size().to_dict() == {"DLIPLX": 28, "DLIPRO": 200}
    assert dm["USUBJID"].is_unique


@pytest.mark.parametrize("domain", ["ex", "lb", "ae", "fa", "ds", "mh"])
def test_seq_unique_per_subject_and_every_subject_in_dm(run_clean, domain):
    for study in ("DLIPRO", "DLIPLX"):
        frame = pd.read_parquet(run_clean.out / "sdtm" / study / f"{domain}.parquet")
        dm = pd.read_parquet(run_clean.out / "sdtm" / study / "dm.parquet")
        seq = f"{domain.upper()}SEQ"
        assert not frame.duplicated(["USUBJID", seq]).any()
        assert set(frame["USUBJID"]) <= set(dm["USUBJID"])


def test_study_day_consistent_with_dates(run_clean):
    lb = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "lb.parquet")
    dm = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")[["USUBJID", "RFSTDTC"]]
    merged = lb.merge(dm, on="USUBJID")
    delta = (pd.to_datetime(merged["LBDTC"]) - pd.to_datetime(merged["RFSTDTC"])).dt.days
    expected = delta.where(delta < 0, delta + 1)
    assert (merged["LBDY"] == expected).all()
    assert (merged["LBDY"] != 0).all() and (merged["LBDY"] < 0).any()


def test_dli_dose_units_and_gvhd_in_fa(run_clean):
    ex = pd.read_parquet(run_clean.out / "sdtm" / "DLIPLX" / "ex.parquet")
    assert set(ex["EXTRT"]) >= {"DONOR LYMPHOCYTE INFUSION", "PLERIXAFOR"}
    plx = ex[ex["EXTRT"] == "PLERIXAFOR"]
    assert set(plx["EXDOSU"]) == {"ug/kg"} and set(plx["EXROUTE"]) == {"SUBCUTANEOUS"} and set(plx["EXDOSFRQ"]) == {"BID"}
    fa = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "fa.parquet")
    assert {"GASTROINTESTINAL TRACT, UPPER", "GASTROINTESTINAL TRACT, LOWER", "SKIN", "LIVER"} <= set(fa["FALOC"].dropna())
    assert set(fa.loc[fa["FATESTCD"] == "SEV", "FAORRES"]) <= {"NONE", "MILD", "MODERATE", "SEVERE"}


def test_clean_sdtm_values_are_in_their_codelists(run_clean):
    findings = pd.read_parquet(run_clean.out / "findings" / "findings.parquet")
    assert not (findings["rule_id"] == "CT-SDTM-NOT-IN-CODELIST").any()
    sponsor = set(findings.loc[findings["rule_id"] == "CT-SDTM-SPONSOR-VALUE", "value"])
    assert "MRDFLOW" in sponsor  # no CDISC code exists for flow MRD: documented as a sponsor extension


def test_value_outside_a_non_extensible_codelist_is_an_error():
    dm = pd.DataFrame({"SEX": ["M", "UNDIFFERENTIATED"], "AGEU": ["YEARS", "YEARS"]})
    found = ct_findings("DLIPRO", "dm", dm)
    assert [(f.rule_id, f.field, f.value) for f in found] == [("CT-SDTM-NOT-IN-CODELIST", "SEX", "UNDIFFERENTIATED")]


def test_partial_dates_stay_partial_in_sdtm():
    from dli_etl.sdtm.algorithms import study_day

    dtc = pd.Series(["2026-03", "2026-03-15"], dtype="string")
    ref = pd.Series(["2026-03-01", "2026-03-01"], dtype="string")
    assert study_day(dtc, ref).isna().tolist() == [True, False]


def test_every_record_can_be_traced_to_its_source(run_clean):
    lineage = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "lineage.parquet")
    for domain in ("lb", "ae", "fa", "mh", "ds", "cm"):
        frame = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / f"{domain}.parquet")
        seq = f"{domain.upper()}SEQ"
        traced = lineage[lineage["DOMAIN"] == domain.upper()].merge(
            frame[["USUBJID", seq]], left_on=["USUBJID", "SEQ"], right_on=["USUBJID", seq])
        assert len(traced) == len(frame), domain
        assert traced["src_file"].str.startswith("DLIPRO/").all() and traced["src_locator"].str.len().gt(0).all()


def test_relrec_links_each_graded_ae_to_its_lab_result(run_clean):
    folder = run_clean.out / "sdtm" / "DLIPRO"
    relrec = pd.read_parquet(folder / "relrec.parquet")
    ae = pd.read_parquet(folder / "ae.parquet")
    lb = pd.read_parquet(folder / "lb.parquet")
    assert len(relrec) > 0 and relrec.groupby("RELID").size().eq(2).all()
    for _relid, pair in relrec.groupby("RELID"):
        a = pair[pair["RDOMAIN"] == "AE"].iloc[0]
        b = pair[pair["RDOMAIN"] == "LB"].iloc[0]
        ae_row = ae[(ae["USUBJID"] == a["USUBJID"]) & (ae["AESEQ"] == int(a["IDVARVAL"]))].iloc[0]
        lb_row = lb[(lb["USUBJID"] == b["USUBJID"]) & (lb["LBSEQ"] == int(b["IDVARVAL"]))].iloc[0]
        assert ae_row["AESTDTC"] == lb_row["LBDTC"]
        assert ae_row["AETOXGR"] == lb_row["LBTOXGR"]  # the AE grade is the lab's CTCAE grade


def test_visits_and_epochs(run_clean):
    sv = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "sv.parquet")
    assert {"SCREENING AND TRANSPLANT", "RANDOMIZATION", "DLI 1"} <= set(sv["VISIT"])
    assert not sv.duplicated(["USUBJID", "VISITNUM"]).any()
    ex = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "ex.parquet")
    assert set(ex.loc[ex["EXTRT"] == "DONOR LYMPHOCYTE INFUSION", "EPOCH"]) == {"TREATMENT"}
    lb = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "lb.parquet")
    assert set(lb["EPOCH"].dropna()) == {"SCREENING", "TREATMENT", "FOLLOW-UP"}


def test_protocol_deviations_become_dv_records(run_defects):
    dv = pd.read_parquet(run_defects.out / "sdtm" / "DLIPRO" / "dv.parquet")
    findings = pd.read_parquet(run_defects.out / "findings" / "findings.parquet")
    pd_findings = findings[(findings["study"] == "DLIPRO") & findings["rule_id"].str.startswith("PD-")]
    assert len(dv) == len(pd_findings) > 0
    assert set(dv["DVDECOD"]) == set(pd_findings["rule_id"])


def test_mapping_spec_drives_domains_and_reports_unmapped_values():
    from dli_etl.sdtm.mapping_spec import ALGORITHMS, map_domain, mapping_spec

    spec = mapping_spec("DLIPRO")
    assert set(spec["algorithm"]) <= set(ALGORITHMS)
    assert {"MH", "PR", "CM", "FA", "RS", "DS", "DD"} <= set(spec["domain"])
    dm = pd.DataFrame({"USUBJID": ["DLIPRO-S01-01-001"], "RFSTDTC": ["2026-02-01"]})
    response = pd.DataFrame({"usubjid": ["DLIPRO-S01-01-001"] * 2, "site": ["S01"] * 2, "subjid": ["01-001"] * 2,
                             "response": ["CR", "STABLE-ISH"], "rsdt": ["2026-05-01", "2026-06-01"],
                             "src_file": ["f"] * 2, "src_sha256": ["x"] * 2, "src_locator": ["a", "b"],
                             "row_id": ["r1", "r2"]})
    rs, supp, findings = map_domain("DLIPRO", "RS", {"response": response}, dm)
    assert rs["RSSTRESC"].tolist()[0] == "CR" and pd.isna(rs["RSSTRESC"].tolist()[1])
    assert rs["RSDY"].tolist() == [90, 121]
    assert [(f.rule_id, f.value) for f in findings] == [("SDTM-VALUE-UNMAPPED", "STABLE-ISH")]
    assert supp is None


def test_define_lists_only_datasets_with_records_and_types_counts_as_integers(run_clean):
    for study in ("DLIPRO", "DLIPLX"):
        root = ET.parse(run_clean.out / "sdtm" / study / "define.xml").getroot()
        for group in root.iter(f"{ODM}ItemGroupDef"):
            frame = pd.read_parquet(run_clean.out / "sdtm" / study / f"{group.get('Name').lower()}.parquet")
            assert len(frame) > 0, (study, group.get("Name"))
        types = {i.get("OID"): i.get("DataType") for i in root.iter(f"{ODM}ItemDef")}
        assert types["IT.LB.LBSEQ"] == types["IT.LB.LBDY"] == "integer" and types["IT.LB.LBSTRESN"] == "float"
        lb = pd.read_parquet(run_clean.out / "sdtm" / study / "lb.parquet") if study == "DLIPRO" else None
        if lb is not None:
            assert str(lb["LBSEQ"].dtype) == "Int64" and str(lb["LBSTRESN"].dtype) == "Float64"


def test_trial_summary_codes_its_values_and_lists_one_value_per_record(run_clean):
    ts = pd.read_parquet(run_clean.out / "sdtm" / "DLIPLX" / "ts.parquet").set_index(["TSPARMCD", "TSSEQ"])
    assert ts.loc[("TRT", 1), "TSVAL"] == "DONOR LYMPHOCYTE INFUSION" and ts.loc[("TRT", 2), "TSVAL"] == "PLERIXAFOR"
    # C-codes from the NCI EVS SDTM CT 2025-03-25 package in ../shared/reference/public-data/ct-sdtm-nci-evs
    assert (ts.loc[("STYPE", 1), "TSVALCD"], ts.loc[("INTMODEL", 1), "TSVALCD"]) == ("C98388", "C82640")
    assert ts.loc[("STYPE", 1), "TSVCDVER"] == "2025-03-25"
    assert ts.loc[("SSTDTC", 1), "TSVAL"] == pd.read_parquet(run_clean.out / "sdtm" / "DLIPLX" / "dm.parquet")["RFICDTC"].min()


def test_parquet_columns_carry_their_labels(run_clean):
    import pyarrow.parquet as pq

    dm = pq.read_schema(run_clean.out / "sdtm" / "DLIPRO" / "dm.parquet")
    assert dm.field("USUBJID").metadata[b"label"] == b"Unique Subject Identifier"
    assert dm.field("ARMNRS").metadata[b"label"] == b"Reason Arm and/or Actual Arm is Null"
    cbc = pq.read_schema(run_clean.out / "curated" / "DLIPRO" / "cbc.parquet")
    assert cbc.field("anc").metadata[b"label"] == b"Absolute neutrophil count"


def test_define_binds_ct_variables_to_codelists_with_their_nci_codes(run_clean):
    """Every variable the metadata binds to a shipped codelist has a CodeListRef; the CodeList carries
    the NCI C-codes of the shipped CT subset (read here from the CSV), and every value the dataset holds
    is listed (sponsor values of an extensible codelist as def:ExtendedValue)."""
    import csv
    from importlib import resources

    rows = list(csv.DictReader((resources.files("dli_etl") / "specs" / "sdtm_ct_subset.csv").open(encoding="utf-8")))
    ct_codes = {(r["codelist"], r["submission_value"]): r["term_code"] for r in rows}
    list_codes = {r["codelist"]: r["codelist_code"] for r in rows}
    meta = variable_metadata()
    root = ET.parse(run_clean.out / "sdtm" / "DLIPRO" / "define.xml").getroot()
    codelists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    checked = 0
    for item in root.iter(f"{ODM}ItemDef"):
        if item.get("OID").count(".") > 2:
            continue  # value-level metadata (IT.LB.LBORRES.WBC): the variable's codelist is on its ItemDef
        _, domain, variable = item.get("OID").split(".", 2)
        bound = meta[(meta["domain"] == domain) & (meta["variable"] == variable)]["codelist"].iloc[0]
        ref = item.find(f"{ODM}CodeListRef")
        if bound not in list_codes:
            # no CT codelist; only an external dictionary (the CTCAE terms of AE) may be referenced
            assert ref is None or codelists[ref.get("CodeListOID")].find(f"{ODM}ExternalCodeList") is not None, \
                item.get("OID")
            continue
        codelist = codelists[ref.get("CodeListOID")]
        assert codelist.get("Name") == bound
        assert codelist.find(f"{ODM}Alias").get("Name") == list_codes[bound]
        listed = {}
        for enumerated in codelist.iter(f"{ODM}EnumeratedItem"):
            alias = enumerated.find(f"{ODM}Alias")
            listed[enumerated.get("CodedValue")] = alias.get("Name") if alias is not None else None
            if alias is not None:
                assert ct_codes[(bound, enumerated.get("CodedValue"))] == alias.get("Name")
        data = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / f"{domain.lower()}.parquet")[variable]
        assert set(data.dropna().astype(str)) <= set(listed), (domain, variable)
        checked += 1
    assert checked >= 10  # SEX, ARMCD-like, AESEV, LBTESTCD... are bound


DEF = "{http://www.cdisc.org/ns/def/v2.1}"


def test_define_says_where_each_variable_comes_from_and_describes_lb_and_fa_per_test(run_clean):
    """Define-XML 2.1: every ItemDef has a def:Origin; a derived variable's ItemRef names a MethodDef that
    exists; LB and FA results have value-level metadata, one ItemRef per test under a WhereClause
    ``--TESTCD EQ code``; MetaDataVersion children come in the order the 2.1 schema fixes."""
    root = ET.parse(run_clean.out / "sdtm" / "DLIPRO" / "define.xml").getroot()
    mdv = root.find(f".//{ODM}MetaDataVersion")
    schema_order = ["Standards", "ValueListDef", "WhereClauseDef", "ItemGroupDef", "ItemDef", "CodeList", "MethodDef"]
    seen = [c.tag.rsplit("}", 1)[1] for c in mdv]
    assert [t for i, t in enumerate(seen) if i == 0 or seen[i - 1] != t] == schema_order
    items = {i.get("OID"): i for i in mdv.iter(f"{ODM}ItemDef")}
    origin = {oid: i.find(f"{DEF}Origin").get("Type") for oid, i in items.items()}
    assert set(origin.values()) <= {"Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available"}
    # SDTMIG / Define-XML conventions: collected on the CRF, assigned by the sponsor, derived by a method
    expected = {"IT.DM.USUBJID": "Derived", "IT.LB.LBORRES": "Collected", "IT.LB.LBSTRESN": "Derived",
                "IT.LB.LBTESTCD": "Assigned", "IT.LB.LBTOXGR": "Derived", "IT.AE.AETOXGR": "Collected",
                "IT.AE.AESEQ": "Derived", "IT.LB.LBDY": "Derived", "IT.TS.TSVAL": "Protocol", "IT.DM.STUDYID": "Assigned"}
    assert {oid: origin[oid] for oid in expected} == expected
    assert items["IT.LB.LBORRES"].find(f"{DEF}Origin").get("Source") == "Investigator"
    methods = {m.get("OID") for m in mdv.iter(f"{ODM}MethodDef")}
    for ref in mdv.iter(f"{ODM}ItemRef"):
        derived = origin[ref.get("ItemOID")] == "Derived"
        assert (ref.get("MethodOID") in methods) if derived else ref.get("MethodOID") is None, ref.get("ItemOID")
    clauses = {w.get("OID"): w for w in mdv.iter(f"{DEF}WhereClauseDef")}
    for domain, testcd, variable in (("LB", "LBTESTCD", "LBORRES"), ("LB", "LBTESTCD", "LBSTRESN"),
                                     ("FA", "FATESTCD", "FAORRES")):
        data = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / f"{domain.lower()}.parquet")
        value_list = mdv.find(f"{DEF}ValueListDef[@OID='VL.{domain}.{variable}']")
        assert items[f"IT.{domain}.{variable}"].find(f"{DEF}ValueListRef").get("ValueListOID") == f"VL.{domain}.{variable}"
        tests = set()
        for ref in value_list.iter(f"{ODM}ItemRef"):
            check = clauses[ref.find(f"{DEF}WhereClauseRef").get("WhereClauseOID")].find(f"{ODM}RangeCheck")
            assert check.get("Comparator") == "EQ" and check.get(f"{DEF}ItemOID") == f"IT.{domain}.{testcd}"
            code = check.find(f"{ODM}CheckValue").text
            assert ref.get("ItemOID") == f"IT.{domain}.{variable}.{code}" and ref.get("ItemOID") in items
            tests.add(code)
        assert tests == set(data[testcd].dropna())  # one per test the dataset holds
    assert items["IT.LB.LBSTRESN.WBC"].get("DataType") == "float"


@pytest.fixture(scope="module")
def define_21_schema():
    """The Define-XML 2.1 schema as CDISC publishes it, shipped inside odmlib (CDISC's own Python ODM
    library): an independent judge of the files the writer produces."""
    odmlib = pytest.importorskip("odmlib")
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"))


@pytest.mark.parametrize("study", ["DLIPRO", "DLIPLX"])
def test_define_validates_against_the_define_xml_21_schema(run_clean, define_21_schema, study):
    path = run_clean.out / "sdtm" / study / "define.xml"
    errors = [f"{e.path}: {e.reason}" for e in define_21_schema.iter_errors(str(path))]
    assert errors == []
    root = ET.parse(path).getroot()
    # valid and not empty: the schema allows a define without codelists or value-level metadata
    assert root.findall(f".//{ODM}CodeList") and root.findall(f".//{DEF}ValueListDef")


def test_ae_terms_name_their_dictionary_ctcae_not_meddra(run_clean):
    """AEDECOD holds the CTCAE v5.0 term and AEBODSYS its system organ class: the define binds both to an
    external CTCAE 5.0 dictionary, never to MedDRA."""
    root = ET.parse(run_clean.out / "sdtm" / "DLIPRO" / "define.xml").getroot()
    lists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    for variable in ("AEDECOD", "AEBODSYS"):
        item = root.find(f".//{ODM}ItemDef[@OID='IT.AE.{variable}']")
        external = lists[item.find(f"{ODM}CodeListRef").get("CodeListOID")].find(f"{ODM}ExternalCodeList")
        assert (external.get("Dictionary"), external.get("Version")) == ("CTCAE", "5.0")
    assert "MedDRA" not in ET.tostring(root, encoding="unicode")


def test_the_define_schema_check_rejects_what_define_xml_21_forbids(run_clean, define_21_schema, tmp_path):
    """The check above can fail: a Standard with a name outside the 2.1 enumeration (the error CDISC's own
    MSG 2.0 sample define carries) and an ItemDef without its required DataType are both reported."""
    text = (run_clean.out / "sdtm" / "DLIPRO" / "define.xml").read_text(encoding="utf-8")
    broken = tmp_path / "define.xml"
    broken.write_text(re.sub(r'Name="SDTMIG"', 'Name="STDTMIG"', text, count=1)
                      .replace('DataType="text"', "", 1), encoding="utf-8")
    reasons = " ".join(str(e.reason) for e in define_21_schema.iter_errors(str(broken)))
    assert "STDTMIG" in reasons and "DataType" in reasons


def test_a_lab_draw_takes_the_visit_whose_dates_contain_it(run_clean):
    lb = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "lb.parquet")
    sv = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "sv.parquet")
    windows = {}
    for row in sv.itertuples():
        windows.setdefault(row.USUBJID, []).append((row.SVSTDTC, row.SVENDTC, row.VISITNUM, row.VISIT))
    assigned = 0
    for row in lb.itertuples():
        day = str(row.LBDTC)[:10]
        holding = [w for w in windows.get(row.USUBJID, []) if w[0] <= day <= w[1]]
        if not holding:
            assert pd.isna(row.VISITNUM) and pd.isna(row.VISIT)
            continue
        narrowest = min(holding, key=lambda w: (pd.Timestamp(w[1]) - pd.Timestamp(w[0]), w[2]))
        assert (narrowest[2], narrowest[3]) == (row.VISITNUM, row.VISIT)
        assigned += 1
    assert assigned > 0


def test_fa_keeps_the_raw_measures_behind_each_acute_gvhd_stage(run_clean):
    fa = pd.read_parquet(run_clean.out / "sdtm" / "DLIPRO" / "fa.parquet")
    agvhd = pd.read_parquet(run_clean.out / "curated" / "DLIPRO" / "agvhd.parquet")
    for field, testcd, unit, location in (("skin_bsa", "RASHBSA", "%", "SKIN"), ("bilirubin_mg_dl", "BILI", "mg/dL", "LIVER"),
                                          ("stool_ml_day", "STOOLVOL", "mL/day", "GASTROINTESTINAL TRACT, LOWER")):
        measured = agvhd[agvhd[field].notna()]
        records = fa[(fa["FAOBJ"] == "ACUTE GRAFT VERSUS HOST DISEASE") & (fa["FATESTCD"] == testcd)]
        assert len(records) == len(measured) > 0, testcd
        assert set(records["FAORRESU"]) == set(records["FASTRESU"]) == {unit} and set(records["FALOC"]) == {location}
        # the same number as collected, on the date of the assessment whose stage it explains
        collected = sorted(zip(measured["usubjid"], measured["assessment_date"], measured[field].astype(float), strict=True))
        mapped = sorted(zip(records["USUBJID"], records["FADTC"], records["FASTRESN"].astype(float), strict=True))
        assert mapped == collected
