"""All ADaM-like datasets of one study from its SDTM tables, each checked against its pandera model."""

from __future__ import annotations

import pandas as pd

from dli_etl.adam.adae import build_adae
from dli_etl.adam.adlb import build_adlb, marrow_suppression_by_subject
from dli_etl.adam.adrs import build_adrs
from dli_etl.adam.adsl import build_adsl
from dli_etl.adam.adtte import build_adtte
from dli_etl.findings import Finding, findings_frame
from dli_etl.schemas.adam import ADAM_SCHEMAS
from dli_etl.schemas.failures import schema_failures


def build_adam(study: str, sdtm: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """ADSL (with the marrow-suppression subject flags), ADTTE, ADAE, ADLB and ADRS."""
    adsl = build_adsl(study, sdtm)
    adlb = build_adlb(adsl, sdtm)
    flags = marrow_suppression_by_subject(adsl, adlb)
    adsl = adsl.merge(flags, on="USUBJID", how="left", validate="one_to_one")
    return {"adsl": adsl, "adtte": build_adtte(study, adsl, sdtm), "adae": build_adae(adsl, sdtm), "adlb": adlb,
            "adrs": build_adrs(adsl, sdtm)}


def adam_findings(study: str, datasets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One error finding per failed pandera check of an ADaM dataset (a bug, not a site query)."""
    found: list[Finding] = []
    for name, cases in schema_failures(datasets, ADAM_SCHEMAS).items():
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            found.append(Finding(
                rule_id="ADAM-SCHEMA-FAILED", study=study, form=name.upper(),
                field="" if pd.isna(column) else str(column), value=str(group["failure_case"].head(3).tolist()),
                expected=str(check), detail=f"{len(group)} failing value(s)"))
    return findings_frame(found)
