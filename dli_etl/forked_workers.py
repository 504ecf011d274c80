"""Worker processes forked from the running one: they start with everything it imported and hold in
memory (no second start-up, no pickled set-up), which is what makes a few seconds of independent work
worth sending to another core."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def worker_count(workers: int | None, most: int, cap: int | None = None) -> int:
    """How many workers to start: ``workers`` (None: one per core, at most ``cap``), never more than
    ``most`` (the independent pieces of work there are)."""
    cores = os.cpu_count() or 1
    wanted = workers if workers is not None else min(cores, cap) if cap else cores
    return max(0, min(wanted, most))


def forked_pool(count: int, initializer: Callable[..., None] | None = None,
                initargs: tuple = ()) -> ProcessPoolExecutor | None:
    """A pool of ``count`` forked workers, or None when there are none to start or fork is not safe
    (not Linux: macOS's fork breaks system libraries, Windows has none). The caller then does the work
    itself."""
    if count < 1 or "fork" not in multiprocessing.get_all_start_methods() or not sys.platform.startswith("linux"):
        return None
    return ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"), initializer=initializer,
                               initargs=initargs)
