"""Raw forms: source rows as text with lineage, one frame per form per source file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from dli_etl.findings import Finding
from dli_etl.lineage import cell_locator

LINEAGE = ("src_file", "src_sha256", "src_format", "src_locator", "src_row", "row_id")


@dataclass
class RawForm:
    """Rows of one form from one file. ``source_columns`` maps a field to its source column id
    (xlsx column letter, ODM ItemOID, REDCap field name) for cell-level lineage."""

    study: str
    form: str
    src_format: str
    src_file: str
    frame: pd.DataFrame
    source_columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    decimal_separator: str | None = None
    thousands_separator: str | None = None
    mrd_unit: str = "percent"
    reference_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # in the reported unit
    source_labels: dict[str, str] = field(default_factory=dict)  # field -> the site's own name for it

    def cell(self, row_locator: str, field_name: str) -> str:
        """Locator of one value, e.g. ``CBC!F17``."""
        return cell_locator(self.src_format, row_locator, self.source_columns.get(field_name, field_name))


@dataclass
class SourceFile:
    """A landing file that was read (or tried): its hash is part of the run's record."""

    study: str
    site: str
    path: str
    sha256: str
    format: str
    profile: str
    status: str  # read | unreadable | no_profile | dictionary (a REDCap data dictionary beside its export)


@dataclass
class SourceCoverage:
    """Where the values of one block of a source (a sheet, an item group, an instrument) went.

    ``values_in_source`` = mapped + identifier + unmapped + skipped: a value read into a form, a declared
    identifier (dropped or pseudonymised), a value in a column / item / instrument no profile maps, or a
    value on a row the profile skips (totals, spacers). Unmapped and skipped values each have a finding."""

    study: str
    site: str
    src_file: str
    block: str
    status: str  # read | unread | hidden
    values_in_source: int = 0
    values_mapped: int = 0
    values_identifier: int = 0
    values_unmapped: int = 0
    values_skipped: int = 0

    @property
    def balanced(self) -> bool:
        return self.values_in_source == (self.values_mapped + self.values_identifier + self.values_unmapped
                                         + self.values_skipped)


@dataclass
class IngestResult:
    study: str
    forms: list[RawForm] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    coverage: list[SourceCoverage] = field(default_factory=list)
    # site -> the language its profile declares (only languages other than English are recorded)
    languages: dict[str, str] = field(default_factory=dict)
    # src_file -> OID -> the name the EDC shows for it (ODM StudyEventDef, FormDef, ItemDef names)
    source_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def without_rows(self) -> IngestResult:
        """This ingest with every raw form's rows dropped, columns and metadata kept: all that publishing
        needs once the forms are harmonized (files, coverage, the sites' own labels). At scale the raw rows
        are hundreds of MiB that nothing reads after harmonize."""
        return replace(self, forms=[replace(raw, frame=_no_rows(raw.frame)) for raw in self.forms])

    def frames_for(self, form: str) -> list[RawForm]:
        return [f for f in self.forms if f.form == form]


def _no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    # new empty arrays: a zero-row slice of an Arrow column would still hold the column's buffers
    return pd.DataFrame({name: pd.array([], dtype=dtype) for name, dtype in frame.dtypes.items()},
                        index=frame.index[:0].copy())
