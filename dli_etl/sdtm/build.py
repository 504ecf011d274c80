"""All SDTM domains of one study from its curated forms, plus the controlled-terminology check."""

from __future__ import annotations

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.sdtm.algorithms import conform, derive_epoch
from dli_etl.sdtm.controlled_terms import ct_findings
from dli_etl.sdtm.cross_domain import cross_domain_findings
from dli_etl.sdtm.dm import build_dm
from dli_etl.sdtm.events import build_ae
from dli_etl.sdtm.ex import build_ex
from dli_etl.sdtm.findings_domains import build_lb
from dli_etl.sdtm.ie import build_ie
from dli_etl.sdtm.mapping_spec import map_domain
from dli_etl.sdtm.response import code_relapse_origin
from dli_etl.sdtm.special_purpose import build_dv, build_relrec, build_sv, with_visits
from dli_etl.sdtm.trial_design import build_trial_design
from dli_etl.specs import load_spec

LINEAGE_TABLES = ("ex_lineage", "lineage")
_EPOCH_DATES = {"ex": "EXSTDTC", "ae": "AESTDTC", "lb": "LBDTC", "cm": "CMSTDTC", "ds": "DSSTDTC", "dv": "DVSTDTC",
                "sv": "SVSTDTC"}


def _with_epochs(domains: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """EPOCH on every domain that has it, from DM's reference start and the EX treatment window."""
    dm, ex = domains["dm"], domains["ex"]
    window = (ex.groupby("USUBJID").agg(TRTSTDTC=("EXSTDTC", "min"), TRTENDTC=("EXENDTC", "max")).reset_index()
              if not ex.empty else pd.DataFrame(columns=["USUBJID", "TRTSTDTC", "TRTENDTC"]))
    reference = dm[["USUBJID", "RFSTDTC"]].merge(window, on="USUBJID", how="left")
    out = {}
    for name, frame in domains.items():
        if name in _EPOCH_DATES and not frame.empty and "EPOCH" in frame.columns:
            lineage = frame.attrs.get("lineage")
            frame = frame.assign(EPOCH=derive_epoch(frame[_EPOCH_DATES[name]], frame["USUBJID"], reference))
            if lineage is not None:
                frame.attrs["lineage"] = lineage
        out[name] = frame
    return out


def build_sdtm(study: str, curated: dict[str, pd.DataFrame], findings_so_far: pd.DataFrame | None = None
               ) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Domains keyed by lower-case name (``dm``, ``ex``, ``suppex``, ...), the lineage table, and findings
    (controlled terminology, cross-domain). ``findings_so_far`` supplies the protocol deviations for DV."""
    dm = build_dm(study, curated)
    ex, suppex, ex_lineage = build_ex(study, curated, dm)
    ae, suppae = build_ae(study, curated, dm)
    findings: list[Finding] = []
    spec_driven: dict[str, pd.DataFrame] = {}
    for domain in ("MH", "PR", "CM", "FA", "RS", "DS", "DD"):
        frame, supp, unmapped = map_domain(study, domain, curated, dm)
        spec_driven[domain.lower()] = frame
        if supp is not None:
            spec_driven[f"supp{domain.lower()}"] = supp
        findings += unmapped
    spec_driven["rs"] = code_relapse_origin(spec_driven["rs"], bool(load_spec("studies")[study].get("in_cr_at_entry")))
    domains = {
        **build_trial_design(study, dm), "dm": dm, **spec_driven, "ex": ex, "suppex": suppex,
        "lb": build_lb(study, curated, dm), "ie": build_ie(study, curated, dm, findings_so_far), "ae": ae, "suppae": suppae, "sv": build_sv(study, curated, dm),
        "dv": build_dv(study, findings_so_far if findings_so_far is not None else pd.DataFrame(), dm),
        "ex_lineage": ex_lineage,
    }
    # LB comes from site workbooks without EDC events: a draw takes the visit whose dates contain it
    visited = conform(with_visits(domains["lb"], domains["sv"], "LBDTC"), "LB")
    visited.attrs = dict(domains["lb"].attrs)  # its lineage travels with it
    domains["lb"] = visited
    domains["relrec"] = build_relrec(study, domains["ae"], domains["lb"])
    domains = _with_epochs(domains)
    lineage = [f.attrs["lineage"].frame for f in domains.values() if "lineage" in f.attrs]
    domains["lineage"] = pd.concat(lineage, ignore_index=True) if lineage else pd.DataFrame()
    for frame in domains.values():
        frame.attrs.pop("lineage", None)  # published tables carry no attrs
    for name, frame in domains.items():
        if name not in LINEAGE_TABLES:
            findings += ct_findings(study, name, frame)
    findings += cross_domain_findings(study, domains)
    return domains, findings
