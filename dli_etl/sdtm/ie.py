"""IE: the inclusion criteria a subject did not meet and the exclusion criteria they met, one record each
(SDTMIG: IE holds exceptions only), derived from the enrollment form with ``trial_design.yaml: ie_checks``.

A criterion whose field is not recorded is not derived (eligibility then cannot be confirmed, which the
``ELIG-CRITERION-MISSING`` query asks about). A criterion judged by a rule over other forms
(``ie_from_findings``) is not met for each subject that rule reports.
"""

from __future__ import annotations

import pandas as pd

from dli_etl.sdtm.algorithms import conform, finish_domain, study_day, with_reference_start
from dli_etl.specs import load_spec


def build_ie(study: str, curated: dict[str, pd.DataFrame], dm: pd.DataFrame,
             findings: pd.DataFrame | None = None) -> pd.DataFrame:
    """``findings``: the study's findings so far; a criterion judged from other forms than enrollment
    (``trial_design.yaml: ie_from_findings``, e.g. Study A's day 30-60 complications) is not met for each
    subject with a finding of its rule."""
    design = load_spec("trial_design")[study]
    enrollment = curated.get("enrollment")
    checks = design.get("ie_checks", {})
    if enrollment is None or enrollment.empty or not checks:
        return conform(pd.DataFrame(), "IE")
    texts = {code: (category, text) for code, category, text in design["criteria"]}
    rows = _rows_from_findings(design.get("ie_from_findings", {}), texts, enrollment, findings)
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
    # one record per subject and criterion, whichever way it was judged
    rows = list({(r["usubjid"], r["IETESTCD"]): r for r in rows}.values())
    ie = with_reference_start(pd.DataFrame(rows), dm)
    ie["IEDY"] = study_day(ie["IEDTC"], ie["RFSTDTC"]).astype("Float64")
    return finish_domain(ie, study, "IE", ["IECAT", "IETESTCD"])


def _rows_from_findings(rules: dict[str, str], texts: dict[str, tuple[str, str]], enrollment: pd.DataFrame,
                        findings: pd.DataFrame | None) -> list[dict]:
    if not rules or findings is None or findings.empty:
        return []
    subjects = enrollment.drop_duplicates("usubjid").set_index(["site", "subjid"])
    out = []
    for code, rule in rules.items():
        category, text = texts[code]
        hits = findings.loc[findings["rule_id"] == rule, ["site", "subjid"]].dropna()
        for key in sorted(set(map(tuple, hits.to_numpy().tolist()))):
            if key not in subjects.index:
                continue
            subject = subjects.loc[key]
            out.append({"usubjid": subject["usubjid"], "IETESTCD": code, "IETEST": text[:200], "IECAT": category,
                        "IEORRES": "Y" if category == "EXCLUSION" else "N",
                        "IESTRESC": "Y" if category == "EXCLUSION" else "N", "IEDTC": subject.get("rficdtc"),
                        "src_file": subject.get("src_file"), "src_locator": subject.get("src_locator")})
    return out
