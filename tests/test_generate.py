"""The synthetic generator: deterministic, realistic formats, clinically coherent clean data."""

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from dli_etl.ingest.odm_reader import read_odm
from dli_etl.rules.ctcae_labs import ctcae_grade_decrease, ctcae_grade_from_anc
from dli_etl.rules.magic_agvhd import magic_overall_grade
from dli_etl.synth.generate import generate


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_files(tmp_path: Path, generated_defects):
    again = generate(tmp_path / "again", seed=20261101, defect_rate=0.03)
    for first, second in zip(generated_defects.files, again.files, strict=True):
        assert first.name == second.name
        assert _sha(first) == _sha(second), first.name
    assert _sha(generated_defects.manifest) == _sha(again.manifest)


def test_manifest_is_outside_landing(generated_defects):
    assert generated_defects.landing not in generated_defects.manifest.parents
    assert not list(generated_defects.landing.rglob("*manifest*"))


def test_both_studies_and_all_formats(generated_clean):
    landing = generated_clean.landing
    assert generated_clean.subjects == {"DLIPRO": 200, "DLIPLX": 28}
    assert len(list((landing / "DLIPRO" / "sites").glob("*/*.xlsx"))) == 6
    assert list((landing / "DLIPLX" / "redcap").glob("*_DataDictionary.csv"))
    odm = next((landing / "DLIPRO" / "edc").glob("*.xml")).read_text(encoding="utf-8")
    assert 'ODMVersion="1.3.2"' in odm and "<MetaDataVersion" in odm and "<AuditRecord>" in odm
    assert 'ItemGroupRepeatKey="' in odm and 'StudyEventRepeatKey="' in odm


def test_site_layouts_differ_as_profiles_say(generated_clean):
    sites = generated_clean.landing / "DLIPRO" / "sites"
    zh = CalamineWorkbook.from_path(str(next((sites / "S02").glob("*.xlsx"))))
    assert "血常规" in zh.sheet_names
    header = zh.get_sheet_by_name("血常规").to_python()[0]
    assert "中性粒细胞(×10^9/L)" in header and "血红蛋白(g/L)" in header
    first_date = zh.get_sheet_by_name("血常规").to_python()[1][1]
    assert "年" in first_date and "月" in first_date
    titled = CalamineWorkbook.from_path(str(next((sites / "S03").glob("*.xlsx"))))
    hidden = [m.name for m in titled.sheets_metadata if not str(m.visible).endswith("Visible")]
    assert hidden == ["lookup"]
    rows = titled.get_sheet_by_name("Haematology").to_python(skip_empty_area=False)
    assert rows[0][0].endswith("local laboratory results") and rows[4][0] == "Patient study no."
    assert isinstance(rows[5][1], float) and 45000 < rows[5][1] < 47000  # an Excel serial date
    assert rows[6][0] == ""  # subject ID merged down its rows


def _odm_forms(landing: Path) -> dict[str, pd.DataFrame]:
    return read_odm(next((landing / "DLIPRO" / "edc").glob("*.xml"))).item_groups


def test_study_a_arms_are_balanced_and_dli_timing_follows_protocol(generated_clean):
    forms = _odm_forms(generated_clean.landing)
    rand = forms["IG.RAND"].set_index("subject_key")
    assert (rand["IT.ARMCD"].value_counts() == 100).all()
    hsct = forms["IG.HSCT"].set_index("subject_key")["IT.HSCTDT"].map(date.fromisoformat)
    dli = forms["IG.DLI"]
    day = [(date.fromisoformat(d) - hsct[s]).days for s, d in zip(dli["subject_key"], dli["IT.DLIDT"], strict=True)]
    arm = rand.loc[dli["subject_key"], "IT.ARMCD"].to_numpy()
    proph_days = [d for d, a in zip(day, arm, strict=True) if a == "PROPH"]
    assert proph_days and all(45 <= d <= 60 for d in proph_days)
    chemo = forms["IG.CHEMO"].merge(dli, on=["subject_key", "event_repeat_key"])
    gaps = [(date.fromisoformat(d) - date.fromisoformat(c)).days for c, d in zip(chemo["IT.CHENDT"], chemo["IT.DLIDT"], strict=True)]
    assert gaps and set(gaps) <= {2, 3}  # chemotherapy 48-72 h before preemptive DLI
    assert set(arm[[d > 60 for d in day]]) <= {"PREEMPT"}


def test_relapse_rate_is_plausible(generated_clean):
    fu = _odm_forms(generated_clean.landing)["IG.FU"]
    rate = (fu["IT.RELAPSE"] == "Y").mean()
    assert 0.1 <= rate <= 0.45


