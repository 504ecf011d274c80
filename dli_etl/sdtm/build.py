"""All SDTM domains of one study from its curated forms, plus the controlled-terminology check."""

from __future__ import annotations

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.sdtm.controlled_terms import ct_findings
from dli_etl.sdtm.cross_domain import cross_domain_findings
from dli_etl.sdtm.dm import build_dm
from dli_etl.sdtm.events import build_ae, build_ds, build_mh
from dli_etl.sdtm.ex import build_ex
from dli_etl.sdtm.findings_domains import build_dd, build_fa, build_lb, build_rs
from dli_etl.sdtm.interventions import build_cm, build_pr
from dli_etl.sdtm.trial_design import build_trial_design

LINEAGE_TABLES = ("ex_lineage",)


def build_sdtm(study: str, curated: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Domains keyed by lower-case name (``dm``, ``ex``, ``suppex``, ...) and CT findings."""
    dm = build_dm(study, curated)
    ex, suppex, ex_lineage = build_ex(study, curated, dm)
    ae, suppae = build_ae(study, curated, dm)
    pr, supppr = build_pr(study, curated, dm)
    domains = {
        **build_trial_design(study), "dm": dm, "mh": build_mh(study, curated, dm), "pr": pr, "supppr": supppr,
        "ex": ex, "suppex": suppex, "cm": build_cm(study, curated, dm), "lb": build_lb(study, curated, dm),
        "ae": ae, "suppae": suppae, "fa": build_fa(study, curated, dm), "rs": build_rs(study, curated, dm),
        "ds": build_ds(study, curated, dm), "dd": build_dd(study, curated, dm), "ex_lineage": ex_lineage,
    }
    findings: list[Finding] = []
    for name, frame in domains.items():
        if name not in LINEAGE_TABLES:
            findings += ct_findings(study, name, frame)
    findings += cross_domain_findings(study, domains)
    return domains, findings
