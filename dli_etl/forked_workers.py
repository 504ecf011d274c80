"""Worker processes forked from the running one: they start with everything it imported and hold in
memory (no second start-up, no pickled set-up), which is what makes a few seconds of independent work
worth sending to another core."""

from __future__ import annotations

import gc
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
    return ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"), initializer=_freeze_inherited,
                               initargs=(initializer, initargs))


def _freeze_inherited(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    # What the worker inherited (modules, the parent's data) is never garbage here: out of the collector's
    # sight, a full collection does not walk it (seconds per run with Dagster and GX loaded) nor write to
    # its pages, which stay shared with the parent. Freezing here, not in the parent, leaves the parent's
    # collector as it was.
    gc.freeze()
    if initializer is not None:
        initializer(*initargs)
