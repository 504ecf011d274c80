"""NIH chronic GVHD global severity: each rule of clinical.md 2.1."""

import pytest

from dli_etl.rules.nih_cgvhd import ORGANS, nih_global_severity


def scores(**given):
    base = dict.fromkeys(ORGANS, 0)
    base.update(given)
    return base


@pytest.mark.parametrize(("given", "expected"), [
    ({}, "NONE"),
    ({"skin": 1}, "MILD"),
    ({"skin": 1, "mouth": 1}, "MILD"),                 # 1-2 organs, max score 1, lung 0
    ({"skin": 1, "mouth": 1, "eyes": 1}, "MODERATE"),  # >= 3 organs with score 1
    ({"liver": 2}, "MODERATE"),                        # any non-lung organ with score 2
    ({"lungs": 1}, "MODERATE"),                        # lung 1 is at least moderate
    ({"lungs": 2}, "SEVERE"),                          # lung 2 or 3 is severe
    ({"lungs": 3}, "SEVERE"),
    ({"joints": 3}, "SEVERE"),                         # any organ with score 3
    ({"skin": 2, "mouth": 2, "eyes": 2}, "MODERATE"),
])
def test_global_severity(given, expected):
    assert nih_global_severity(scores(**given)) == expected


def test_not_assessed_is_not_zero():
    assert nih_global_severity(scores(skin=1, lungs=None)) is None   # the lung could make it severe
    assert nih_global_severity(scores(skin=3, lungs=None)) == "SEVERE"  # nothing can lower severe


@pytest.mark.parametrize(("given", "floor"), [
    ({"skin": 1, "lungs": None}, "MILD"),                     # one organ at 1: mild at least
    ({"gi": 2, "skin": None}, "MODERATE"),                    # a non-lung score of 2 is moderate whatever the rest
    ({"mouth": 1, "eyes": 1, "gi": 1, "genital": None}, "MODERATE"),  # three organs involved already
    ({"lungs": 1, "joints": None}, "MODERATE"),
    ({"skin": None, "mouth": None}, "NONE"),                  # nothing recorded proves anything
])
def test_the_floor_is_what_the_recorded_scores_prove(given, floor):
    from dli_etl.rules.nih_cgvhd import SEVERITIES, nih_severity_floor

    assert nih_severity_floor(scores(**given)) == floor
    # whatever the missing organs score, the severity is never below the floor
    missing = [k for k, v in scores(**given).items() if v is None]
    for fill in range(4):
        full = {**scores(**given), **dict.fromkeys(missing, fill)}
        assert SEVERITIES.index(nih_global_severity(full)) >= SEVERITIES.index(floor)
