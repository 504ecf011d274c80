"""MAGIC acute GVHD organ staging and overall grade (Harris et al., BBMT 2016;22:4-10).

Thresholds are in ``reference/clinical.md`` section 1. Bilirubin is in mg/dL, stool volume in mL/day
(adult) or mL/kg/day (a child of at most 50 kg). The overall grade is evaluated top-down, first match wins; it is *not* the maximum organ stage.
"""

from __future__ import annotations

import math

# (upper bound inclusive, stage) pairs, evaluated in order. Bands follow the published table;
# values between 3.0 and 3.1 mg/dL are read as "> 3" (stage 2), the usual reading noted in clinical.md.
_LIVER_BANDS: tuple[tuple[float, int], ...] = ((2.0, 0), (3.0, 1), (6.0, 2), (15.0, 3), (math.inf, 4))


def skin_stage(bsa_percent: float, bullae_and_desquamation: bool = False) -> int:
    """Skin stage from the % body surface area with active erythematous GVHD rash."""
    if bsa_percent <= 0:
        return 0
    if bsa_percent < 25:
        return 1
    if bsa_percent <= 50:
        return 2
    # Stage 4 needs erythroderma plus bullae and desquamation > 5% BSA; erythroderma alone is stage 3.
    return 4 if bullae_and_desquamation else 3


def liver_stage(bilirubin_mg_dl: float) -> int:
    """Liver stage from total bilirubin in mg/dL (< 2 is stage 0)."""
    if bilirubin_mg_dl < 2.0:
        return 0
    for upper, stage in _LIVER_BANDS[1:]:
        if bilirubin_mg_dl <= upper:
            return stage
    return 4


def upper_gi_stage(persistent_nausea_vomiting_anorexia: bool) -> int:
    """Upper GI has only stages 0 and 1."""
    return 1 if persistent_nausea_vomiting_anorexia else 0


# Lower-GI bands (clinical.md 1.1) as (stage 1 from, stage 2 from, stage 3 above): stool volume in mL/day
# for adults and mL/kg/day for a child, and stool episodes per day
_LOWER_GI_BANDS = {
    "adult": {"volume": (500, 1000, 1500), "episodes": (3, 5, 7)},
    "child": {"volume": (10, 20, 30), "episodes": (4, 7, 10)},
}
# MAGIC's lower-GI column for children; adult stool volumes apply above this weight (PDQ/COG note in
# clinical.md section 1.1: "use adult stool values for patients > 50 kg")
CHILD_MAX_WEIGHT_KG = 50.0


def _band_stage(value: float | None, bands: tuple[float, float, float]) -> int:
    if value is None:
        return 0
    stage_1, stage_2, above_3 = bands
    return 3 if value > above_3 else 2 if value >= stage_2 else 1 if value >= stage_1 else 0


def _lower_gi(column: str, volume: float | None, episodes: float | None, severe: bool) -> int:
    if severe:
        return 4
    bands = _LOWER_GI_BANDS[column]
    # volume and episodes are alternatives and the table gives no tie-break: the higher stage is the
    # documented SAP choice
    return max(_band_stage(volume, bands["volume"]), _band_stage(episodes, bands["episodes"]))


def lower_gi_stage_adult(
    stool_ml_per_day: float | None = None,
    episodes_per_day: float | None = None,
    severe_pain_or_bloody_stool: bool = False,
) -> int:
    """Adult lower-GI stage; volume and episodes are alternatives, the higher stage is taken."""
    return _lower_gi("adult", stool_ml_per_day, episodes_per_day, severe_pain_or_bloody_stool)


def lower_gi_stage_child(
    stool_ml_per_kg_per_day: float | None = None,
    episodes_per_day: float | None = None,
    severe_pain_or_bloody_stool: bool = False,
) -> int:
    """Paediatric lower-GI stage from stool volume per kg per day; volume and episodes are alternatives,
    the higher stage is taken (as for adults)."""
    return _lower_gi("child", stool_ml_per_kg_per_day, episodes_per_day, severe_pain_or_bloody_stool)


def lower_gi_stage(stool_ml_per_day: float | None, weight_kg: float | None = None, episodes_per_day: float | None = None,
                   severe_pain_or_bloody_stool: bool = False) -> int:
    """Lower-GI stage with the column that fits the patient: per kg for a child of at most 50 kg, the
    adult mL/day bands otherwise (and when the weight is not known)."""
    if weight_kg is not None and 0 < weight_kg <= CHILD_MAX_WEIGHT_KG:
        per_kg = None if stool_ml_per_day is None else stool_ml_per_day / weight_kg
        return lower_gi_stage_child(per_kg, episodes_per_day, severe_pain_or_bloody_stool)
    return lower_gi_stage_adult(stool_ml_per_day, episodes_per_day, severe_pain_or_bloody_stool)


def magic_overall_grade(skin: int, liver: int, upper_gi: int, lower_gi: int) -> int:
    """MAGIC overall clinical grade 0-4 from organ stages (first matching rule wins)."""
    if skin == 4 or liver == 4 or lower_gi == 4:
        return 4
    if liver in (2, 3) or lower_gi in (2, 3):
        return 3
    if skin == 3 or liver == 1 or upper_gi == 1 or lower_gi == 1:
        return 2
    if skin in (1, 2):
        return 1
    return 0
