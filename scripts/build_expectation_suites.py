"""Regenerate the Great Expectations suites in ``expectations/`` from the SDTM variable metadata and CT.

    python scripts/build_expectation_suites.py
"""

from pathlib import Path

from dli_etl.sdtm.expectation_suites import write_suites

if __name__ == "__main__":
    for path in write_suites(Path(__file__).resolve().parents[1] / "expectations"):
        print(path)
