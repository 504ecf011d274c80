"""Pandera models for the ADaM-like datasets: the contract each analysis dataset promises before it is
published. A failure becomes an ``ADAM-SCHEMA-FAILED`` error finding (see ``dli_etl.adam.checks``)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

_YN = ["Y", "N"]


class _Keys(pa.DataFrameModel):
    STUDYID: Series[str] = pa.Field(isin=["DLIPRO", "DLIPLX"])
    USUBJID: Series[str] = pa.Field(str_length={"min_value": 5})

    class Config:
        strict = False
        coerce = False


class Adsl(_Keys):
    USUBJID: Series[str] = pa.Field(unique=True)
    ITTFL: Series[str] = pa.Field(isin=_YN)
    SAFFL: Series[str] = pa.Field(isin=_YN)
    DTHFL: Series[str] = pa.Field(isin=_YN)

    @pa.dataframe_check(name="death date only for deaths")
    def death_date_only_for_deaths(cls, df: pd.DataFrame) -> pd.Series:
        return df["DTHDT"].isna() | (df["DTHFL"] == "Y")

    @pa.dataframe_check(name="first DLI not before transplant")
    def dli_after_transplant(cls, df: pd.DataFrame) -> pd.Series:
        return (df["TRTSDT"] >= df["HSCTDT"]) | df["TRTSDT"].isna() | df["HSCTDT"].isna()


class Adtte(_Keys):
    PARAMCD: Series[str] = pa.Field(isin=["OS", "LFS", "RELAPSE", "NRM", "DFS", "GRFS", "AGVHD", "AGVHD24",
                                          "AGVHD34", "CGVHD"])
    CNSR: Series[int] = pa.Field(isin=[0, 1])
    EVSTAT: Series[int] = pa.Field(isin=[0, 1, 2])
    ANL01FL: Series[str] = pa.Field(isin=_YN)

    @pa.dataframe_check(name="one record per subject and parameter")
    def unique_subject_parameter(cls, df: pd.DataFrame) -> pd.Series:
        return ~df.duplicated(["USUBJID", "PARAMCD"], keep=False)

    @pa.dataframe_check(name="analysed times are non-negative")
    def times_non_negative(cls, df: pd.DataFrame) -> pd.Series:
        return (df["ANL01FL"] != "Y") | (df["AVAL"] >= 0).fillna(False)

    @pa.dataframe_check(name="CNSR agrees with EVSTAT")
    def censoring_consistent(cls, df: pd.DataFrame) -> pd.Series:
        return (df["CNSR"] == 0) == (df["EVSTAT"] == 1)


class Adae(_Keys):
    SAFFL: Series[str] = pa.Field(isin=_YN, nullable=True)
    ITTFL: Series[str] = pa.Field(isin=_YN, nullable=True)
    TRTEMFL: Series[str] = pa.Field(isin=_YN)
    TRAE1MFL: Series[str] = pa.Field(isin=_YN)
    INFCAT: Series[str] = pa.Field(isin=["", "BACTERIAL", "VIRAL", "FUNGAL", "UNSPECIFIED"])
    ATOXGRN: Series[pd.Float64Dtype] = pa.Field(isin=[1.0, 2.0, 3.0, 4.0, 5.0], nullable=True)


class Adlb(_Keys):
    PARAMCD: Series[str] = pa.Field(str_length={"min_value": 1})
    ATOXGRN: Series[pd.Float64Dtype] = pa.Field(ge=0, le=5, nullable=True)
    ABLFL: Series[str] = pa.Field(isin=["Y", ""])
    MSUPFL: Series[str] = pa.Field(isin=["Y", ""])

    @pa.dataframe_check(name="one baseline per subject and parameter")
    def one_baseline(cls, df: pd.DataFrame) -> pd.Series:
        flagged = df[df["ABLFL"] == "Y"]
        doubled = flagged[flagged.duplicated(["USUBJID", "PARAMCD"], keep=False)].index
        return pd.Series(~df.index.isin(doubled), index=df.index)


class Adrs(_Keys):
    PARAMCD: Series[str] = pa.Field(isin=["OVRLRESP", "RESP3M", "BESTRSP", "ORR3M"])
    AVALC: Series[str] = pa.Field(isin=["CR", "CRh", "CRi", "PR", "NR", "PD", "RELAPSE", "NE", "Y", "N"])


ADAM_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {"adsl": Adsl, "adtte": Adtte, "adae": Adae, "adlb": Adlb,
                                                    "adrs": Adrs}
