"""The pandera guard after quarantine: a curated value that got past the field checks but breaks its form's
schema becomes a SCHEMA-CHECK-FAILED finding, and quarantine is applied again with it. Only that form is
quarantined again; every value stays accounted for."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from dli_etl.harmonize import study as harmonize_study_module
from dli_etl.pipeline import harmonize, ingest


def test_a_schema_failure_nulls_the_value_and_only_in_its_form(generated_clean, monkeypatch):
    ingested = ingest("DLIPRO", generated_clean.landing)
    before = harmonize(ingested)
    staged = before.curated["agvhd"]
    assert (staged["skin_stage"] == 1).sum() >= 2  # the stricter schema below must have rows to catch

    # a schema stricter than the field checks: skin stage 1 is a valid MAGIC stage, so only the guard sees it
    strict = pa.DataFrameSchema({"skin_stage": pa.Column("Int64", pa.Check.ne(1), nullable=True)})
    monkeypatch.setitem(harmonize_study_module.FORM_SCHEMAS, "agvhd", strict)
    after = harmonize(ingested)

    caught = staged.loc[staged["skin_stage"] == 1, "row_id"]
    guard = after.findings[after.findings["rule_id"] == "SCHEMA-CHECK-FAILED"]
    assert set(guard["row_id"]) == set(caught) and (guard["form"] == "agvhd").all()
    assert (guard["field"] == "skin_stage").all() and (guard["value"] == "1").all()
    curated = after.curated["agvhd"].set_index("row_id")
    assert curated.loc[caught, "skin_stage"].isna().all()          # the value is nulled ...
    assert len(after.curated["agvhd"]) == len(staged)               # ... the record stays
    assert not (after.curated["agvhd"]["skin_stage"] == 1).any()
    # the rest of the form, and every other form, is what it was without the guard firing
    others = curated.drop(index=caught)
    pd.testing.assert_frame_equal(others, staged.set_index("row_id").drop(index=caught))
    for form, frame in before.curated.items():
        if form != "agvhd":
            pd.testing.assert_frame_equal(after.curated[form], frame)
    old_findings = after.findings[after.findings["rule_id"] != "SCHEMA-CHECK-FAILED"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old_findings, before.findings.reset_index(drop=True))
    acc = after.accounting
    assert (acc["values_read"] == acc["values_curated"] + acc["values_nulled"] + acc["values_held_back"]).all()
    assert acc["values_unaccounted"].sum() == 0
    nulled = acc.loc[acc["form"] == "agvhd", "values_nulled"].sum() - \
        before.accounting.loc[before.accounting["form"] == "agvhd", "values_nulled"].sum()
    assert nulled == len(caught)
