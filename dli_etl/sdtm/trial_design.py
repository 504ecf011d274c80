"""Trial design domains TS, TA, TE, TI from ``specs/trial_design.yaml`` (the protocols as data).

TV (planned visits) is not built: neither protocol defines a visit schedule beyond its time frames.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform
from dli_etl.specs import load_spec

TSPARM = {"TITLE": "Trial Title", "REGID": "Registry Identifier", "STYPE": "Study Type", "TPHASE": "Trial Phase Classification",
          "RANDOM": "Trial is Randomized", "INTMODEL": "Intervention Model", "TBLIND": "Trial Blinding Schema",
          "NARMS": "Planned Number of Arms", "SSTDTC": "Study Start Date", "PLANSUB": "Planned Number of Subjects", "TTYPE": "Trial Type",
          "INDIC": "Trial Disease/Condition Indication", "TRT": "Investigational Therapy or Treatment",
          "SDTIGVER": "SDTM IG Version", "CTVER": "Version of CDISC CT Used"}


def ts_records(study: str, parameters: dict, dm: pd.DataFrame | None = None) -> list[dict]:
    """TS rows: one per value (a list gives several, TSSEQ counting within the parameter), C-codes for
    values from CDISC CT, the registry for REGID, and SSTDTC from the earliest informed consent."""
    design = load_spec("trial_design")
    codes, terminology = design.get("ts_value_codes", {}), design.get("ts_terminology", {})
    values = dict(parameters)
    if dm is not None and not dm.empty and "RFICDTC" in dm.columns:
        consents = dm["RFICDTC"].dropna().astype(str)
        consents = consents[consents.str.len() >= 10]
        if not consents.empty:
            values["SSTDTC"] = consents.min()[:10]
    rows = []
    for code, value in values.items():
        for seq, one in enumerate(value if isinstance(value, list) else [value], start=1):
            text = str(one)
            valcd = codes.get(code, {}).get(text)
            ref = version = pd.NA
            if valcd is not None:
                ref, version = terminology.get("name", "CDISC CT"), terminology.get("version", pd.NA)
            elif code == "REGID":
                valcd, ref = text, "ClinicalTrials.gov"
            rows.append({"STUDYID": study, "DOMAIN": "TS", "TSSEQ": seq, "TSPARMCD": code, "TSPARM": TSPARM[code],
                         "TSVAL": text, "TSVALCD": valcd if valcd is not None else pd.NA, "TSVCDREF": ref,
                         "TSVCDVER": version})
    return rows


def build_trial_design(study: str, dm: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    spec = load_spec("trial_design")[study]
    ts = pd.DataFrame(ts_records(study, spec["ts"], dm))
    te = pd.DataFrame([{"STUDYID": study, "DOMAIN": "TE", "ETCD": code, "ELEMENT": e["element"], "TESTRL": e["start"],
                        "TEENRL": e.get("end", pd.NA), "TEDUR": e.get("duration", pd.NA)}
                       for code, e in spec["elements"].items()])
    ta_rows = []
    for armcd, arm in spec["arms"].items():
        for order, (etcd, epoch) in enumerate(arm["elements"], start=1):
            ta_rows.append({"STUDYID": study, "DOMAIN": "TA", "ARMCD": armcd, "ARM": arm["arm"], "TAETORD": order,
                            "ETCD": etcd, "ELEMENT": spec["elements"][etcd]["element"], "EPOCH": epoch})
    ti = pd.DataFrame([{"STUDYID": study, "DOMAIN": "TI", "IETESTCD": code, "IETEST": text, "IECAT": cat, "TIVERS": "1"}
                       for code, cat, text in spec["criteria"]])
    return {"ts": conform(ts, "TS"), "ta": conform(pd.DataFrame(ta_rows), "TA"), "te": conform(te, "TE"),
            "ti": conform(ti, "TI")}
