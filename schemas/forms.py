"""Pandera models for the harmonized forms: the last guard before a row is curated.

Field-level problems are found earlier, with messages for a data manager; these models restate the
contract a curated table promises (types, allowed values, ranges) so that a bug upstream cannot publish
a value that breaks it. Failures become ``SCHEMA-CHECK-FAILED`` findings and the value is nulled (value-level
quarantine). Every clinical field is nullable: a value nulled with a finding is how a curated form says
"collected, but not usable"; only the subject key columns must always be filled.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

ISO_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class _Subject(pa.DataFrameModel):
    study: Series[pd.StringDtype] = pa.Field(isin=["DLIPRO", "DLIPLX"])
    site: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 1})
    subjid: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 1})
    usubjid: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 5})
    row_id: Series[pd.StringDtype] = pa.Field(unique=True)

    class Config:
        strict = False
        coerce = False


class EnrollmentForm(_Subject):
    rficdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    brthdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    sex: Series[pd.StringDtype] = pa.Field(isin=["M", "F"], nullable=True)
    diagnosis: Series[pd.StringDtype] = pa.Field(isin=["AML", "MDS-IB", "ALL"], nullable=True)

    @pa.dataframe_check(name="consent after birth")
    def consent_after_birth(cls, df: pd.DataFrame) -> pd.Series:
        return (df["rficdtc"].str.slice(0, 10) > df["brthdtc"].str.slice(0, 10)).fillna(True)


class RandomizationForm(_Subject):
    randdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    armcd: Series[pd.StringDtype] = pa.Field(isin=["PROPH", "PREEMPT"], nullable=True)


class TransplantForm(_Subject):
    hsctdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    donor_type: Series[pd.StringDtype] = pa.Field(isin=["MATCHED", "HAPLOIDENTICAL"], nullable=True)


class DliForm(_Subject):
    dli_round: Series[pd.Int64Dtype] = pa.Field(ge=1, le=4, nullable=True)
    dlidt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    mnc_dose: Series[pd.Float64Dtype] = pa.Field(gt=0, nullable=True)
    cd3_dose: Series[pd.Float64Dtype] = pa.Field(gt=0, nullable=True)


class FollowupForm(_Subject):
    last_contact: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    death: Series[pd.StringDtype] = pa.Field(isin=["Y", "N"], nullable=True)


class ChemoForm(_Subject):
    regimen: Series[pd.StringDtype] = pa.Field(isin=["HAA", "AA", "HA", "VA", "FLAG", "AZA+VEN", "MA", "CAG"], nullable=True)
    chemo_start: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    chemo_end: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)


class ImmunosuppressionForm(_Subject):
    ist_drug: Series[pd.StringDtype] = pa.Field(isin=["CSA", "MTX"], nullable=True)
    ist_start: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)


class PlerixaforForm(_Subject):
    plx_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    plx_dose: Series[pd.Float64Dtype] = pa.Field(gt=0, nullable=True)
    plx_doses_given: Series[pd.Int64Dtype] = pa.Field(ge=1, le=2, nullable=True)


class CbcForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    wbc: Series[pd.Float64Dtype] = pa.Field(ge=0, le=500, nullable=True)
    anc: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)
    hgb: Series[pd.Float64Dtype] = pa.Field(ge=2, le=25, nullable=True)
    plt: Series[pd.Float64Dtype] = pa.Field(ge=0, le=3000, nullable=True)
    lym: Series[pd.Float64Dtype] = pa.Field(ge=0, le=300, nullable=True)


class ChemistryForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    bili: Series[pd.Float64Dtype] = pa.Field(ge=0, le=60, nullable=True)
    creat: Series[pd.Float64Dtype] = pa.Field(ge=0.05, le=30, nullable=True)


class MrdForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    mrd_method: Series[pd.StringDtype] = pa.Field(isin=["FLOW CYTOMETRY", "QRT-PCR"], nullable=True)
    specimen: Series[pd.StringDtype] = pa.Field(isin=["BONE MARROW", "BLOOD"], nullable=True)
    mrd_result_pct: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)
    mrd_positive: Series[pd.StringDtype] = pa.Field(isin=["POSITIVE", "NEGATIVE"], nullable=True)


class AgvhdForm(_Subject):
    assessment_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    skin_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4, nullable=True)
    liver_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4, nullable=True)
    upper_gi_stage: Series[pd.Int64Dtype] = pa.Field(isin=[0, 1], nullable=True)  # MAGIC upper GI has stages 0 and 1 only
    lower_gi_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4, nullable=True)
    magic_overall_grade: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4, nullable=True)


class CgvhdForm(_Subject):
    assessment_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    skin_score: Series[pd.Int64Dtype] = pa.Field(ge=0, le=3, nullable=True)
    lungs_score: Series[pd.Int64Dtype] = pa.Field(ge=0, le=3, nullable=True)
    global_severity: Series[pd.StringDtype] = pa.Field(isin=["NONE", "MILD", "MODERATE", "SEVERE"], nullable=True)


class AdverseEventForm(_Subject):
    aeterm: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 1}, nullable=True)
    aestdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    aetoxgr: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, nullable=True)
    infection_category: Series[pd.StringDtype] = pa.Field(isin=["BACTERIAL", "VIRAL", "FUNGAL"], nullable=True)


class ResponseForm(_Subject):
    rsdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE, nullable=True)
    bm_blasts: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)


# a dataframe-level check names no column; its failure nulls this field of the failing row
DATAFRAME_CHECK_FIELDS = {"consent after birth": "rficdtc"}

FORM_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "chemo": ChemoForm,
    "immunosuppression": ImmunosuppressionForm,
    "plerixafor": PlerixaforForm,
    "cbc": CbcForm,
    "chemistry": ChemistryForm,
    "mrd": MrdForm,
    "agvhd": AgvhdForm,
    "cgvhd": CgvhdForm,
    "adverse_event": AdverseEventForm,
    "response": ResponseForm,
    "enrollment": EnrollmentForm,
    "randomization": RandomizationForm,
    "transplant": TransplantForm,
    "dli": DliForm,
    "followup": FollowupForm,
}
