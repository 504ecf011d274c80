"""Helper process for the kill-mid-publish tests: publish a release, then hang part-way so the test can kill it.

Usage: python publish_then_hang.py SOURCE OUT URL RUN_ID PHASE N MARKER
Reads every Parquet file under SOURCE as the tables to publish; hangs after the N-th Parquet file
(PHASE=parquet) or after the N-th SQL table inside the open transaction (PHASE=sql), having first
written MARKER so the test knows the process is exactly there.
"""

import sys
import time
from pathlib import Path

from publish_tables import tables_from_release

import dli_etl.publish as publish_module


def main() -> None:
    source, out, url, run_id, phase, n, marker = sys.argv[1:8]
    parquet, sql = tables_from_release(Path(source))
    calls = {"n": 0}

    def hang_after(real):
        def wrapped(*args, **kwargs):
            result = real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == int(n):
                Path(marker).write_text("here", encoding="utf-8")
                time.sleep(600)
            return result
        return wrapped

    if phase == "parquet":
        publish_module.write_parquet = hang_after(publish_module.write_parquet)
    else:
        publish_module.write_sql_table = hang_after(publish_module.write_sql_table)
    publish_module.publish(parquet, sql, Path(out), url, run_id=run_id)


if __name__ == "__main__":
    main()
