"""Trial design domains TS, TA, TE, TI from ``specs/trial_design.yaml`` (the protocols as data).

TV (planned visits) is not built: neither protocol defines a visit schedule beyond its time frames.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform
from dli_etl.specs import load_spec

TSPARM = {"TITLE": "Trial Title", "REGID": "Registry Identifier", "STYPE": "Study Type", "TPHASE": "Trial Phase Classification",
          "RANDOM": "Trial is Randomized", "INTMODEL": "Intervention Model", "TBLIND": "Trial Blinding Schema",
          "NARMS": "Planned Number of Arms", "PLANSUB": "Planned Number of Subjects", "TTYPE": "Trial Type",
          "INDIC": "Trial Disease/Condition Indication", "TRT": "Investigational Therapy or Treatment",
          "SDTIGVER": "SDTM IG Version", "CTVER": "Version of CDISC CT Used"}


def build_trial_design(study: str) -> dict[str, pd.DataFrame]:
    spec = load_spec("trial_design")[study]
    ts = pd.DataFrame([{"STUDYID": study, "DOMAIN": "TS", "TSSEQ": i, "TSPARMCD": code, "TSPARM": TSPARM[code],
                        "TSVAL": str(value), "TSVALCD": pd.NA} for i, (code, value) in enumerate(spec["ts"].items(), 1)])
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
