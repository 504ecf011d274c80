"""The shared SDTM algorithms: study day (no day 0), sequence numbers, variable order and labels.

Each takes a frame and returns a new one; inputs are never mutated.
"""

from __future__ import annotations

import csv
from functools import cache, lru_cache
from importlib import resources

import pandas as pd


def study_day(dtc: pd.Series, rfstdtc: pd.Series) -> pd.Series:
    """--DY: date - RFSTDTC + 1 on or after the reference day, date - RFSTDTC before it (no day 0).

    Only complete dates give a day; partial dates stay null rather than being imputed.
    """
    complete = r"^\d{4}-\d{2}-\d{2}"
    when = pd.to_datetime(dtc.where(dtc.astype("string").str.match(complete).fillna(False)).str.slice(0, 10),
                          errors="coerce", format="%Y-%m-%d")
    ref = pd.to_datetime(rfstdtc.where(rfstdtc.astype("string").str.match(complete).fillna(False)).str.slice(0, 10),
                         errors="coerce", format="%Y-%m-%d")
    delta = (when - ref).dt.days
    return delta.where(delta < 0, delta + 1).astype("Int64")


def sequence_numbers(frame: pd.DataFrame, by: str, order: list[str], name: str) -> pd.DataFrame:
    """--SEQ: 1..n per subject in a stable sort order."""
    out = frame.sort_values([by, *order], kind="mergesort")
    return out.assign(**{name: (out.groupby(by).cumcount() + 1).astype("Int64")})


@lru_cache(maxsize=1)
def variable_metadata() -> pd.DataFrame:
    """Variable order, labels and types per domain (``specs/sdtm_variables.csv``)."""
    text = (resources.files("dli_etl") / "specs" / "sdtm_variables.csv").read_text(encoding="utf-8")
    return pd.DataFrame(list(csv.DictReader(text.splitlines())))


def conform(frame: pd.DataFrame, domain: str) -> pd.DataFrame:
    """Columns in SDTMIG order for ``domain``; missing variables are added empty, extras dropped."""
    columns: dict[str, pd.Series] = {}
    # one frame built from finished columns: inserting them one by one costs more than the data at 1x
    for name, numeric in _typed_variables(domain):
        if name in frame.columns:
            column = frame[name]
        else:
            column = pd.Series(pd.NA, index=frame.index, dtype="Float64" if numeric else "string")
        if not numeric:
            columns[name] = column.astype("string")
            continue
        numbers = pd.to_numeric(column, errors="coerce").astype("Float64")
        whole = bool(((numbers.dropna() % 1) == 0).all())
        columns[name] = numbers.astype("Int64") if integer_variable(name) and whole else numbers
    return pd.DataFrame(columns, index=frame.index).reset_index(drop=True)


def domain_variables(domain: str) -> tuple[str, ...]:
    """The variables of ``domain`` in SDTMIG order (looked up once per domain)."""
    return tuple(name for name, _ in _typed_variables(domain))


@cache
def _typed_variables(domain: str) -> tuple[tuple[str, bool], ...]:
    """(variable, numeric) per variable of ``domain``, in SDTMIG order."""
    meta = variable_metadata()
    rows = meta[meta["domain"] == domain]
    return tuple(zip(rows["variable"], rows["type"] == "Num", strict=True))


def integer_variable(name: str) -> bool:
    """Variables that count (sequence numbers, study days, age, element order): integers in Parquet, SQL
    and Define-XML, not doubles."""
    return name.endswith(("SEQ", "DY")) or name in ("AGE", "TAETORD")


def labels(domain: str) -> dict[str, str]:
    return dict(_labels(domain))


@cache
def _labels(domain: str) -> tuple[tuple[str, str], ...]:
    meta = variable_metadata()
    rows = meta[meta["domain"] == domain]
    return tuple(zip(rows["variable"], rows["label"], strict=True))


