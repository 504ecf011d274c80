"""NIH 2014 chronic GVHD global severity from organ scores (Jagasia et al., BBMT 2015; clinical.md 2.1).

Eight organs are scored 0-3. "Not assessed" (None) is not 0: when an unassessed organ could raise the
result, the severity cannot be derived and None is returned.
"""

from __future__ import annotations

ORGANS = ("skin", "mouth", "eyes", "gi", "liver", "lungs", "joints", "genital")
SEVERITIES = ("NONE", "MILD", "MODERATE", "SEVERE")


def _severity(scores: dict[str, int]) -> str:
    lung = scores.get("lungs", 0)
    others = [v for k, v in scores.items() if k != "lungs"]
    if any(v >= 3 for v in scores.values()) or lung >= 2:
        return "SEVERE"
    involved = [v for v in scores.values() if v >= 1]
    if len(involved) >= 3 or any(v == 2 for v in others) or lung == 1:
        return "MODERATE"
    if involved:
        return "MILD"  # 1-2 non-lung organs, none above score 1
    return "NONE"


def nih_global_severity(scores: dict[str, int | None]) -> str | None:
    """NONE / MILD / MODERATE / SEVERE, or None when a missing organ score could change the result."""
    assessed = {k: int(v) for k, v in scores.items() if v is not None}
    result = _severity(assessed)
    missing = [k for k in ORGANS if scores.get(k) is None]
    if not missing or result == "SEVERE":
        return result
    # The worst the missing organs could do: score 3 makes any result severe, so the value is unknown.
    return None


def nih_severity_floor(scores: dict[str, int | None]) -> str:
    """The least global severity the assessed organs prove: missing scores taken as 0. A score that rises
    never lowers the NIH severity, so this is what the assessment shows at least (NONE: nothing proven)."""
    return _severity({k: int(v) for k, v in scores.items() if v is not None})
