"""A property over many generated transfers (seed, defect rate up to 0.5): data errors never remove a
subject or an event. For every planted defect the subject stays in DM, its record stays in the curated
form (and so, by the reconciliation gate, in SDTM) with the bad value null and a finding naming it;
value accounting balances; only subjects with no infusion in the sources are "not treated"."""

from __future__ import annotations

import pandas as pd
import pytest

from dli_etl.adam.build import build_adam
from dli_etl.pipeline import STUDIES, harmonize, ingest, map_sdtm
from dli_etl.synth.generate import generate

PAIRS = [(1, 0.05), (7, 0.1), (13, 0.25), (29, 0.4), (42, 0.5)]
# classes whose bad value is nulled; the rest keep the collected value (contradictions, warnings)
NULLED = {"dose_power_of_ten", "dose_wrong_unit", "impossible_date", "dli_before_transplant", "ambiguous_date",
          "mrd_above_100_percent", "missing_required"}
HELD = {"unknown_subject", "duplicate_subject"}  # unattributable: the copy or the ghost is held back
PLANNED = {"DLIPRO": 200, "DLIPLX": 28}
# timing against the transplant cannot be judged when the same subject's HSCT date was planted missing:
# the REQ-MISSING finding on hsctdt is what the data manager sees first
NEEDS_HSCT = {"dli_before_transplant", "dli_outside_window"}
# likewise a grade cannot be checked against the day's blood count when that draw's date was made ambiguous


def _raw_subjects(ingested, form: str) -> set[str]:
    out: set[str] = set()
    for raw in ingested.frames_for(form):
        ids = raw.frame["subjid"].astype("string").str.strip()
        out |= set((raw.frame["study"] + "-" + raw.frame["site"] + "-" + ids).dropna())
    return out


@pytest.mark.parametrize(("seed", "rate"), PAIRS)
def test_no_data_error_removes_a_subject_or_an_event(seed, rate, tmp_path):
    gen = generate(tmp_path / "gen", seed=seed, defect_rate=rate)
    manifest = pd.read_csv(gen.manifest, dtype=str, keep_default_na=False)
    assert len(manifest) > 0
    for study in STUDIES:
        ingested = ingest(study, gen.landing)
        h = harmonize(ingested)
        sdtm = map_sdtm(h)
        adsl = build_adam(study, sdtm.domains)["adsl"]
        dm = sdtm.domains["dm"]
        enrolled = _raw_subjects(ingested, "enrollment")
        assert set(dm["USUBJID"]) == enrolled and len(dm) == PLANNED[study]
        assert (adsl["ITTFL"] == "Y").sum() == PLANNED[study]
        assert all(g.passed for g in sdtm.gates), [g.findings["message"].head(3).tolist() for g in sdtm.gates]
        acc = h.accounting
        assert (acc["rows_in"] == acc["rows_curated"] + acc["rows_held_back"]).all()
        assert (acc["values_read"] == acc["values_curated"] + acc["values_nulled"] + acc["values_held_back"]).all()
        assert acc["values_unaccounted"].sum() == 0
        infused = _raw_subjects(ingested, "dli")
        assert not set(dm.loc[dm["ARMNRS"].notna(), "USUBJID"]) & infused

        findings = h.findings
        no_hsct = set(manifest.loc[(manifest["form"] == "transplant") & (manifest["field"] == "hsctdt")
                                   & (manifest["study"] == study), "subjid"])
        blurred = manifest[(manifest["defect_class"] == "ambiguous_date") & (manifest["study"] == study)]
        no_lab_date = set(zip(blurred["subjid"], blurred["original"], strict=True))
        for _, d in manifest[(manifest["study"] == study) & (manifest["subjid"] != "")].iterrows():
            form = d["form"]
            usubjid = f"{study}-{d['site']}-{d['subjid']}"
            if d["defect_class"] != "unknown_subject":
                assert usubjid in set(dm["USUBJID"]), d.to_dict()
            curated = h.curated[form]
            row = curated[(curated["src_file"] == d["file"]) & (curated["src_locator"] == d["locator"])
                          & (curated["subjid"] == d["subjid"])]
            if d["defect_class"] in HELD:
                held = h.quarantine[form]
                assert len(held[(held["src_file"] == d["file"]) & (held["src_locator"] == d["locator"])]) == 1
                continue
            assert len(row) == 1, f"the record stays: {d.to_dict()}"
            if d["defect_class"] in NEEDS_HSCT and d["subjid"] in no_hsct:
                continue
            if d["defect_class"] == "ctcae_grade_contradiction" and (d["subjid"], row["aestdt"].iloc[0]) in no_lab_date:
                continue
            named = findings[(findings["row_id"] == row["row_id"].iloc[0]) & (findings["field"] == d["field"])
                             & (findings["form"] == form)]
            assert not named.empty, f"a finding names the value: {d.to_dict()}"
            if d["defect_class"] in NULLED:
                assert pd.isna(row[d["field"]].iloc[0]), f"the bad value is null: {d.to_dict()}"
