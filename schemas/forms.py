"""Pandera models for the harmonized forms: the last guard before a row is curated.

Field-level problems are found earlier, with messages for a data manager; these models restate the
contract a curated table promises (types, allowed values, ranges) so that a bug upstream cannot publish
a row that breaks it. Failures become ``SCHEMA-CHECK-FAILED`` findings and the row is quarantined.
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
    rficdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    brthdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    sex: Series[pd.StringDtype] = pa.Field(isin=["M", "F"])
    diagnosis: Series[pd.StringDtype] = pa.Field(isin=["AML", "MDS-IB", "ALL"])

    @pa.dataframe_check(name="consent after birth")
    def consent_after_birth(cls, df: pd.DataFrame) -> pd.Series:
        return (df["rficdtc"].str.slice(0, 10) > df["brthdtc"].str.slice(0, 10)).fillna(True)


class RandomizationForm(_Subject):
    randdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    armcd: Series[pd.StringDtype] = pa.Field(isin=["PROPH", "PREEMPT"])


class TransplantForm(_Subject):
    hsctdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    donor_type: Series[pd.StringDtype] = pa.Field(isin=["MATCHED", "HAPLOIDENTICAL"])


class DliForm(_Subject):
    dli_round: Series[pd.Int64Dtype] = pa.Field(ge=1, le=4)
    dlidt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    mnc_dose: Series[pd.Float64Dtype] = pa.Field(gt=0)
    cd3_dose: Series[pd.Float64Dtype] = pa.Field(gt=0)


class FollowupForm(_Subject):
    last_contact: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    death: Series[pd.StringDtype] = pa.Field(isin=["Y", "N"], nullable=True)


class ChemoForm(_Subject):
    regimen: Series[pd.StringDtype] = pa.Field(isin=["HAA", "AA", "HA", "VA", "FLAG", "AZA+VEN", "MA", "CAG"])
    chemo_start: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    chemo_end: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)


class ImmunosuppressionForm(_Subject):
    ist_drug: Series[pd.StringDtype] = pa.Field(isin=["CSA", "MTX"])
    ist_start: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)


class PlerixaforForm(_Subject):
    plx_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    plx_doses_given: Series[pd.Int64Dtype] = pa.Field(ge=1, le=2)


class CbcForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    wbc: Series[pd.Float64Dtype] = pa.Field(ge=0, le=500, nullable=True)
    anc: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)
    hgb: Series[pd.Float64Dtype] = pa.Field(ge=2, le=25, nullable=True)
    plt: Series[pd.Float64Dtype] = pa.Field(ge=0, le=3000, nullable=True)
    lym: Series[pd.Float64Dtype] = pa.Field(ge=0, le=300, nullable=True)


class ChemistryForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    bili: Series[pd.Float64Dtype] = pa.Field(ge=0, le=60, nullable=True)
    creat: Series[pd.Float64Dtype] = pa.Field(ge=0.05, le=30, nullable=True)


class MrdForm(_Subject):
    lbdtc: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    mrd_method: Series[pd.StringDtype] = pa.Field(isin=["FLOW CYTOMETRY", "QRT-PCR"])
    specimen: Series[pd.StringDtype] = pa.Field(isin=["BONE MARROW", "BLOOD"])
    mrd_result_pct: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)
    mrd_positive: Series[pd.StringDtype] = pa.Field(isin=["POSITIVE", "NEGATIVE"], nullable=True)


class AgvhdForm(_Subject):
    assessment_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    skin_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4)
    liver_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4)
    upper_gi_stage: Series[pd.Int64Dtype] = pa.Field(isin=[0, 1])  # MAGIC upper GI has stages 0 and 1 only
    lower_gi_stage: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4)
    magic_overall_grade: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4)


class CgvhdForm(_Subject):
    assessment_date: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    skin_score: Series[pd.Int64Dtype] = pa.Field(ge=0, le=3, nullable=True)
    lungs_score: Series[pd.Int64Dtype] = pa.Field(ge=0, le=3, nullable=True)
    global_severity: Series[pd.StringDtype] = pa.Field(isin=["NONE", "MILD", "MODERATE", "SEVERE"])


class AdverseEventForm(_Subject):
    aeterm: Series[pd.StringDtype] = pa.Field(str_length={"min_value": 1})
    aestdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    aetoxgr: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5)
    infection_category: Series[pd.StringDtype] = pa.Field(isin=["BACTERIAL", "VIRAL", "FUNGAL"], nullable=True)


class ResponseForm(_Subject):
    rsdt: Series[pd.StringDtype] = pa.Field(str_matches=ISO_DATE)
    bm_blasts: Series[pd.Float64Dtype] = pa.Field(ge=0, le=100, nullable=True)


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