def test_magic_grades_agree_with_stages_on_clean_data(generated_clean):
    gvhd = _odm_forms(generated_clean.landing)["IG.AGVHD"]
    assert len(gvhd) > 10
    for _, row in gvhd.iterrows():
        stages = [int(row[c]) for c in ("IT.SKINSTG", "IT.LIVSTG", "IT.UGISTG", "IT.LGISTG")]
        assert int(row["IT.AGVHDGR"]) == magic_overall_grade(*stages)


def test_lab_graded_adverse_events_agree_with_the_lab_value(generated_clean):
    landing = generated_clean.landing
    ae = _odm_forms(landing)["IG.AE"]
    lab_ae = ae[ae["IT.AETERM"].isin(["Neutrophil count decreased", "Platelet count decreased"])]
    assert len(lab_ae) > 5
    wb = CalamineWorkbook.from_path(str(next((landing / "DLIPRO" / "sites" / "S01").glob("*.xlsx"))))
    rows = wb.get_sheet_by_name("CBC").to_python()
    cbc = pd.DataFrame(rows[1:], columns=rows[0])
    cbc["date"] = pd.to_datetime(cbc["Sample date"], format="%d/%m/%Y").dt.date.astype(str)
    checked = 0
    for _, event in lab_ae[lab_ae["subject_key"].str.startswith("01-")].iterrows():
        lab = cbc[(cbc["Subject ID"] == event["subject_key"]) & (cbc["date"] == event["IT.AESTDT"])]
        assert len(lab) == 1
        if event["IT.AETERM"] == "Neutrophil count decreased":
            expected = ctcae_grade_from_anc(float(lab["ANC (10^9/L)"].iloc[0]), 1.8)
        else:
            expected = ctcae_grade_decrease("Platelet count decreased", float(lab["PLT (10^9/L)"].iloc[0]), 125)
        assert int(event["IT.AETOXGR"]) == expected
        checked += 1
    assert checked > 0


def test_study_b_plerixafor_days_10_to_14_after_dli(generated_clean):
    data = next((generated_clean.landing / "DLIPLX" / "redcap").glob("*_DATA_*.csv"))
    raw = pd.read_csv(data, dtype=str, keep_default_na=False)
    dli = raw[raw["dli_date"] != ""][["record_id", "redcap_event_name", "dli_date", "chemo_end"]]
    plx = raw[raw["redcap_repeat_instrument"] == "plerixafor"]
    merged = plx.merge(dli, on=["record_id", "redcap_event_name"], suffixes=("", "_dli"))
    days = (pd.to_datetime(merged["plx_date"]) - pd.to_datetime(merged["dli_date_dli"])).dt.days
    assert set(days) == {10, 11, 12, 13, 14}
    assert set(merged["plx_doses_given"]) == {"2"}  # twice daily
    assert set((pd.to_datetime(dli["dli_date"]) - pd.to_datetime(dli["chemo_end"])).dt.days) == {3}
    assert raw["record_id"].nunique() == 28


def test_cgvhd_severity_follows_organ_scores_on_clean_data(generated_clean):
    from dli_etl.rules.nih_cgvhd import nih_global_severity

    cg = _odm_forms(generated_clean.landing)["IG.CGVHD"]
    assert len(cg) > 5
    organs = {"skin": "IT.CGSKIN", "mouth": "IT.CGMOUTH", "eyes": "IT.CGEYES", "gi": "IT.CGGI", "liver": "IT.CGLIVER",
              "lungs": "IT.CGLUNGS", "joints": "IT.CGJOINTS", "genital": "IT.CGGENIT"}
    for _, row in cg.iterrows():
        assert row["IT.CGSEV"] == nih_global_severity({o: int(row[c]) for o, c in organs.items()})


def test_generate_at_scale_adds_subjects_sites_and_their_profiles(tmp_path):
    from dli_etl.pipeline import ingest
    from dli_etl.site_profile import load_profiles

    result = generate(tmp_path, seed=7, defect_rate=0.0, scale=2)
    assert result.subjects == {"DLIPRO": 400, "DLIPLX": 56}
    sites = sorted(p.name for p in (result.landing / "DLIPRO" / "sites").iterdir())
    assert sites == [f"S{n:02d}" for n in range(1, 13)]
    profiles = load_profiles(result.profiles)
    edc = next(p for p in profiles if p.key == "DLIPRO/EDC/odm")
    assert edc.sites == tuple(sites)
    ingested = ingest("DLIPRO", result.landing, profiles)
    rules = {f.rule_id for f in ingested.findings}
    assert not rules & {"INGEST-NO-PROFILE", "ODM-SITE-UNKNOWN", "INGEST-SHEET-MISSING", "INGEST-COLUMN-MISSING"}
    assert {raw.frame["site"].iloc[0] for raw in ingested.frames_for("cbc")} == set(sites)
