"""DM (Demographics): one row per enrolled subject with arm, reference dates and death."""

from __future__ import annotations

import pandas as pd

from dli_etl.rules.event_answers import event_recorded
from dli_etl.sdtm.algorithms import conform
from dli_etl.specs import load_spec


def _first(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in ["usubjid", *columns]})
    return frame.drop_duplicates("usubjid", keep="first")[["usubjid", *columns]]


def age_in_years(birth: pd.Series, reference: pd.Series) -> pd.Series:
    """Completed years at the reference date; null when either date is incomplete."""
    b = pd.to_datetime(birth.str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    r = pd.to_datetime(reference.str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    years = r.dt.year - b.dt.year - ((r.dt.month < b.dt.month) | ((r.dt.month == b.dt.month) & (r.dt.day < b.dt.day)))
    return years.astype("Float64")


def build_dm(study: str, curated: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """DM from curated enrollment, randomization, DLI and follow-up: one row per enrolled subject.

    Every subject with a curated enrollment record is here whatever its data quality: a sex that was
    not collected or was quarantined is ``U``; a death whose date is unusable keeps ``DTHFL = Y`` with a
    blank or partial DTHDTC. RFSTDTC is the protocol's time origin (randomization for DLIPRO, informed
    consent for DLIPLX, per ``specs/studies.yaml``); RFXSTDTC/RFXENDTC the first/last complete DLI date;
    RFPENDTC the death date, else the last contact. A subject with no DLI record at all in the sources
    has null ACTARMCD/ACTARM and ARMNRS; an infusion whose date or dose was quarantined still counts as
    treatment.
    """
    params = load_spec("studies")[study]
    enrollment = curated.get("enrollment")
    if enrollment is None or enrollment.empty:
        return conform(pd.DataFrame(), "DM")
    dm = enrollment.drop_duplicates("usubjid", keep="first").copy()
    dm = dm.merge(_first(curated.get("randomization"), ["randdt", "armcd"]), on="usubjid", how="left")
    dm = dm.merge(_first(curated.get("followup"), ["last_contact", "death", "death_date", "death_cause"]),
                  on="usubjid", how="left")
    dli = curated.get("dli")
    if dli is not None and not dli.empty:
        complete = dli[dli["dlidt"].str.len() == 10]
        span = complete.groupby("usubjid")["dlidt"].agg(["min", "max"]).rename(columns={"min": "RFXSTDTC", "max": "RFXENDTC"})
        dm = dm.merge(span, left_on="usubjid", right_index=True, how="left")
        infused = set(dli["usubjid"])
    else:
        dm["RFXSTDTC"] = pd.NA
        dm["RFXENDTC"] = pd.NA
        infused = set()
    arms: dict[str, str] = params["arms"]
    if params.get("single_arm"):
        dm["armcd"] = params["single_arm"]
    out = pd.DataFrame({
        "STUDYID": study, "DOMAIN": "DM", "USUBJID": dm["usubjid"], "SUBJID": dm["subjid"],
        "RFSTDTC": dm[params["reference_start"]] if params["reference_start"] in dm.columns else pd.NA,
        "RFICDTC": dm["rficdtc"], "SITEID": dm["site"], "BRTHDTC": dm["brthdtc"], "SEX": dm["sex"].fillna("U"),
        "ARMCD": dm["armcd"], "ARM": dm["armcd"].map(arms), "COUNTRY": "CHN", "AGEU": "YEARS",
        "RFXSTDTC": dm["RFXSTDTC"], "RFXENDTC": dm["RFXENDTC"],
    })
    died = event_recorded(dm["death"], dm["death_date"], dm["death_cause"])
    out["DTHDTC"] = dm["death_date"].where(died)
    out["DTHFL"] = pd.Series("Y", index=out.index).where(died)
    out["RFPENDTC"] = dm["death_date"].where(died & dm["death_date"].notna(), dm["last_contact"])
    out["RFENDTC"] = out["RFPENDTC"]
    out["AGE"] = age_in_years(dm["brthdtc"], dm["rficdtc"])
    treated = out["USUBJID"].isin(infused)
    # Preemptive DLI is given only on MRD conversion: an untreated PREEMPT subject still follows the arm.
    follows_arm = (treated | out["ARMCD"].eq("PREEMPT").fillna(False)) & out["ARMCD"].notna()
    out["ACTARMCD"] = out["ARMCD"].where(follows_arm)
    out["ACTARM"] = out["ARM"].where(follows_arm)
    out["ARMNRS"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[out["ARMCD"].notna() & ~follows_arm, "ARMNRS"] = "ASSIGNED, NOT TREATED"
    out.loc[out["ARMCD"].isna(), "ARMNRS"] = "NOT ASSIGNED"
    return conform(out.sort_values("USUBJID", kind="mergesort"), "DM")
