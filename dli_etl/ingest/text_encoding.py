"""Which encoding a text export (REDCap CSV, its dictionary) is written in.

Sites send UTF-8, UTF-8 with a BOM, GB18030 (Excel's "CSV" on a Chinese Windows) and UTF-16 (Excel's
"Unicode text"). A byte-order mark decides; otherwise strict UTF-8, then strict GB18030. What was decided
is returned so the run can say so; a file that is none of them is refused with a way to fix it, never
read with replacement characters.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from dli_etl.ingest.errors import SourceReadError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
REEXPORT_HINT = ("re-export it as UTF-8 (REDCap: Data Exports > CSV; Excel: Save As > 'CSV UTF-8 (Comma "
                 "delimited)')")


def decode_text(path: Path) -> tuple[str, str]:
    """(text, encoding) of a text file; ``SourceReadError`` naming the byte that fails and the fix."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceReadError(str(path), f"cannot be opened ({exc})") from exc
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise SourceReadError(str(path), f"starts with a {encoding} byte-order mark but byte {exc.start} "
                                                 f"is not {encoding}; {REEXPORT_HINT}") from exc
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise SourceReadError(str(path), f"is not UTF-8 (byte {utf8_error.start}: "
                                             f"{raw[utf8_error.start:utf8_error.start + 4]!r}) nor GB18030; "
                                             f"{REEXPORT_HINT}") from utf8_error
