"""Read CDISC ODM 1.3.x ClinicalData into one string frame per ItemGroupOID.

Parsed with defusedxml (entity expansion and external references refused) and streamed with iterparse,
so a large EDC snapshot is never held as one tree. Namespaces are ignored: real exports come with and
without the ODM namespace.
"""

from __future__ import annotations

import codecs
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import pandas as pd
from defusedxml import DefusedXmlException

from dli_etl.ingest.errors import SourceReadError
from dli_etl.lineage import odm_row_locator

KEY_COLUMNS = ("subject_key", "site", "event_oid", "event_repeat_key", "form_oid", "form_repeat_key",
               "item_group_oid", "item_group_repeat_key", "src_locator")


@dataclass
class OdmContent:
    """What an ODM file holds: item groups as frames, item definitions, and file attributes.

    ``repeated_items``: an ItemOID given twice in one ItemGroupData (the first value is kept);
    ``audit``: the AuditRecords, each with the key path it belongs to (kept as lineage)."""

    item_groups: dict[str, pd.DataFrame] = field(default_factory=dict)
    item_defs: dict[str, dict[str, str]] = field(default_factory=dict)
    def_names: dict[str, str] = field(default_factory=dict)  # StudyEventDef / FormDef / ItemDef OID -> Name
    attributes: dict[str, str] = field(default_factory=dict)
    audit_records: int = 0
    audit: list[dict[str, str]] = field(default_factory=list)
    repeated_items: list[dict[str, str]] = field(default_factory=list)
    removed: int = 0  # records a transactional file removed
    encoding_note: str = ""  # set when the declared encoding was wrong and the file was read as UTF-8

    @property
    def transactional(self) -> bool:
        return self.attributes.get("FileType", "").lower() == "transactional"


_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")


