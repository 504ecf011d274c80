"""Direct identifiers (names, phone numbers, national ID, hospital record numbers, addresses, e-mail).

Used on columns a site profile does not describe: a header or values that look like an identifier make
a privacy finding, and the column never leaves ingest. Declared identifiers are dropped or replaced by a
keyed pseudonym (HMAC-SHA256), so a link survives without the value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

import pandas as pd

_HEADER_PATTERNS = (
    (re.compile(r"(^|[^a-z])(patient|first|last|given|family|full)?[ _]?name([^a-z]|$)", re.I), "a name header"),
    (re.compile(r"姓名|名字"), "a name header"),
    (re.compile(r"phone|mobile|tel(ephone)?\b|电话|手机", re.I), "a phone header"),
    (re.compile(r"id[ _]?card|national[ _]?id|身份证|ssn", re.I), "a national ID header"),
    (re.compile(r"\bmrn\b|medical record|hospital (record|number)|住院号|病历号|病案号", re.I), "a record-number header"),
    (re.compile(r"address|地址|住址", re.I), "an address header"),
    (re.compile(r"e-?mail|邮箱", re.I), "an e-mail header"),
)
_VALUE_PATTERNS = (
    (re.compile(r"^1[3-9]\d{9}$"), "values shaped like mobile phone numbers"),
    (re.compile(r"^\(?\d{3}\)?[ -]?\d{3}-\d{4}$"), "values shaped like phone numbers"),
    (re.compile(r"^\d{17}[\dXx]$"), "values shaped like national ID numbers"),
    (re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I), "values shaped like e-mail addresses"),
    (re.compile(r"^[\u4e00-\u9fff]{2,4}$"), "values shaped like Chinese personal names"),
    (re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+$"), "values shaped like personal names"),
)


# short Chinese words a lab or CRF column holds that are shaped like a two-to-four character name
_NOT_NAMES = {"阴性", "阳性", "弱阳性", "未检出", "未检测到", "正常", "异常", "骨髓", "外周血", "流式细胞术", "是", "否",
              "无", "有", "男", "女", "完全缓解", "部分缓解", "复发", "进展", "稳定", "待查", "未做", "死亡", "存活"}


def identifier_reason(header: str, values: pd.Series | None = None) -> str | None:
    """Why a column looks like a direct identifier, or None."""
    for pattern, reason in _HEADER_PATTERNS:
        if pattern.search(header):
            return reason
    if values is not None:
        sample = values.dropna().astype(str).str.strip()
        sample = sample[(sample != "") & ~sample.isin(_NOT_NAMES)].head(200)
        if len(sample) >= 3:
            for pattern, reason in _VALUE_PATTERNS:
                if sample.str.match(pattern).mean() >= 0.8:
                    return reason
    return None


KEY_VARIABLE = "DLI_PSEUDONYM_KEY"


class PseudonymKeyMissing(RuntimeError):
    """A profile asks for keyed pseudonyms but no key was given."""


def pseudonym_key() -> bytes:
    """The pseudonymisation key from ``DLI_PSEUDONYM_KEY``. There is no default: a key written in the code
    is public, and a 10^7 record-number space is reversed from it in minutes."""
    key = os.environ.get(KEY_VARIABLE, "")
    if not key:
        raise PseudonymKeyMissing(
            f"a site profile pseudonymises an identifier column but {KEY_VARIABLE} is not set; set it to a "
            "secret of at least 32 random characters (the same key keeps pseudonyms stable across runs)")
    return key.encode()


def key_fingerprint() -> str | None:
    """A short fingerprint of the key in use (recorded in the run manifest; never the key), or None."""
    key = os.environ.get(KEY_VARIABLE, "")
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


def pseudonymize(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Keyed pseudonyms: the same value and key give the same pseudonym; the value cannot be recovered."""
    secret = key or pseudonym_key()
    return values.astype("string").map(
        lambda v: "" if pd.isna(v) or v == "" else "P-" + hmac.new(secret, str(v).encode(), hashlib.sha256).hexdigest()[:16],
    ).astype("string")