def with_reference_start(frame: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """Add RFSTDTC from DM (for --DY). Every record is kept: one whose subject is missing from DM keeps
    its USUBJID and a null RFSTDTC, and the cross-domain check reports it (XD-SUBJECT-NOT-IN-DM); a
    silent inner join here once dropped every record of a subject whose enrollment row was held back."""
    if not dm["USUBJID"].is_unique:  # a lookup needs one row per subject; a join keeps every pairing
        merged = frame.merge(dm[["USUBJID", "RFSTDTC"]], left_on="usubjid", right_on="USUBJID", how="left")
        return merged.assign(USUBJID=merged["usubjid"].astype("string"))
    reference = dm.set_index("USUBJID")["RFSTDTC"]
    return frame.assign(USUBJID=frame["usubjid"].astype("string"),
                        RFSTDTC=frame["usubjid"].map(reference).astype(dm["RFSTDTC"].dtype)).reset_index(drop=True)


LINEAGE_COLUMNS = ["STUDYID", "DOMAIN", "USUBJID", "SEQ", "src_file", "src_sha256", "src_locator"]


class Lineage:
    """Holder for a domain's lineage frame in ``DataFrame.attrs``: compared by identity and never
    deep-copied, so pandas operations on the domain stay cheap and never compare frames."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def __deepcopy__(self, memo: dict) -> Lineage:
        return self


def finish_domain(frame: pd.DataFrame, study: str, domain: str, order: list[str]) -> pd.DataFrame:
    """STUDYID, DOMAIN, --SEQ in a stable order, variables conformed to the domain's metadata.

    The source file and cell of every record travel beside the domain, outside the SDTM variables, in
    ``result.attrs["lineage"]`` (collected into one lineage table by ``sdtm.build``).
    """
    if frame.empty:
        return conform(pd.DataFrame(), domain)
    out = frame.assign(STUDYID=study, DOMAIN=domain)
    out = sequence_numbers(out, "USUBJID", order, f"{domain}SEQ")
    result = conform(out, domain)
    if "src_locator" in out.columns:
        lineage = out.assign(SEQ=out[f"{domain}SEQ"])
        result.attrs["lineage"] = Lineage(
            lineage[[c for c in LINEAGE_COLUMNS if c in lineage.columns]].reset_index(drop=True))
    return result


def supp_records(parent: pd.DataFrame, study: str, domain: str, qualifiers: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """SUPP-- rows for non-standard variables: ``qualifiers`` maps a parent column to (QNAM, QLABEL)."""
    rows = []
    for column, (qnam, qlabel) in qualifiers.items():
        if column not in parent.columns:
            continue
        has = parent[parent[column].notna() & (parent[column].astype("string") != "")]
        rows.append(pd.DataFrame({
            "STUDYID": study, "RDOMAIN": domain, "USUBJID": has["USUBJID"], "IDVAR": f"{domain}SEQ",
            "IDVARVAL": has[f"{domain}SEQ"].astype("string"), "QNAM": qnam, "QLABEL": qlabel,
            "QVAL": has[column].astype("string"), "QORIG": "CRF", "QEVAL": "",
        }))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return conform(frame.sort_values(["USUBJID", "IDVARVAL", "QNAM"], kind="mergesort") if not frame.empty else frame,
                   f"SUPP{domain}")


def derive_epoch(dtc: pd.Series, usubjid: pd.Series, reference: pd.DataFrame) -> pd.Series:
    """EPOCH from the trial elements: SCREENING before RFSTDTC, TREATMENT from the first protocol
    treatment to 28 days after the last, FOLLOW-UP otherwise (``reference``: USUBJID, RFSTDTC, TRTSTDTC,
    TRTENDTC). Null when the date is partial or the subject has no reference start."""
    ref = reference.set_index("USUBJID")
    day = pd.to_datetime(dtc.astype("string").str.slice(0, 10).where(dtc.astype("string").str.len() >= 10),
                         errors="coerce", format="%Y-%m-%d")
    start = pd.to_datetime(usubjid.map(ref["RFSTDTC"]), errors="coerce", format="%Y-%m-%d")
    t0 = pd.to_datetime(usubjid.map(ref["TRTSTDTC"]), errors="coerce", format="%Y-%m-%d")
    t1 = pd.to_datetime(usubjid.map(ref["TRTENDTC"]), errors="coerce", format="%Y-%m-%d") + pd.Timedelta(days=28)
    epoch = pd.Series("FOLLOW-UP", index=dtc.index, dtype="string")
    epoch = epoch.mask((day >= t0) & (day <= t1), "TREATMENT")
    epoch = epoch.mask(day < start, "SCREENING")
    return epoch.where(day.notna() & start.notna())
