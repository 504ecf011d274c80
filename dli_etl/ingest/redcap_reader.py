"""Read a REDCap raw record export (CSV) with its data dictionary into one frame per instrument.

Rows of repeating instruments belong to the instrument named in ``redcap_repeat_instrument``; other rows
hold every non-repeating instrument of their event, so an instrument is present on a row when any of
its fields is filled. Checkbox columns ``name___code`` fold back into one ``name`` value ``code|code``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dli_etl.ingest.errors import SourceReadError
from dli_etl.ingest.text_encoding import decode_text
from dli_etl.lineage import redcap_row_locator

_DICT_FIELD = "Variable / Field Name"
_DICT_FORM = "Form Name"
_DICT_TYPE = "Field Type"
_DICT_IDENTIFIER = "Identifier?"
_TICKED = {"1", "checked"}


@dataclass
class RedcapDictionary:
    """Fields per instrument, their types, and the fields REDCap flags as identifiers."""

    instruments: dict[str, list[str]] = field(default_factory=dict)
    field_types: dict[str, str] = field(default_factory=dict)
    identifiers: set[str] = field(default_factory=set)
    validation: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # field -> its Field Label, as the site sees it
    encoding: str = "utf-8"


@dataclass
class RedcapContent:
    instruments: dict[str, pd.DataFrame]
    dictionary: RedcapDictionary
    id_field: str
    unknown_columns: list[str]
    unknown_counts: dict[str, int] = field(default_factory=dict)
    encoding: str = "utf-8"


def read_dictionary(path: Path) -> RedcapDictionary:
    """Parse a REDCap data dictionary CSV (the standard 18 headers; BOM and encoding detected)."""
    text, encoding = decode_text(path)
    try:
        with io.StringIO(text, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or _DICT_FIELD not in reader.fieldnames:
                raise SourceReadError(str(path), f"not a REDCap data dictionary (no {_DICT_FIELD!r} column)")
            result = RedcapDictionary()
            for row in reader:
                name = (row.get(_DICT_FIELD) or "").strip()
                if not name:
                    continue
                form = (row.get(_DICT_FORM) or "").strip()
                result.instruments.setdefault(form, []).append(name)
                result.field_types[name] = (row.get(_DICT_TYPE) or "").strip()
                result.validation[name] = (row.get("Text Validation Type OR Show Slider Number") or "").strip()
                result.labels[name] = (row.get("Field Label") or "").strip()
                if (row.get(_DICT_IDENTIFIER) or "").strip().lower() == "y":
                    result.identifiers.add(name)
            result.encoding = encoding
            return result
    except csv.Error as exc:
        raise SourceReadError(str(path), f"not a readable CSV dictionary ({exc})") from exc


def read_redcap(data_path: Path, dictionary: RedcapDictionary) -> RedcapContent:
    """Split a raw REDCap export into instrument frames with record/event/instance lineage."""
    from dli_etl.ingest.input_limits import check_file_size, limits

    check_file_size(data_path, limits().csv_max_mib, "a CSV export")
    text, encoding = decode_text(data_path)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype="string", keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceReadError(str(data_path), f"not a readable CSV export ({exc})") from exc
    if raw.columns.empty:
        raise SourceReadError(str(data_path), "no columns")
    id_field = next(iter(next(iter(dictionary.instruments.values()), [])), raw.columns[0])
    if id_field not in raw.columns:
        raise SourceReadError(str(data_path), f"record id column {id_field!r} from the dictionary is missing")
    for col in ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"):
        if col not in raw.columns:
            raw[col] = ""
    known = {id_field, "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
             "redcap_data_access_group", "redcap_survey_identifier"}
    frames: dict[str, pd.DataFrame] = {}
    for instrument, fields in dictionary.instruments.items():
        out = pd.DataFrame({"record_id": raw[id_field], "event": raw["redcap_event_name"],
                            "instance": raw["redcap_repeat_instance"]})
        filled = pd.Series(False, index=raw.index)
        for name in fields:
            if name == id_field:
                continue
            if dictionary.field_types.get(name) == "checkbox":
                boxes = [c for c in raw.columns if c.startswith(f"{name}___")]
                known.update(boxes)
                ticked = pd.Series("", index=raw.index, dtype="string")
                for box in boxes:
                    code = box.split("___", 1)[1]
                    # raw exports write 1/0, label exports Checked/Unchecked
                    on = raw[box].str.strip().str.casefold().isin(_TICKED)
                    ticked = ticked.where(~on, ticked.where(ticked == "", ticked + "|") + code)
                out[name] = ticked
                filled |= ticked != ""
            elif name in raw.columns:
                known.add(name)
                out[name] = raw[name]
                filled |= raw[name] != ""
        complete = f"{instrument}_complete"
        known.add(complete)
        if complete in raw.columns:
            out["form_status"] = raw[complete]
        repeat = raw["redcap_repeat_instrument"]
        mine = (repeat == instrument) | ((repeat == "") & filled)
        part = out[mine].copy()
        part["src_locator"] = [redcap_row_locator(r, e, instrument, i) for r, e, i in
                               zip(part["record_id"], part["event"], part["instance"], strict=True)]
        part["src_row"] = (part.index + 2).astype("int64")  # CSV line: header is line 1
        frames[instrument] = part.reset_index(drop=True)
    unknown = [c for c in raw.columns if c not in known and c.split("___")[0] not in dictionary.field_types]
    counts = {c: int((raw[c].str.strip() != "").sum()) for c in unknown}
    return RedcapContent(frames, dictionary, id_field, unknown, counts, encoding)
