"""One publishing run per output folder at a time: ``<out>/.lock`` (plus a PostgreSQL advisory lock in
the warehouse transaction, see ``publish.publish_sql``).

A second run refuses cleanly, naming the holder; a lock left by a process that no longer exists (a run
that was killed) is taken over, and that is said.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".lock"


class RunLocked(RuntimeError):
    """Another dli-etl run is publishing into the same output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextmanager
def run_lock(out: Path, purpose: str = "publish") -> Iterator[str | None]:
    """Hold ``<out>/.lock`` for the block; yields a note when a stale lock was taken over (else None)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "purpose": purpose}
    note = None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            pid = int(holder.get("pid", 0) or 0)
            same_host = holder.get("host", me["host"]) == me["host"]
            if pid and (not same_host or _alive(pid)):
                raise RunLocked(f"another dli-etl run holds {path} (pid {pid} on {holder.get('host', '?')}, "
                                f"{holder.get('purpose', 'publish')} since {holder.get('since', '?')}); "
                                "nothing was published by this run, try again when it has finished") from None
            note = f"took over a stale lock left by pid {pid or '?'} ({holder.get('since', '?')})"
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(me, handle)
        break
    else:
        raise RunLocked(f"could not take {path}")
    try:
        yield note
    finally:
        if _holder(path).get("pid") == me["pid"]:
            path.unlink(missing_ok=True)
