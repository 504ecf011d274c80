"""Plerixafor doses as sites write them, and the Study B schedule (clinical.md 7.3; seed 001).

The label dose is 0.24 mg/kg = 240 ug/kg SC; sites write "240 µg/kg", "240 ug/kg", "240 mcg/kg",
"0.24 mg/kg" (and get mg and ug mixed up: a 1000-fold error). Study B gives it subcutaneously twice a day
for five consecutive days from day 10 after the DLI. Doses are converted to ug/kg, never assumed; a dose
that is not per kg ("16 mg") is reported, not converted without a weight.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dli_etl.findings import Finding

# unit as written -> factor to ug/kg
_PER_KG = {"ug/kg": 1.0, "µg/kg": 1.0, "mcg/kg": 1.0, "mg/kg": 1000.0, "微克/kg": 1.0, "毫克/kg": 1000.0}
_DOSE = re.compile(r"^(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>[^\d\s].*)?$")


@dataclass(frozen=True)
class PlerixaforDose:
    """``ug_per_kg`` is None when the text is unreadable or not per kg (``problem`` says which)."""

    text: str
    ug_per_kg: float | None
    unit: str
    problem: str | None = None


def parse_plerixafor_dose(text: str | None) -> PlerixaforDose:
    """One written dose in ug/kg."""
    if text is None or str(text).strip() == "":
        return PlerixaforDose("", None, "", "missing")
    raw = str(text)
    norm = unicodedata.normalize("NFKC", raw.strip()).replace(" ", "")
    match = _DOSE.match(norm)
    if not match:
        return PlerixaforDose(raw, None, "", "not a readable dose")
    number = float(match.group("num").replace(",", "."))
    unit = (match.group("unit") or "").strip()
    key = unit.lower().replace("μ", "µ")
    if key in _PER_KG or unit in _PER_KG:
        return PlerixaforDose(raw, round(number * _PER_KG.get(key, _PER_KG.get(unit, 1.0)), 6), "ug/kg")
    if not unit:
        return PlerixaforDose(raw, None, "", "no unit")
    return PlerixaforDose(raw, None, unit, f"unit {unit!r} is not per kg")


def schedule_problems(doses: pd.DataFrame, course: list[str], days: int = 5, per_day: int = 2) -> pd.DataFrame:
    """One row per course (``course``: the columns naming a subject's round, e.g. usubjid and the REDCap
    event) that was not given on ``days`` consecutive days, ``per_day`` times each day: the course keys,
    ``index`` (its first dose row), ``days``, ``full_days`` and ``consecutive``."""
    columns = [*course, "index", "days", "full_days", "consecutive"]
    given = doses.assign(day=pd.to_datetime(doses["plx_date"].astype("string").str.slice(0, 10), errors="coerce",
                                            format="%Y-%m-%d")).dropna(subset=["day"])
    if given.empty:
        return pd.DataFrame(columns=columns)
    # one grouping for every course at once: a loop over courses was most of the plerixafor rules' time
    # at registry scale
    daily = (given.groupby([*course, "day"], sort=True, dropna=False)["plx_doses_given"].sum()
             .reset_index(name="doses"))
    daily["full"] = (daily["doses"] >= per_day).fillna(False).astype(bool)
    courses = daily.groupby(course, sort=True, dropna=False).agg(
        days=("day", "size"), full_days=("full", "sum"), first=("day", "min"), last=("day", "max"))
    courses["index"] = given.assign(_index=given.index).groupby(course, sort=True, dropna=False)["_index"].first()
    courses["consecutive"] = (courses["last"] - courses["first"]).dt.days + 1 == courses["days"]
    short = courses[(courses["days"] != days) | (courses["full_days"] != days) | ~courses["consecutive"]]
    return short.reset_index()[columns].astype({"days": "int64", "full_days": "int64", "consecutive": bool})


def plerixafor_findings(plx: pd.DataFrame, params: dict, locate) -> list[Finding]:
    """Doses against the protocol dose (a ~1000x slip between mg and ug is an error, anything beyond
    +-20% a deviation) and each course against the schedule (``days`` consecutive days, ``doses_per_day``)."""
    out: list[Finding] = []
    if plx.empty:
        return out

    def finding(rule: str, row: pd.Series, field: str, value: str, expected: str, detail: str) -> Finding:
        return Finding(rule, str(row["study"]), str(row["site"]), str(row["subjid"]), "plerixafor", field, value,
                       expected, detail, str(row["src_file"]), str(row["src_sha256"]), locate(row, field),
                       str(row["row_id"]))

    target = params.get("plerixafor_dose_ug_kg")
    if target:
        target = float(target)
        dosed = plx[plx["plx_dose"].notna()]
        ratios = dosed["plx_dose"].astype("float64") / target
        off = ((ratios >= 8) | (ratios <= 1 / 8) | ((ratios - 1).abs() > 0.2)).to_numpy(dtype=bool)
        # only the doses off target become rows: a Series per dose was the rule's cost at registry scale
        for position, ratio in zip(np.flatnonzero(off), ratios[off], strict=True):
            row = dosed.iloc[position]
            shown = str(row.get("plx_dose_text", row["plx_dose"]))
            if ratio >= 8 or ratio <= 1 / 8:
                out.append(finding("PLX-DOSE-UNIT-ERROR", row, "plx_dose", shown, f"{target:g} ug/kg", f"{ratio:g} x"))
            elif abs(ratio - 1) > 0.2:
                out.append(finding("PD-PLERIXAFOR-DOSE", row, "plx_dose", shown, f"{target:g} ug/kg",
                                   f"{(ratio - 1) * 100:+.0f}%"))
    schedule = params.get("plerixafor_schedule")
    if schedule:
        course = ["usubjid", "event_oid"] if "event_oid" in plx.columns else ["usubjid"]
        short = schedule_problems(plx, course, int(schedule["days"]), int(schedule["doses_per_day"]))
        for _, problem in short.iterrows():
            row = plx.loc[problem["index"]]
            given = (f"{problem['days']} day(s), {problem['full_days']} with {schedule['doses_per_day']} doses"
                     + ("" if problem["consecutive"] else ", not consecutive"))
            out.append(finding("PD-PLERIXAFOR-SCHEDULE", row, "plx_date", given,
                               f"on {schedule['days']} consecutive days, {schedule['doses_per_day']} doses a day",
                               str(row.get("event_oid", ""))))
    return out
