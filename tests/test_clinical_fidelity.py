"""Clinical rules held to the protocols and clinical.md (issue: clinical fidelity)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dli_etl.adam.adae import build_adae


def test_infection_class_comes_from_the_collected_category():
    """Study A's secondary endpoint counts bacterial, viral and fungal infections. CTCAE v5 has no
    pathogen-specific term for pneumonia ("Lung infection", clinical.md 3.3), so the class is what the site
    collected; the term list only fills in when nothing was collected."""
    usubjid = "DLIPRO-S01-01-001"
    ae = pd.DataFrame({"STUDYID": "DLIPRO", "USUBJID": usubjid, "AESEQ": [1, 2, 3],
                       "AETERM": ["Lung infection", "Sepsis", "Lung infection"],
                       "AEDECOD": ["Lung infection", "Sepsis", "Lung infection"], "AEBODSYS": "Infections and infestations",
                       "AECAT": "INFECTION", "AESER": "N", "AEREL": "NOT RELATED", "AETOXGR": "3",
                       "AESTDTC": ["2026-02-01", "2026-02-10", "2026-03-01"], "AEENDTC": None})
    suppae = pd.DataFrame({"STUDYID": "DLIPRO", "RDOMAIN": "AE", "USUBJID": usubjid, "IDVAR": "AESEQ",
                           "IDVARVAL": ["1", "2"], "QNAM": "INFCAT", "QLABEL": "Infection Category",
                           "QVAL": ["FUNGAL", "BACTERIAL"], "QORIG": "CRF", "QEVAL": ""})
    adsl = pd.DataFrame({"USUBJID": [usubjid], "SITEID": "S01", "ARMCD": "PROPH", "ARM": "Prophylactic DLI",
                         "TRTSDT": [pd.Timestamp("2026-01-15")]})
    adae = build_adae(adsl, {"ae": ae, "suppae": suppae}).set_index("AESEQ")
    assert adae.loc[1, "INFCAT"] == "FUNGAL"        # collected, not guessed from "Lung infection"
    assert adae.loc[2, "INFCAT"] == "BACTERIAL"
    assert adae.loc[3, "INFCAT"] == "UNSPECIFIED"   # nothing collected, and the term does not say


def test_relapse_is_from_cr_only_after_a_cr():
    """CDISC ONCRSR (clinical.md 6.3) has both "RELAPSED DISEASE FROM CR" and "RELAPSED DISEASE"."""
    from dli_etl.sdtm.response import code_relapse_origin

    rs = pd.DataFrame({"USUBJID": ["B1", "B1", "B2", "B3", "B3"],
                       "RSSTRESC": ["CR", "RELAPSED DISEASE", "RELAPSED DISEASE", "PR", "RELAPSED DISEASE"],
                       "RSDTC": ["2026-02-01", "2026-05-01", "2026-03-01", "2026-02-01", "2026-04-01"]})
    study_b = code_relapse_origin(rs, in_cr_at_entry=False)
    assert study_b["RSSTRESC"].tolist() == ["CR", "RELAPSED DISEASE FROM CR", "RELAPSED DISEASE", "PR",
                                            "RELAPSED DISEASE"]
    # Study A enrols only subjects in MRD-negative remission: every relapse is from CR
    study_a = code_relapse_origin(rs, in_cr_at_entry=True)
    assert study_a["RSSTRESC"].tolist() == ["CR", "RELAPSED DISEASE FROM CR", "RELAPSED DISEASE FROM CR", "PR",
                                            "RELAPSED DISEASE FROM CR"]


def _rows(form: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    n = len(frame)
    return frame.assign(study="DLIPRO", site="S01", usubjid="DLIPRO-S01-" + frame["subjid"],
                        src_file=f"{form}.xlsx", src_sha256="0", src_locator=[f"{form}!{i + 2}" for i in range(n)],
                        row_id=[f"{form}#{i}" for i in range(n)])


def _locate(row: pd.Series, field: str) -> str:
    return f"{row['src_locator']}:{field}"


FOLLOWUP = _rows("followup", [
    {"subjid": "01-001", "death": "Y", "death_date": "2026-03-10", "death_cause": "INFECTION", "last_contact": "2026-03-10"},
    {"subjid": "01-002", "death": "Y", "death_date": "2026-04-01", "death_cause": "RELAPSE", "last_contact": "2026-04-01"},
    {"subjid": "01-003", "death": "Y", "death_date": "2026-05-01", "death_cause": "GVHD", "last_contact": "2026-05-01"},
    {"subjid": "01-004", "death": "N", "death_date": None, "death_cause": None, "last_contact": "2026-06-30"},
])


def test_a_non_disease_death_needs_its_grade_5_ae():
    """clinical.md 3.2: a fatal AE is reported as grade 5 under the causative term. A relapse death needs
    none (disease deaths are excluded from AE listings by protocol)."""
    from dli_etl.rules.death_consistency import death_without_fatal_ae_findings

    ae = _rows("adverse_event", [{"subjid": "01-003", "aeterm": "Immune system disorders - Other, specify", "aetoxgr": 5}])
    found = death_without_fatal_ae_findings(FOLLOWUP, ae, ["RELAPSE"], _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-001", "INFECTION")]


def test_nothing_recovers_on_or_after_death():
    from dli_etl.rules.death_consistency import recovered_after_death_findings

    deaths = FOLLOWUP[FOLLOWUP["death"] == "Y"][["usubjid", "death_date"]]
    ae = _rows("adverse_event", [
        {"subjid": "01-001", "aeendt": "2026-03-10", "aeout": "RECOVERED/RESOLVED"},   # on the death day
        {"subjid": "01-001", "aeendt": "2026-03-10", "aeout": "FATAL"},
        {"subjid": "01-002", "aeendt": "2026-03-01", "aeout": "RECOVERED/RESOLVED"},   # before the death
        {"subjid": "01-003", "aeendt": "2026-06-01", "aeout": "RECOVERING/RESOLVING"},  # after the death
    ])
    found = recovered_after_death_findings(ae, deaths, _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-001", "RECOVERED/RESOLVED"), ("01-003", "RECOVERING/RESOLVING")]


def test_records_after_last_contact_of_a_living_subject_are_flagged():
    from dli_etl.rules.death_consistency import after_last_contact_findings

    cbc = _rows("cbc", [{"subjid": "01-004", "lbdtc": "2026-06-30"}, {"subjid": "01-004", "lbdtc": "2026-07-15"},
                        {"subjid": "01-001", "lbdtc": "2026-03-20"}])  # 01-001 died: ORDER-AFTER-DEATH's job
    found = after_last_contact_findings(cbc, "cbc", "lbdtc", FOLLOWUP, _locate)
    assert [(f.subjid, f.value) for f in found] == [("01-004", "2026-07-15")]


def test_ae_end_after_death_is_flagged():
    from dli_etl.rules.treatment_timeline import after_death_findings

    deaths = FOLLOWUP[FOLLOWUP["death"] == "Y"][["usubjid", "death_date"]]
    ae = _rows("adverse_event", [{"subjid": "01-001", "aeendt": "2026-03-18"}, {"subjid": "01-001", "aeendt": "2026-03-10"}])
    found = after_death_findings(ae, "adverse_event", "aeendt", deaths, _locate)
    assert [(f.rule_id, f.value) for f in found] == [("ORDER-AFTER-DEATH", "2026-03-18")]


@pytest.mark.parametrize(("text", "cells_per_kg"), [
    ("3.0×10^7/kg", 3.0e7), ("1x10^8/kg", 1e8), ("1*10^8/kg", 1e8), ("1.0×10⁸/kg", 1e8),  # clinical.md 7.2
    ("３.０×１０^７／ｋｇ（受者体重）", 3.0e7),  # full-width, per kg recipient
    ("3,0x10^7/kg", 3.0e7),                     # decimal comma in the mantissa
    ("3.0·10^7/kg", 3.0e7), ("3.0⋅10^7/kg", 3.0e7),  # middle dot as the multiplication sign
    ("3.0×10^7 CD3+/kg", 3.0e7), ("1.0×10^8 MNC cells/kg", 1e8),  # the cell type before the unit
])
def test_cell_dose_notations(text, cells_per_kg):
    from dli_etl.rules.cell_dose import parse_cell_dose

    parsed = parse_cell_dose(text)
    assert parsed.problem is None and parsed.cells_per_kg == pytest.approx(cells_per_kg)


def test_thousands_comma_in_a_dose_is_not_read_as_decimal():
    from dli_etl.rules.cell_dose import parse_cell_dose

    assert parse_cell_dose("1,500x10^4/kg").cells_per_kg is None  # ambiguous: asked, never guessed


def test_duplicate_lab_draws():
    """The same subject, date and analytes twice: an exact copy is held back (counted once); a different
    value on the same draw is a query on that value, and both records stay."""
    from dli_etl.rules.lab_duplicates import lab_duplicate_findings

    cbc = _rows("cbc", [
        {"subjid": "01-001", "lbdtc": "2026-02-01", "anc": 1.2, "plt": 90.0},
        {"subjid": "01-001", "lbdtc": "2026-02-01", "anc": 1.2, "plt": 90.0},    # exact copy
        {"subjid": "01-002", "lbdtc": "2026-02-01", "anc": 0.8, "plt": 40.0},
        {"subjid": "01-002", "lbdtc": "2026-02-01", "anc": 0.8, "plt": 140.0},   # same draw, other platelets
        {"subjid": "01-002", "lbdtc": "2026-02-02", "anc": 0.8, "plt": 40.0},    # another day: not a duplicate
    ])
    found = lab_duplicate_findings(cbc, "cbc", ["anc", "plt"], _locate)
    assert [(f.rule_id, f.subjid, f.field, f.row_id) for f in found] == [
        ("LAB-DUPLICATE-DRAW", "01-001", "subjid", "cbc#1"), ("LAB-DUPLICATE-CONFLICT", "01-002", "plt", "cbc#3")]
    from dli_etl.findings import rule_catalogue

    assert rule_catalogue()["LAB-DUPLICATE-DRAW"].action == "hold"
    assert rule_catalogue()["LAB-DUPLICATE-CONFLICT"].severity == "warning"


def _workbook_anemia_row() -> list:
    from pathlib import Path

    from python_calamine import CalamineWorkbook

    path = Path(__file__).resolve().parents[2] / "shared" / "reference" / "public-data" / "ctcae-v5" / "CTCAE_v5.0_2017-11-27.xlsx"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("CTCAE v5.0 Clean Copy").to_python()
    return next(r for r in rows if len(r) > 2 and str(r[2]).strip() == "Anemia")


@pytest.mark.parametrize(("unit", "value", "grade"), [
    ("mmol/L", 6.2, None), ("mmol/L", 6.19, 2), ("mmol/L", 4.9, 2), ("mmol/L", 4.89, 3),
    ("g/L", 100.0, None), ("g/L", 99.0, 2), ("g/L", 80.0, 2), ("g/L", 79.0, 3),
    ("g/dL", 10.0, None), ("g/dL", 9.9, 2), ("g/dL", 8.0, 2), ("g/dL", 7.9, 3),
])
def test_anemia_is_graded_in_the_reported_unit_at_the_exact_boundaries(unit, value, grade):
    """The NCI CTCAE v5.0 workbook prints the bounds per unit: G2 '<10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L;
    <100 - 80g/L', G3 '<8.0 g/dL; <4.9 mmol/L; <80 g/L'. Converting 4.9 mmol/L (x 1.611 = 7.89 g/dL) first
    would give grade 3."""
    from dli_etl.rules.ctcae_labs import ANEMIA_BOUNDS, ctcae_grade_anemia

    row = _workbook_anemia_row()
    bound = re.compile(r"<\s*([\d.]+)(?:\s*-\s*[\d.]+)?\s*(g/dL|mmol/L|g/L)")
    published = {u: float(v) for v, u in bound.findall(str(row[4]))}, {u: float(v) for v, u in bound.findall(str(row[5]))}
    assert ANEMIA_BOUNDS[unit] == (published[0][unit], published[1][unit])  # our table is the workbook's
    assert ctcae_grade_anemia(value, lln=None, unit=unit) == grade


def test_lb_grades_haemoglobin_in_the_unit_the_site_reported():
    from dli_etl.rules.ctcae_consistency import reported_grades

    cbc = pd.DataFrame({"hgb": [4.9 * 1.611, 6.19 * 1.611], "hgb_orig": ["4,9", "6.19"],
                        "hgb_orig_unit": ["mmol/L", "mmol/L"]})
    assert reported_grades(cbc, "hgb", "Anemia").tolist() == [2, 2]


@pytest.mark.parametrize(("text", "ug_per_kg", "problem"), [
    # clinical.md 7.3: written as "240 µg/kg", "240 ug/kg", "240 mcg/kg", "0.24 mg/kg"
    ("240 µg/kg", 240.0, None), ("240 ug/kg", 240.0, None), ("240 mcg/kg", 240.0, None), ("0.24 mg/kg", 240.0, None),
    ("240 μg/kg", 240.0, None), ("0,24 mg/kg", 240.0, None), ("240微克/kg", 240.0, None),
    ("16 mg", None, "unit 'mg' is not per kg"), ("240", None, "no unit"), ("lots", None, "not a readable dose"),
])
def test_plerixafor_dose_units(text, ug_per_kg, problem):
    from dli_etl.rules.plerixafor import parse_plerixafor_dose

    parsed = parse_plerixafor_dose(text)
    assert (parsed.ug_per_kg, parsed.problem) == (ug_per_kg, problem)


def _plx(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    frame = _rows("plerixafor", [{"subjid": "01", "plx_date": d, "plx_doses_given": n, "plx_dose_text": t}
                                 for d, n, t in rows])
    from dli_etl.rules.plerixafor import parse_plerixafor_dose

    return frame.assign(plx_dose=[parse_plerixafor_dose(t).ug_per_kg for t in frame["plx_dose_text"]],
                        event_oid="round_1_arm_1")


STUDY_B = {"plerixafor_dose_ug_kg": 240, "plerixafor_schedule": {"days": 5, "doses_per_day": 2}}


def test_plerixafor_dose_and_schedule_against_the_protocol():
    """Seed 001: twice a day for five consecutive days; clinical.md 7.3: 240 ug/kg (mg/ug slips are 1000x)."""
    from dli_etl.rules.plerixafor import plerixafor_findings

    ok = _plx([(f"2026-03-{d:02d}", 2, "240 µg/kg") for d in range(11, 16)])
    assert plerixafor_findings(ok, STUDY_B, _locate) == []
    slip = _plx([(f"2026-03-{d:02d}", 2, "240 mg/kg" if d == 12 else "0.3 mg/kg" if d == 13 else "240 ug/kg")
                 for d in range(11, 16)])
    assert sorted((f.rule_id, f.value) for f in plerixafor_findings(slip, STUDY_B, _locate)) == [
        ("PD-PLERIXAFOR-DOSE", "0.3 mg/kg"), ("PLX-DOSE-UNIT-ERROR", "240 mg/kg")]
    once_a_day = _plx([(f"2026-03-{d:02d}", 1 if d == 14 else 2, "240 ug/kg") for d in range(11, 16)])
    gap = _plx([(f"2026-03-{d:02d}", 2, "240 ug/kg") for d in (11, 12, 14, 15, 16)])
    four_days = _plx([(f"2026-03-{d:02d}", 2, "240 ug/kg") for d in range(11, 15)])
    for course, shown in ((once_a_day, "5 day(s), 4 with 2 doses"), (gap, "5 day(s), 5 with 2 doses, not consecutive"),
                          (four_days, "4 day(s), 4 with 2 doses")):
        found = plerixafor_findings(course, STUDY_B, _locate)
        assert [(f.rule_id, f.value) for f in found] == [("PD-PLERIXAFOR-SCHEDULE", shown)]


def test_each_plerixafor_course_is_judged_on_its_own():
    """Seed 001 gives plerixafor with each DLI round: a complete first course does not make up for a
    short second one, and a second subject's complete course is not reported. The finding points at the
    short course's first dose row and names its REDCap event."""
    from dli_etl.rules.plerixafor import plerixafor_findings

    first = _plx([(f"2026-03-{d:02d}", 2, "240 ug/kg") for d in range(11, 16)])
    second = _plx([(f"2026-05-{d:02d}", 2, "240 ug/kg") for d in range(4, 8)]).assign(event_oid="round_2_arm_1")
    other = _plx([(f"2026-04-{d:02d}", 2, "240 ug/kg") for d in range(1, 6)]).assign(
        subjid="02", usubjid="DLIPRO-S01-02")
    doses = pd.concat([second, other, first], ignore_index=True).assign(
        src_locator=lambda f: [f"plerixafor!{i + 2}" for i in range(len(f))])
    found = plerixafor_findings(doses, STUDY_B, _locate)
    assert [(f.rule_id, f.subjid, f.value, f.detail, f.src_locator) for f in found] == [
        ("PD-PLERIXAFOR-SCHEDULE", "01", "4 day(s), 4 with 2 doses", "round_2_arm_1", "plerixafor!2:plx_date")]


