"""The hostile corpus: one landing folder in which each of the hostile inputs found by the robustness
probe (issue 14) lands in its own file, generated from a clean synthetic landing so no binary blob is
stored in the repository.

    python tests/hostile/make_corpus.py CLEAN_LANDING OUT_LANDING

Each ``HostileCase`` names the file it planted or changed (relative to the landing folder) and the rule
whose finding a data manager must see for it. ``tests/test_hostile_corpus.py`` runs the pipeline once
over the corpus and checks every case; ``bench/hostile_memory.py`` measures the two costly ones (the zip
bomb, the far cell) at full size.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl


@dataclass(frozen=True)
class HostileCase:
    name: str
    file: str  # relative to the landing folder
    rule_id: str  # the finding it must produce on that file
    what: str


def zip_bomb(path: Path, template: Path, padding_mib: int) -> Path:
    """A real workbook plus one member of zeros: kilobytes on disk, ``padding_mib`` when unpacked."""
    shutil.copy(template, path)
    block = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            archive.open("xl/media/padding.bin", "w", force_zip64=True) as member:
        for _ in range(padding_mib):
            member.write(block)
    return path


def far_cell(path: Path, sheet: str, cell: str = "Z1000000") -> Path:
    """One stray value far below and right of the data: a dense reader would build 26 million cells."""
    book = openpyxl.load_workbook(path)
    book[sheet][cell] = "x"
    book.save(path)
    return path


def _edit_sheet(path: Path, sheet: str, edit) -> None:
    book = openpyxl.load_workbook(path)
    edit(book[sheet])
    book.save(path)


def _header_column(ws, header: str) -> int:
    for cell in ws[1]:
        if cell.value == header:
            return cell.column
    raise KeyError(header)


def build_corpus(clean: Path, landing: Path, bomb_mib: int = 600) -> list[HostileCase]:
    """Copy the clean landing to ``landing`` and plant every hostile case in it; returns the cases.
    ``bomb_mib`` is what the zip bomb unpacks to (above the 512 MiB default limit)."""
    shutil.copytree(clean, landing)
    cases: list[HostileCase] = []
    pro, plx = landing / "DLIPRO", landing / "DLIPLX"

    # S01: a repeated header, a formula without a saved value, an invisible right-to-left override
    s01 = pro / "sites" / "S01" / "DLIPRO_S01_local_labs.xlsx"

    def s01_edits(ws) -> None:
        ws.cell(1, ws.max_column + 1, "WBC (10^9/L)")  # the same header twice
        ws.cell(5, _header_column(ws, "PLT (10^9/L)"), "=B5*2")  # openpyxl saves no cached value
        ws.cell(6, _header_column(ws, "WBC (10^9/L)"), "5.1\u202e")  # Trojan-source style bidi override
    _edit_sheet(s01, "CBC", s01_edits)
    rel = s01.relative_to(landing).as_posix()
    cases += [HostileCase("repeated header", rel, "INGEST-COLUMN-REPEATED", "a header written twice on one sheet"),
              HostileCase("formula without value", rel, "INGEST-FORMULA-NO-VALUE", "a formula cell no program computed"),
              HostileCase("bidi override", rel, "TEXT-CONTROL-CHARACTER", "an invisible U+202E in a number")]

    # S02: cells under a merge down a column the profile does not fill down; a record id that is a formula
    s02 = pro / "sites" / "S02" / "DLIPRO_S02_local_labs.xlsx"

    def s02_edits(ws) -> None:
        ws.merge_cells(start_row=4, start_column=3, end_row=6, end_column=3)
        ws.cell(8, 1).value = '=HYPERLINK("http://example.invalid","02-999")'
        ws.cell(8, 1).data_type = "s"  # text that looks like a formula, as a CSV import leaves it
    _edit_sheet(s02, "血常规", s02_edits)
    rel = s02.relative_to(landing).as_posix()
    cases += [HostileCase("merged cells", rel, "INGEST-MERGED-CELLS", "three cells under one merge"),
              HostileCase("formula-looking record id", rel, "ID-UNKNOWN-SUBJECT", "a subject id =HYPERLINK(...)")]

    # S03: a file that is not a workbook, and an empty one; S04: half a workbook
    for name, data in (("DLIPRO_S03_notes.xlsx", b"this is not a workbook"), ("DLIPRO_S03_empty.xlsx", b"")):
        path = pro / "sites" / "S03" / name
        path.write_bytes(data)
        cases.append(HostileCase(f"unreadable: {name}", path.relative_to(landing).as_posix(), "INGEST-FILE-UNREADABLE",
                                 "bytes that are not an xlsx"))
    s04 = pro / "sites" / "S04" / "DLIPRO_S04_local_labs.xlsx"
    half = pro / "sites" / "S04" / "DLIPRO_S04_resent.xlsx"
    half.write_bytes(s04.read_bytes()[: s04.stat().st_size // 2])
    cases.append(HostileCase("truncated workbook", half.relative_to(landing).as_posix(), "INGEST-FILE-UNREADABLE",
                             "a transfer cut in the middle"))

    # S05: a zip bomb disguised as a workbook; S06: one stray far cell on a sheet it reads
    bomb = zip_bomb(pro / "sites" / "S05" / "DLIPRO_S05_extra.xlsx", pro / "sites" / "S05" / "DLIPRO_S05_local_labs.xlsx",
                    bomb_mib)
    cases.append(HostileCase("zip bomb", bomb.relative_to(landing).as_posix(), "INGEST-LIMIT-EXCEEDED",
                             f"{bomb.stat().st_size // 1024} KiB on disk, {bomb_mib} MiB unpacked"))
    s06 = far_cell(pro / "sites" / "S06" / "DLIPRO_S06_local_labs.xlsx", "Biochemistry")
    cases.append(HostileCase("far cell", s06.relative_to(landing).as_posix(), "INGEST-LIMIT-EXCEEDED",
                             "a stray value at Z1000000"))

    # EDC: a SiteRef that climbs out of the output folder, in a file declared ISO-8859-1 but written in UTF-8
    odm = next((pro / "edc").glob("*.xml"))
    text = odm.read_text(encoding="utf-8")
    text = text.replace("encoding='UTF-8'", "encoding='ISO-8859-1'", 1).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    text = text.replace('<SiteRef LocationOID="S01" />', '<SiteRef LocationOID="x/../../PWNED" />', 1)
    text = text.replace("?>", "?>\n<!-- exporté par le système : µg/kg -->", 1)
    odm.write_text(text, encoding="utf-8")
    rel = odm.relative_to(landing).as_posix()
    cases += [HostileCase("site id with a path", rel, "ODM-SITE-UNKNOWN", "SiteRef x/../../PWNED"),
              HostileCase("mislabelled encoding", rel, "INGEST-ENCODING-MISLABELLED", "declared ISO-8859-1, bytes UTF-8")]

    # REDCap: a BEL and a NUL in one value, a column the dictionary does not know, exported as UTF-16
    export = next((plx / "redcap").glob("DLIPLX_DATA_*.csv"))
    lines = export.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("dob")] = row[header.index("dob")] + "\x07\x00"
    lines[1] = ",".join(row)
    lines = [lines[0] + ",site_comment"] + [line + "," for line in lines[1:]]
    export.write_text("\n".join(lines) + "\n", encoding="utf-16")
    rel = export.relative_to(landing).as_posix()
    cases += [HostileCase("control characters", rel, "TEXT-CONTROL-CHARACTER", "BEL and NUL in a date of birth"),
              HostileCase("column not in the dictionary", rel, "REDCAP-COLUMN-NOT-IN-DICTIONARY", "site_comment")]

    # JLU: a second workbook the profile claims that is not a workbook at all
    junk = plx / "sites" / "JLU" / "DLIPLX_JLU_MRD_old.xlsx"
    junk.write_bytes(b"PK\x03\x04" + b"\xff" * 2048)
    cases.append(HostileCase("zip header, no zip", junk.relative_to(landing).as_posix(), "INGEST-FILE-UNREADABLE",
                             "starts like a zip, is not one"))
    return cases


if __name__ == "__main__":
    for case in build_corpus(Path(sys.argv[1]), Path(sys.argv[2])):
        print(f"{case.name:32} {case.rule_id:34} {case.file}")
