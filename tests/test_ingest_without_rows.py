"""Once harmonized, a study's raw rows are dropped; what publishing reads of the ingest stays the same."""

from __future__ import annotations

import pyarrow as pa

from dli_etl import pipeline
from dli_etl.site_wording import site_wording


def test_without_rows_keeps_every_column_and_what_publishing_reads(generated_clean):
    ingested = pipeline.ingest("DLIPRO", generated_clean.landing, None)
    assert sum(len(raw.frame) for raw in ingested.forms) > 0
    slim = ingested.without_rows()
    assert [len(raw.frame) for raw in slim.forms] == [0] * len(ingested.forms)
    for raw, kept in zip(ingested.forms, slim.forms, strict=True):
        assert kept.frame.columns.tolist() == raw.frame.columns.tolist()
        assert kept.frame.dtypes.tolist() == raw.frame.dtypes.tolist()
        assert (kept.src_file, kept.form, kept.source_columns, kept.source_labels) == (
            raw.src_file, raw.form, raw.source_columns, raw.source_labels)
    assert (slim.files, slim.coverage, slim.findings) == (ingested.files, ingested.coverage, ingested.findings)
    assert site_wording([slim]) == site_wording([ingested])
    assert sum(len(raw.frame) for raw in ingested.forms) > 0  # the ingest it came from is unchanged


def test_without_rows_holds_no_buffer_of_the_raw_columns(generated_clean):
    ingested = pipeline.ingest("DLIPRO", generated_clean.landing, None)
    slim = ingested.without_rows()
    before = pa.total_allocated_bytes()
    del ingested
    # the raw text lived in Arrow buffers; a zero-row slice would have kept them all alive
    assert pa.total_allocated_bytes() < before
    for raw in slim.forms:
        for name in raw.frame.columns:
            array = raw.frame[name].array
            if hasattr(array, "_pa_array"):
                assert array._pa_array.nbytes == 0, name
