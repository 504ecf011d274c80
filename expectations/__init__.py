"""Great Expectations suites as JSON (installed as ``dli_etl.expectations``); regenerate with
``python scripts/build_expectation_suites.py``."""
