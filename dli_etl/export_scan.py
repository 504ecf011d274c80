"""Draft a site profile for an ODM export nobody has described yet (``dli-etl scan export.xml``).

Each item is matched to a form field by its ItemDef Name, else by its OID without the ``IT.`` prefix,
compared as a person reads them (case, underscores and dots do not matter) with the field names of
``specs/forms.yaml`` and the header synonyms; an item group becomes the form most of its items belong
to. Item groups and items it cannot place are listed at the top of the draft, and the sites seen in
SiteRef are proposed as the profile's ``sites``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from dli_etl.ingest.odm_reader import read_odm
from dli_etl.profile_scan import ProfileDraft
from dli_etl.specs import load_spec

_KEY_COLUMNS = {"study_oid", "subject_key", "site", "event_oid", "event_repeat_key", "form_oid", "form_repeat_key",
                "item_group_oid", "item_group_repeat_key", "src_locator", "subject_name", "study_subject_id"}


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _field_index() -> dict[str, list[tuple[str, str]]]:
    """Squashed field name, label or header synonym -> [(form, field)]; one name may belong to several
    forms (e.g. lbdtc). Exact matches only: an export's item names are not free-text headers, and "Date of
    Birth" must not become a sample date because it contains "date"."""
    synonyms = load_spec("header_synonyms")["fields"]
    index: dict[str, list[tuple[str, str]]] = {}
    for form, spec in load_spec("forms").items():
        for name, field in spec["fields"].items():
            for word in {name, str(field.get("label", "")), *synonyms.get(name, [])}:
                if word and (form, name) not in index.get(_squash(word), []):
                    index.setdefault(_squash(word), []).append((form, name))
    return index


def scan_odm(path: Path, study: str = "STUDY", site: str = "EDC") -> ProfileDraft:
    """Draft an ``odm`` profile: one form block per item group, fields by item name."""
    content = read_odm(path)
    index = _field_index()
    notes: list[str] = []
    forms: dict[str, Any] = {}
    sites: set[str] = set()
    studies: set[str] = set()
    for group, frame in content.item_groups.items():
        sites |= {s for s in frame["site"] if s}
        studies |= {s for s in frame["study_oid"] if s}
        items = [c for c in frame.columns if c not in _KEY_COLUMNS]
        candidates: dict[str, tuple[str, str] | list[tuple[str, str]]] = {}
        for item in items:
            name = content.item_defs.get(item, {}).get("name") or item.split(".", 1)[-1]
            hits = index.get(_squash(name)) or index.get(_squash(item.split(".", 1)[-1]))
            if hits:
                candidates[item] = hits
        votes = Counter(form for hits in candidates.values() for form, _ in hits)
        if not votes:
            notes.append(f"item group {group!r}: no item matches a form field; not placed")
            continue
        form = votes.most_common(1)[0][0]
        fields = {item: next(n for f, n in hits if f == form) for item, hits in candidates.items()
                  if any(f == form for f, _ in hits)}
        unplaced = [i for i in items if i not in fields]
        if unplaced:
            notes.append(f"item group {group!r} -> {form}: items not placed: {', '.join(unplaced)}")
        block = {"item_group": group, "fields": fields}
        if form in forms:
            existing = forms[form] if isinstance(forms[form], list) else [forms[form]]
            forms[form] = [*existing, block]
        else:
            forms[form] = block
    profile: dict[str, Any] = {"study": study, "site": site, "source_name": Path(path).stem, "format": "odm",
                               "files": [f"edc/*{Path(path).suffix}"]}
    if len(studies) == 1:
        profile["study_oid"] = next(iter(studies))
    elif len(studies) > 1:
        notes.append(f"the export holds several studies ({', '.join(sorted(studies))}): set study_oid")
    if sites:
        profile["sites"] = sorted(sites)
    else:
        notes.append("no SiteRef in the export: set default_site")
    profile["forms"] = forms
    return ProfileDraft(profile, [], notes)
