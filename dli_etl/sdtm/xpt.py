"""SAS XPT v5 files for SDTM domains (pyreadstat): names <= 8 characters, labels <= 40, text <= 200."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

from dli_etl.sdtm.algorithms import labels

DATASET_LABELS = {
    "DM": "Demographics", "IE": "Inclusion/Exclusion Criteria Not Met", "EX": "Exposure", "SUPPEX": "Supplemental Qualifiers for EX", "MH": "Medical History",
    "PR": "Procedures", "SUPPPR": "Supplemental Qualifiers for PR", "CM": "Concomitant/Concurrent Medications",
    "LB": "Laboratory Test Results", "AE": "Adverse Events", "SUPPAE": "Supplemental Qualifiers for AE",
    "FA": "Findings About Events or Interventions", "RS": "Disease Response and Clin Classification",
    "DS": "Disposition", "DD": "Death Details", "TS": "Trial Summary", "TA": "Trial Arms", "TE": "Trial Elements",
    "TI": "Trial Inclusion/Exclusion Criteria", "SV": "Subject Visits", "DV": "Protocol Deviations",
    "RELREC": "Related Records",
}


def _xpt_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series.dtype):
            out[column] = series.astype("float64")
        else:
            out[column] = series.astype(object).where(series.notna(), "").astype(str).str.slice(0, 200)
    return out


def write_xpt(frame: pd.DataFrame, domain: str, path: Path) -> Path:
    """One domain as XPT v5 with dataset and variable labels."""
    name = domain.upper()
    path.parent.mkdir(parents=True, exist_ok=True)
    var_labels = labels(name)
    pyreadstat.write_xport(_xpt_ready(frame), str(path), file_label=DATASET_LABELS.get(name, name)[:40],
                           column_labels=[var_labels.get(c, c)[:40] for c in frame.columns], table_name=name,
                           file_format_version=5)
    return path
