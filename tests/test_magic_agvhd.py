"""MAGIC acute GVHD staging and overall grade against the published table (clinical.md section 1)."""

import pytest

from dli_etl.rules.magic_agvhd import (
    liver_stage,
    lower_gi_stage_adult,
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


@pytest.mark.parametrize(("skin", "liver", "ugi", "lgi", "grade"), [
    (0, 0, 0, 0, 0), (1, 0, 0, 0, 1), (2, 0, 0, 0, 1),
    (3, 0, 0, 0, 2),  # skin 3 alone is grade II, not III: grade is not max(stage)
    (0, 1, 0, 0, 2), (0, 0, 1, 0, 2), (0, 0, 0, 1, 2), (2, 0, 1, 0, 2),
    (0, 2, 0, 0, 3), (0, 3, 0, 0, 3), (0, 0, 0, 2, 3), (3, 0, 1, 3, 3),
    (4, 0, 0, 0, 4), (0, 4, 0, 0, 4), (0, 0, 0, 4, 4), (4, 3, 1, 3, 4),
])
def test_magic_overall_grade(skin, liver, ugi, lgi, grade):
    assert magic_overall_grade(skin, liver, ugi, lgi) == grade
