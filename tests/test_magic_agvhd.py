"""MAGIC acute GVHD staging and overall grade against the published table (clinical.md section 1)."""

import pytest

from dli_etl.rules.magic_agvhd import (
    liver_stage,
    lower_gi_stage,
    lower_gi_stage_adult,
    lower_gi_stage_child,
    magic_overall_grade,
    skin_stage,
    upper_gi_stage,
)


@pytest.mark.parametrize(("bsa", "bullae", "stage"), [
    (0, False, 0), (24.9, False, 1), (25, False, 2), (50, False, 2), (50.1, False, 3), (80, False, 3), (80, True, 4),
])
def test_skin_stage(bsa, bullae, stage):
    assert skin_stage(bsa, bullae) == stage


@pytest.mark.parametrize(("bili", "stage"), [
    (1.99, 0), (2.0, 1), (3.0, 1), (3.05, 2), (3.1, 2), (6.0, 2), (6.1, 3), (15.0, 3), (15.1, 4),
])
def test_liver_stage_mg_dl(bili, stage):
    assert liver_stage(bili) == stage


def test_upper_gi_has_only_stages_0_and_1():
    assert {upper_gi_stage(False), upper_gi_stage(True)} == {0, 1}


@pytest.mark.parametrize(("volume", "episodes", "severe", "stage"), [
    (499, None, False, 0), (500, None, False, 1), (999, None, False, 1), (1000, None, False, 2),
    (1500, None, False, 2), (1501, None, False, 3), (None, 2, False, 0), (None, 3, False, 1), (None, 4, False, 1),
    (None, 5, False, 2), (None, 7, False, 2), (None, 8, False, 3), (100, None, True, 4), (600, 8, False, 3),
])
def test_lower_gi_stage_adult(volume, episodes, severe, stage):
    assert lower_gi_stage_adult(volume, episodes, severe) == stage


# the child column of clinical.md 1.1: < 10 / 10-19.9 / 20-30 / > 30 mL/kg/day, < 4 / 4-6 / 7-10 / > 10 episodes
@pytest.mark.parametrize(("per_kg", "episodes", "severe", "stage"), [
    (9.9, None, False, 0), (10, None, False, 1), (19.9, None, False, 1), (20, None, False, 2), (30, None, False, 2),
    (30.1, None, False, 3), (None, 3, False, 0), (None, 4, False, 1), (None, 6, False, 1), (None, 7, False, 2),
    (None, 10, False, 2), (None, 11, False, 3), (5, None, True, 4), (25, 11, False, 3),
])
def test_lower_gi_stage_child(per_kg, episodes, severe, stage):
    assert lower_gi_stage_child(per_kg, episodes, severe) == stage


@pytest.mark.parametrize(("ml_day", "weight", "stage"), [
    (500, 20, 2),     # 25 mL/kg/day in a 20 kg child: stage 2, where the adult bands would say stage 1
    (500, 50, 1),     # 10 mL/kg/day at 50 kg: still the child column
    (500, 50.1, 1),   # above 50 kg the adult bands: 500 mL/day is stage 1
    (400, 50.1, 0),   # ... and 400 mL/day stage 0, although it is 8 mL/kg/day
    (1600, None, 3),  # no weight: the adult bands
])
def test_lower_gi_uses_the_child_column_up_to_50_kg(ml_day, weight, stage):
    assert lower_gi_stage(ml_day, weight) == stage


def test_a_childs_lower_gi_stage_is_checked_per_kg():
    import pandas as pd

    from dli_etl.rules.gvhd_consistency import magic_findings

    row = {"study": "DLIPRO", "site": "S01", "subjid": "01-001", "src_file": "f", "src_sha256": "", "row_id": "r1",
           "skin_bsa": None, "bilirubin_mg_dl": None, "upper_gi_symptoms": None, "stool_ml_day": 500.0,
           "skin_stage": 0, "liver_stage": 0, "upper_gi_stage": 0, "lower_gi_stage": 2, "magic_overall_grade": 3}
    child = pd.DataFrame([{**row, "weight_kg": 20.0}])
    adult = pd.DataFrame([{**row, "weight_kg": 70.0}])
    assert magic_findings(child, lambda r, f: f) == []  # 25 mL/kg/day is stage 2 for a 20 kg child
    [found] = magic_findings(adult, lambda r, f: f)
    assert (found.rule_id, found.field, found.value, found.expected) == ("MAGIC-STAGE-CONTRADICTION", "lower_gi_stage", "2", "1")


@pytest.mark.parametrize(("blank", "measure"), [("lower_gi_stage", {"stool_ml_day": 1700.0}),
                                                 ("skin_stage", {"skin_bsa": 60.0})])
def test_a_blank_stage_beside_its_measure_is_not_a_contradiction(blank, measure):
    """Typed as harmonize types them (nullable integers), a stage left blank beside a stool volume or a
    BSA that gives stage 3 contradicts nothing: its REQ-MISSING finding says what is wrong. It once
    raised and stopped the study."""
    import pandas as pd

    from dli_etl.rules.gvhd_consistency import magic_findings

    row = {"study": "DLIPRO", "site": "S01", "subjid": "01-001", "src_file": "f", "src_sha256": "", "row_id": "r1",
           "skin_bsa": None, "bilirubin_mg_dl": None, "upper_gi_symptoms": None, "stool_ml_day": None,
           "weight_kg": 70.0, "skin_stage": 0, "liver_stage": 0, "upper_gi_stage": 0, "lower_gi_stage": 0,
           "magic_overall_grade": 0, **measure, blank: None}
    typed = pd.DataFrame([row]).astype({"skin_bsa": "Float64", "bilirubin_mg_dl": "Float64", "stool_ml_day": "Float64",
                                        "skin_stage": "Int64", "liver_stage": "Int64", "upper_gi_stage": "Int64",
                                        "lower_gi_stage": "Int64", "magic_overall_grade": "Int64"})
    assert magic_findings(typed, lambda r, f: f) == []


@pytest.mark.parametrize(("skin", "liver", "ugi", "lgi", "grade"), [
    (0, 0, 0, 0, 0), (1, 0, 0, 0, 1), (2, 0, 0, 0, 1),
    (3, 0, 0, 0, 2),  # skin 3 alone is grade II, not III: grade is not max(stage)
    (0, 1, 0, 0, 2), (0, 0, 1, 0, 2), (0, 0, 0, 1, 2), (2, 0, 1, 0, 2),
    (0, 2, 0, 0, 3), (0, 3, 0, 0, 3), (0, 0, 0, 2, 3), (3, 0, 1, 3, 3),
    (4, 0, 0, 0, 4), (0, 4, 0, 0, 4), (0, 0, 0, 4, 4), (4, 3, 1, 3, 4),
])
def test_magic_overall_grade(skin, liver, ugi, lgi, grade):
    assert magic_overall_grade(skin, liver, ugi, lgi) == grade
