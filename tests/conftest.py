"""Shared fixtures: generated landing data (with and without defects) and pipeline runs over them.

Generation and the pipeline are run once per test session; tests read their outputs.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest
from filelock import FileLock

from dli_etl.pipeline import RunSummary, run_pipeline
from dli_etl.synth.generate import GenerateResult, generate

# the site profiles pseudonymise record numbers, which needs a key (there is no default key)
os.environ.setdefault("DLI_PSEUDONYM_KEY", "test-only-key-0123456789abcdef0123456789abcdef")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PUBLIC = SHARED / "reference" / "public-data"
SEED = 20261101
T = TypeVar("T")


@pytest.fixture(scope="session")
def public_data() -> Path:
    assert PUBLIC.is_dir(), f"../shared is expected beside the repository (looked for {PUBLIC})"
    return PUBLIC


def _once(tmp_path_factory, worker_id: str, name: str, make: Callable[[Path], T]) -> T:
    """A session fixture built once for all pytest-xdist workers: the first worker to need it builds it in
    a shared folder under a file lock and pickles the result; the others load that. Tests only read
    these folders (a test that changes landing files copies them first)."""
    if worker_id == "master":
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    done = shared / f"{name}.pickle"
    with FileLock(str(shared / f"{name}.lock")):
        if done.is_file():
            return pickle.loads(done.read_bytes())
        folder = shared / name
        folder.mkdir(exist_ok=True)
        value = make(folder)
        done.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def generated_defects(tmp_path_factory, worker_id) -> GenerateResult:
    return _once(tmp_path_factory, worker_id, "gen_defects", lambda f: generate(f, seed=SEED, defect_rate=0.03))


@pytest.fixture(scope="session")
def generated_clean(tmp_path_factory, worker_id) -> GenerateResult:
    return _once(tmp_path_factory, worker_id, "gen_clean", lambda f: generate(f, seed=SEED, defect_rate=0.0))


@pytest.fixture(scope="session")
def run_defects(generated_defects, tmp_path_factory, worker_id) -> RunSummary:
    # GX is run (with Data Docs) by run_clean and on broken SDTM by test_expectation_suites; the tests of
    # this release read findings, queries, tables and the report, none of which GX changes on this data
    return _once(tmp_path_factory, worker_id, "out_defects",
                 lambda f: run_pipeline(generated_defects.landing, f, expectations=False))


@pytest.fixture(scope="session")
def run_clean(generated_clean, tmp_path_factory, worker_id) -> RunSummary:
    return _once(tmp_path_factory, worker_id, "out_clean",
                 lambda f: run_pipeline(generated_clean.landing, f, submission="all", data_docs=True))


@pytest.fixture(scope="session")
def clean_runs(generated_clean, tmp_path_factory, worker_id) -> list:
    """Both studies of the clean data harmonized and mapped, not published (GX off): what ``write_outputs``
    takes, for tests of publishing itself."""
    from dli_etl import pipeline

    def make(_folder: Path) -> list:
        runs = []
        for study in pipeline.STUDIES:
            ingested = pipeline.ingest(study, generated_clean.landing)
            harmonized = pipeline.harmonize(ingested)
            runs.append(pipeline.study_run(ingested, harmonized, pipeline.map_sdtm(harmonized)))
        return runs

    return _once(tmp_path_factory, worker_id, "clean_runs", make)


@pytest.fixture(scope="session")
def clean_analysis(clean_runs, tmp_path_factory, worker_id):
    from dli_etl import pipeline

    return _once(tmp_path_factory, worker_id, "clean_analysis", lambda _folder: pipeline.analyse(clean_runs))


@pytest.fixture(scope="session")
def manifest(generated_defects) -> pd.DataFrame:
    return pd.read_csv(generated_defects.manifest, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for the session. Missing binaries fail the run under CI (``.ci/run`` sets
    ``DLI_REQUIRE_POSTGRES=1`` after making sure they are installed) and skip elsewhere."""
    from postgres_server import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        if os.environ.get("DLI_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; .ci/run installs the postgresql package")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found on this machine")
    server = PostgresServer(binaries)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def postgres_db(postgres_url):
    """A new, empty database on the session's PostgreSQL server, so tests never see each other's tables."""
    from postgres_server import create_database

    return create_database(postgres_url)