def _dli(mnc: float, cd3: float) -> pd.DataFrame:
    return _rows("dli", [{"subjid": "001", "mnc_dose": mnc, "cd3_dose": cd3, "mnc_dose_text": f"{mnc:.1e}",
                          "cd3_dose_text": f"{cd3:.1e}"}])


def test_study_b_dose_has_no_target_only_plausibility():
    """Seed 001 names no DLI dose, so Study A's 3.0e7 CD3+/kg target must not judge Study B: a CD3+
    3.0x10^6/kg with MNC 1.0x10^7/kg is plausible (clinical.md 7.1: CD3+ 1e5-1e8/kg in practice)."""
    from dli_etl.rules.dli_dose import dose_findings
    from dli_etl.specs import load_spec

    studies = load_spec("studies")
    assert "dli_dose" not in studies["DLIPLX"]
    ranges = {k: [float(x) for x in v] for k, v in studies["dose_ranges"].items()}
    share = tuple(float(x) for x in studies["cd3_share_of_mnc"])
    assert dose_findings(_dli(1.0e7, 3.0e6), {}, ranges, 0.2, 8.0, _locate, share) == []
    # the same dose in Study A is a power of ten below its protocol dose
    study_a = {k: float(v) for k, v in studies["DLIPRO"]["dli_dose"].items()}
    assert [f.rule_id for f in dose_findings(_dli(1.0e8, 3.0e6), study_a, ranges, 0.2, 8.0, _locate, share)] == [
        "DOSE-POWER-OF-TEN"]
    # without a target an exponent slip still shows: CD3+ at 0.3% of MNC flags both doses of the product
    slip = dose_findings(_dli(1.0e8, 3.0e5), {}, ranges, 0.2, 8.0, _locate, share)
    assert sorted((f.rule_id, f.field) for f in slip) == [("DOSE-CD3-SHARE-IMPLAUSIBLE", "cd3_dose"),
                                                          ("DOSE-CD3-SHARE-IMPLAUSIBLE", "mnc_dose")]
    # and outside the plausible range (clinical.md 7.1: MNC 1e6-1e9/kg) is an error
    assert {f.rule_id for f in dose_findings(_dli(1.0e10, 3.0e9), {}, ranges, 0.2, 8.0, _locate, share)} == {
        "DOSE-OUT-OF-RANGE"}
