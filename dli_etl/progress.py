"""Progress of a run as one line per step: a bar of the steps done, the step, and what it took. The same
lines come from the plain pipeline and from the Dagster graph, so a long run never goes quiet."""

from __future__ import annotations


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """``[########............] 4/10``: steps finished out of all steps."""
    total = max(total, 1)
    filled = round(width * min(done, total) / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def progress_line(done: int, total: int, what: str) -> str:
    """One progress line: the bar, then what happened."""
    return f"{progress_bar(done, total)} {what}"
