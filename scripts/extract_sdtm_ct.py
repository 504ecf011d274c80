"""Rebuild ``dli_etl/specs/sdtm_ct_subset.csv``: the NCI EVS SDTM CT codelists the two studies use.

    python scripts/extract_sdtm_ct.py "../shared/reference/public-data/ct-sdtm-nci-evs/SDTM Terminology.txt"

(extract the .txt first: ``tar -xJf SDTM_Terminology.tar.xz``). Package date: 2025-03-25.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

CODELISTS = ("SEX", "AGEU", "NY", "OUT", "ROUTE", "FREQ", "UNIT", "LBTESTCD", "LBTEST", "SPECTYPE", "METHOD", "LOC",
             "NCOMPLT", "PROTMLST", "DSCAT", "ONCRTSCD", "ONCRTS", "ONCRSR", "ONCRSCAT", "EPOCH", "FATESTCD", "FATEST",
             "TSPARMCD", "TSPARM", "STYPE", "INTMODEL", "TPHASE", "DTHDXCD", "DTHDX", "TBLIND", "TCNTRL", "TTYPE",
             "DOMAIN", "FRM", "ARMNULRS")
OUT = Path(__file__).resolve().parents[1] / "dli_etl" / "specs" / "sdtm_ct_subset.csv"


def main(path: str) -> int:
    ct = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    heads = ct[ct["Codelist Code"] == ""]
    rows = []
    for name in CODELISTS:
        head = heads[heads["CDISC Submission Value"] == name].iloc[0]
        terms = ct[ct["Codelist Code"] == head["Code"]]
        for _, term in terms.iterrows():
            rows.append({"codelist": name, "codelist_code": head["Code"],
                         "extensible": head["Codelist Extensible (Yes/No)"], "term_code": term["Code"],
                         "submission_value": term["CDISC Submission Value"], "synonyms": term["CDISC Synonym(s)"]})
    frame = pd.DataFrame(rows)
    frame.to_csv(OUT, index=False)
    print(f"{len(frame)} terms in {frame['codelist'].nunique()} codelists -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
