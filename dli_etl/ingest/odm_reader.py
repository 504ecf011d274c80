"""Read CDISC ODM 1.3.x ClinicalData into one string frame per ItemGroupOID.

Parsed with defusedxml (entity expansion and external references refused) and streamed with iterparse,
so a large EDC snapshot is never held as one tree. Namespaces are ignored: real exports come with and
without the ODM namespace.
"""

from __future__ import annotations

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
    """What an ODM file holds: item groups as frames, item definitions, and file attributes."""

    item_groups: dict[str, pd.DataFrame] = field(default_factory=dict)
    item_defs: dict[str, dict[str, str]] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    audit_records: int = 0


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_odm(path: Path) -> OdmContent:
    """Read one ODM file; raise ``SourceReadError`` if it is not well-formed or not ODM."""
    content = OdmContent()
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    subject = site = event = event_rk = form = form_rk = ""
    group_attrs: dict[str, str] = {}
    items: dict[str, str] = {}
    saw_root = False
    occurrences: dict[str, int] = defaultdict(int)
    occurrence = 1
    try:
        for action, elem in SafeET.iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            tag = _local(elem.tag)
            if action == "start":
                if not saw_root:
                    if tag != "ODM":
                        raise SourceReadError(str(path), f"root element is <{tag}>, not <ODM>")
                    saw_root = True
                    content.attributes = {_local(k): v for k, v in elem.attrib.items()}
                elif tag == "SubjectData":
                    subject, site = elem.get("SubjectKey", ""), ""
                    occurrences[subject] += 1
                    occurrence = occurrences[subject]
                elif tag == "SiteRef":
                    site = elem.get("LocationOID", "")
                elif tag == "StudyEventData":
                    event, event_rk = elem.get("StudyEventOID", ""), elem.get("StudyEventRepeatKey", "")
                elif tag == "FormData":
                    form, form_rk = elem.get("FormOID", ""), elem.get("FormRepeatKey", "")
                elif tag == "ItemGroupData":
                    group_attrs = dict(elem.attrib)
                    items = {}
                elif tag == "ItemData":
                    items[elem.get("ItemOID", "")] = elem.get("Value", "")
                elif tag == "ItemDef":
                    content.item_defs[elem.get("OID", "")] = {"name": elem.get("Name", ""),
                                                               "data_type": elem.get("DataType", "")}
                elif tag == "AuditRecord":
                    content.audit_records += 1
                continue
            if tag == "ItemGroupData":
                group = group_attrs.get("ItemGroupOID", "")
                group_rk = group_attrs.get("ItemGroupRepeatKey", "")
                rows[group].append({
                    "subject_key": subject, "site": site, "event_oid": event, "event_repeat_key": event_rk,
                    "form_oid": form, "form_repeat_key": form_rk, "item_group_oid": group,
                    "item_group_repeat_key": group_rk,
                    "src_locator": odm_row_locator(subject, event, event_rk, form, form_rk, group, group_rk,
                                                   occurrence),
                    **items,
                })
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
    for group, records in rows.items():
        frame = pd.DataFrame.from_records(records).fillna("").astype("string")
        content.item_groups[group] = frame
    return content
