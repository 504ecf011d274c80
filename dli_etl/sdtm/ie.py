"""IE: the inclusion criteria a subject did not meet and the exclusion criteria they met, one record each
(SDTMIG: IE holds exceptions only), derived from the enrollment form with ``trial_design.yaml: ie_checks``.

A criterion whose field is not recorded is not derived (eligibility then cannot be confirmed, which the
``ELIG-CRITERION-MISSING`` query asks about); the criteria no source collects are listed in TI only.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, with_reference_start
from dli_etl.specs import load_spec


def build_ie(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame) -> pd.DataFrame:
    design = load_spec("trial_design")[study]
    enrollment = curated.get("enrollment")
    checks = design.get("ie_checks", {})
    if enrollment is None or enrollment.empty or not checks:
        return conform(pd.DataFrame(), "IE")
    texts = {code: (category, text) for code, category, text in design["criteria"]}
    rows = []
    for code, fields in checks.items():
        category, text = texts[code]
        for _, subject in enrollment.iterrows():
            hits = []
            for field, values in fields.items():
                value = subject.get(field)
                if value is None or pd.isna(value):
                    continue
                inside = str(value) in values
                hits.append(inside if category == "EXCLUSION" else not inside)
            if any(hits):
                rows.append({"usubjid": subject["usubjid"], "IETESTCD": code, "IETEST": text[:200], "IECAT": category,
                             "IEORRES": "Y" if category == "EXCLUSION" else "N",
                             "IESTRESC": "Y" if category == "EXCLUSION" else "N", "IEDTC": subject.get("rficdtc"),
                             "src_file": subject.get("src_file"), "src_locator": subject.get("src_locator")})
    if not rows:
        return conform(pd.DataFrame(), "IE")
    ie = with_reference_start(pd.DataFrame(rows), dm)
    ie["IEDY"] = study_day(ie["IEDTC"], ie["RFSTDTC"]).astype("Float64")
    return finish_domain(ie, study, "IE", ["IECAT", "IETESTCD"])
