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


FORM_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "enrollment": EnrollmentForm,
    "randomization": RandomizationForm,
    "transplant": TransplantForm,
    "dli": DliForm,
    "followup": FollowupForm,
}