def declared_encoding_mismatch(path: Path) -> str | None:
    """The declared encoding when the bytes say otherwise: an export declared ISO-8859-1 (or GBK) whose
    bytes are valid UTF-8 with non-ASCII text was written as UTF-8 and mislabelled. None when they agree."""
    with open(path, "rb") as handle:
        head = handle.read(200)
        match = _DECLARATION.match(head)
        if not match:
            return None
        declared = match.group(2).decode("ascii").lower().replace("_", "-")
        if declared in ("utf-8", "utf8", "utf-16", "utf16"):
            return None
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        non_ascii = False
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
                non_ascii = non_ascii or any(b > 127 for b in chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None  # the bytes really are not UTF-8: trust the declaration
        return match.group(2).decode("ascii") if non_ascii else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# vendor attributes on SubjectData that carry the subject id a site knows (Rave, OpenClinica)
_SUBJECT_ATTRIBUTES = {"SubjectName": "subject_name", "StudySubjectID": "study_subject_id"}
_LEVELS = ("SubjectData", "StudyEventData", "FormData", "ItemGroupData")


def read_odm(path: Path) -> OdmContent:
    """Read one ODM file; raise ``SourceReadError`` if it is not well-formed or not ODM.

    A Snapshot keeps every ItemGroupData as a record. A Transactional file is applied in document order:
    Insert / Update / Upsert / Context merge into the record at their key path, Remove deletes the
    subject, event, form, item group or item it names."""
    from dli_etl.ingest.input_limits import check_file_size, limits

    check_file_size(path, limits().odm_max_mib, "an ODM file")
    content = OdmContent()
    source: Path | io.BytesIO = Path(path)
    mislabelled = declared_encoding_mismatch(path)
    if mislabelled is not None:
        # read as the UTF-8 it is: the declared single-byte encoding would turn every Chinese value into
        # mojibake that later fails as a bad dose or date
        raw = Path(path).read_bytes()
        source = io.BytesIO(_DECLARATION.sub(lambda m: m.group(0).replace(m.group(2), b"UTF-8"), raw, count=1))
        content.encoding_note = f"declared {mislabelled} but written in UTF-8; read as UTF-8"
    records: dict[tuple, dict[str, str]] = {}
    context: dict[str, str] = {}
    subject_attrs: dict[str, str] = {}
    transaction: dict[str, str] = {}
    group_attrs: dict[str, str] = {}
    items: dict[str, str] = {}
    removed_items: set[str] = set()
    typed_item: tuple[str, str] | None = None
    audit: dict[str, str] | None = None
    saw_root = False
    occurrences: dict[tuple[str, str], int] = defaultdict(int)
    occurrence = 1
    serial = 0

    def key_path(depth: int) -> tuple:
        parts = [context.get("study_oid", ""), context.get("subject", "")]
        if not content.transactional:
            parts.append(str(occurrence))
        for level in _LEVELS[1:depth]:
            parts += [context.get(level, ""), context.get(level + "_rk", "")]
        return tuple(parts)

    def remove(prefix: tuple) -> None:
        gone = [k for k in records if k[:len(prefix)] == prefix]
        for k in gone:
            del records[k]
        content.removed += len(gone)

    def locator() -> str:
        return odm_row_locator(context.get("subject", ""), context.get("StudyEventData", ""),
                               context.get("StudyEventData_rk", ""), context.get("FormData", ""),
                               context.get("FormData_rk", ""), group_attrs.get("ItemGroupOID", ""),
                               group_attrs.get("ItemGroupRepeatKey", ""), occurrence)

    try:
        for action, elem in SafeET.iterparse(source if isinstance(source, io.BytesIO) else str(source),
                                             events=("start", "end"), forbid_dtd=True):
            tag = _local(elem.tag)
            if action == "start":
                if not saw_root:
                    if tag != "ODM":
                        raise SourceReadError(str(path), f"root element is <{tag}>, not <ODM>")
                    saw_root = True
                    content.attributes = {_local(k): v for k, v in elem.attrib.items()}
                elif tag == "ClinicalData":
                    context = {"study_oid": elem.get("StudyOID", "")}
                elif tag in _LEVELS:
                    depth = _LEVELS.index(tag) + 1
                    kind = elem.get("TransactionType", "")
                    transaction = {lvl: t for lvl, t in transaction.items() if _LEVELS.index(lvl) < depth - 1}
                    transaction[tag] = kind
                    if tag == "SubjectData":
                        context = {"study_oid": context.get("study_oid", ""), "subject": elem.get("SubjectKey", ""),
                                   "site": ""}
                        subject_attrs = {_SUBJECT_ATTRIBUTES[_local(k)]: v for k, v in elem.attrib.items()
                                         if _local(k) in _SUBJECT_ATTRIBUTES}
                        occurrences[(context["study_oid"], context["subject"])] += 1
                        occurrence = occurrences[(context["study_oid"], context["subject"])]
                        if content.transactional:
                            occurrence = 1
                    elif tag == "ItemGroupData":
                        group_attrs = dict(elem.attrib)
                        items, removed_items = {}, set()
                    else:
                        oid = elem.get("StudyEventOID" if tag == "StudyEventData" else "FormOID", "")
                        repeat = elem.get("StudyEventRepeatKey" if tag == "StudyEventData" else "FormRepeatKey", "")
                        context[tag], context[tag + "_rk"] = oid, repeat
                        for deeper in _LEVELS[depth:]:
                            context.pop(deeper, None)
                            context.pop(deeper + "_rk", None)
                    if kind == "Remove" and content.transactional:
                        if tag == "ItemGroupData":
                            context["ItemGroupData"] = group_attrs.get("ItemGroupOID", "")
                            context["ItemGroupData_rk"] = group_attrs.get("ItemGroupRepeatKey", "")
                        remove(key_path(depth))
                elif tag == "SiteRef":
                    context["site"] = elem.get("LocationOID", "")
                elif tag.startswith("ItemData"):
                    oid = elem.get("ItemOID", "")
                    value = "" if elem.get("IsNull", "").lower() == "yes" else elem.get("Value")
                    if elem.get("TransactionType") == "Remove":
                        removed_items.add(oid)
                    elif tag == "ItemData" or value is not None:
                        _put_item(content, items, oid, value or "", locator())
                    else:
                        typed_item = (oid, tag)  # ItemDataString etc.: the value is the element's text
                elif tag == "ItemDef":
                    content.item_defs[elem.get("OID", "")] = {"name": elem.get("Name", ""),
                                                               "data_type": elem.get("DataType", "")}
                    content.def_names[elem.get("OID", "")] = elem.get("Name", "")
                elif tag in ("StudyEventDef", "FormDef"):
                    content.def_names[elem.get("OID", "")] = elem.get("Name", "")
                elif tag == "AuditRecord":
                    content.audit_records += 1
                    audit = {"key_path": locator() if group_attrs else "", "subject": context.get("subject", ""),
                             "transaction": next((t for t in reversed(transaction.values()) if t), "")}
                elif audit is not None and tag == "UserRef":
                    audit["user"] = elem.get("UserOID", "")
                continue
            if typed_item is not None and tag == typed_item[1]:
                _put_item(content, items, typed_item[0], (elem.text or "").strip(), locator())
                typed_item = None
            elif audit is not None and tag in ("DateTimeStamp", "ReasonForChange", "SourceID"):
                audit[tag] = (elem.text or "").strip()
            elif tag == "AuditRecord" and audit is not None:
                content.audit.append(audit)
                audit = None
            elif tag == "ItemGroupData":
                group = group_attrs.get("ItemGroupOID", "")
                group_rk = group_attrs.get("ItemGroupRepeatKey", "")
                context["ItemGroupData"], context["ItemGroupData_rk"] = group, group_rk
                effective = next((transaction[lvl] for lvl in reversed(_LEVELS) if transaction.get(lvl)), "")
                if effective != "Remove" or not content.transactional:
                    if content.transactional:
                        key = key_path(4)
                    else:
                        serial += 1
                        key = (serial,)
                    record = records.setdefault(key, {
                        "study_oid": context.get("study_oid", ""), "subject_key": context.get("subject", ""),
                        "site": context.get("site", ""), "event_oid": context.get("StudyEventData", ""),
                        "event_repeat_key": context.get("StudyEventData_rk", ""), "form_oid": context.get("FormData", ""),
                        "form_repeat_key": context.get("FormData_rk", ""), "item_group_oid": group,
                        "item_group_repeat_key": group_rk, "src_locator": locator(), **subject_attrs})
                    record.update(items)
                    for oid in removed_items:
                        record.pop(oid, None)
                    if context.get("site"):
                        record["site"] = context["site"]
                group_attrs = {}
                elem.clear()
            elif tag == "SubjectData":
                elem.clear()
    except SourceReadError:
        raise
    except ParseError as exc:
        raise SourceReadError(str(path), f"not well-formed XML ({exc}); ask the sender for a fresh export") from exc
    except DefusedXmlException as exc:
        raise SourceReadError(str(path), f"refused unsafe XML construct ({type(exc).__name__})") from exc
    except OSError as exc:
        raise SourceReadError(str(path), f"cannot be opened ({exc})") from exc
    if not saw_root:
        raise SourceReadError(str(path), "empty file")
    by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
    for record in records.values():
        by_group[record["item_group_oid"]].append(record)
    for group, rows in by_group.items():
        content.item_groups[group] = pd.DataFrame.from_records(rows).fillna("").astype("string")
    return content


def _put_item(content: OdmContent, items: dict[str, str], oid: str, value: str, where: str) -> None:
    """One ItemData into its group; a second value for the same ItemOID is reported, the first kept."""
    if oid in items:
        content.repeated_items.append({"src_locator": where, "item_oid": oid, "kept": items[oid], "value": value})
        return
    items[oid] = value
