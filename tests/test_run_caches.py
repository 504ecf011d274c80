"""What a run keeps by content for the next one: typed forms (``harmonize.raw_cache``) and curve
drawings. The same result as deriving everything again, only changed inputs derived again, one entry
per source and form (per curve) kept."""

import dataclasses

import pandas as pd
import pytest

from dli_etl.harmonize.forms import harmonize_form
from dli_etl.harmonize.raw_cache import RawFormCache
from dli_etl.harmonize.study import harmonize_study
from dli_etl.pipeline import ingest


@pytest.fixture(scope="module")
def ingested(generated_defects):
    return ingest("DLIPRO", generated_defects.landing)


def _same(left, right) -> None:
    for name in ("curated", "quarantine"):
        assert getattr(left, name).keys() == getattr(right, name).keys()
        for form in getattr(left, name):
            pd.testing.assert_frame_equal(getattr(left, name)[form], getattr(right, name)[form])
    for name in ("findings", "accounting", "quarantined_values"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name))
    assert left.enrolled == right.enrolled


def test_a_cached_study_is_the_study_typed_again(ingested, tmp_path):
    fresh = harmonize_study(ingested)
    cold = harmonize_study(ingested, cache_dir=tmp_path / "cache")
    warm = harmonize_study(ingested, cache_dir=tmp_path / "cache")
    _same(fresh, cold)
    _same(fresh, warm)
    assert any((tmp_path / "cache").glob("*.pkl"))


def test_only_the_changed_source_is_typed_again(ingested, tmp_path):
    raws = ingested.frames_for("cbc")
    assert len(raws) > 1, "the CBC form comes from several sites' files"
    cache = RawFormCache(tmp_path / "cache")
    harmonize_form(raws, "cbc", cache)
    assert (cache.hits, cache.misses) == (0, len(raws))
    warm = RawFormCache(tmp_path / "cache")
    harmonize_form(raws, "cbc", warm)
    assert (warm.hits, warm.misses) == (len(raws), 0)

    # one cell of one site's file changes: a platelet count is corrected to a value nobody else has
    changed = raws[0]
    frame = changed.frame.copy()
    column = next(c for c in frame.columns if c.startswith("plt"))
    frame.loc[frame.index[0], column] = "123456"
    edited = [dataclasses.replace(changed, frame=frame), *raws[1:]]
    after = RawFormCache(tmp_path / "cache")
    typed, _, verbatim = harmonize_form(edited, "cbc", after)
    assert (after.hits, after.misses) == (len(raws) - 1, 1)
    assert "123456" in set(verbatim[column].dropna())
    # the changed file's older entry is gone: one entry per source file and form
    assert len(list((tmp_path / "cache").glob("cbc-*.pkl"))) == len(raws)


def test_other_reading_instructions_are_not_the_same_source(ingested, tmp_path):
    """A site profile that now declares another unit or date format must not get the old typed form."""
    raw = ingested.frames_for("cbc")[0]
    cache = RawFormCache(tmp_path / "cache")
    harmonize_form([raw], "cbc", cache)
    other = dataclasses.replace(raw, date_format="%d.%m.%Y" if raw.date_format != "%d.%m.%Y" else "%Y-%m-%d")
    harmonize_form([other], "cbc", cache)
    assert (cache.hits, cache.misses) == (0, 2)


def test_an_unreadable_entry_is_typed_again(ingested, tmp_path):
    raw = ingested.frames_for("cbc")[0]
    harmonize_form([raw], "cbc", RawFormCache(tmp_path / "cache"))
    for entry in (tmp_path / "cache").glob("*.pkl"):
        entry.write_bytes(b"half a pickle")
    again = RawFormCache(tmp_path / "cache")
    typed, _, _ = harmonize_form([raw], "cbc", again)
    assert (again.hits, again.misses) == (0, 1) and len(typed) == len(raw.frame)


def test_a_curve_is_drawn_once_while_its_data_are_unchanged(clean_analysis, tmp_path, monkeypatch):
    """The cached drawing is the drawing; an unchanged curve is not drawn again; a changed one is, and
    replaces its older drawing."""
    from dli_etl.endpoints import curves

    points = clean_analysis.curves
    risks = clean_analysis.at_risk
    one = points[(points["STUDYID"] == "DLIPRO") & (points["PARAMCD"] == "OS")]
    at_risk = risks[(risks["STUDYID"] == "DLIPRO") & (risks["PARAMCD"] == "OS")]
    drawn = curves.curve_svg(one, at_risk, "OS", "probability")
    assert curves.cached_curve_svg(one, at_risk, "OS", "probability", tmp_path) == drawn

    def must_not_draw(*_args):
        raise AssertionError("an unchanged curve was drawn again")

    monkeypatch.setattr(curves, "curve_svg", must_not_draw)
    assert curves.cached_curve_svg(one, at_risk, "OS", "probability", tmp_path) == drawn
    monkeypatch.undo()
    moved = one.assign(ESTIMATE=one["ESTIMATE"] * 0.5)
    redrawn = curves.cached_curve_svg(moved, at_risk, "OS", "probability", tmp_path)
    assert redrawn != drawn and redrawn == curves.curve_svg(moved, at_risk, "OS", "probability")
    assert len(list(tmp_path.glob("*.svg"))) == 1


def test_dli_cache_dir_lets_two_output_folders_share_one_cache(ingested, tmp_path, monkeypatch):
    """With ``DLI_CACHE_DIR`` set, a run into a new output folder reuses what a run into another one
    typed: nothing is typed again, the result is the same, and nothing is kept under either output."""
    from dli_etl import pipeline
    from dli_etl.harmonize import forms

    shared = tmp_path / "shared-cache"
    monkeypatch.setenv("DLI_CACHE_DIR", str(shared))
    first = pipeline.harmonize(ingested, out=tmp_path / "staging")
    entries = sorted(p.name for p in (shared / "harmonize" / "DLIPRO").glob("*.pkl"))
    assert len(entries) == sum(len(ingested.frames_for(form)) for form in first.curated)

    def must_not_type(*_args, **_kwargs):
        raise AssertionError("a source was typed again although the shared cache holds it")

    monkeypatch.setattr(forms, "harmonize_raws", must_not_type)
    second = pipeline.harmonize(ingested, out=tmp_path / "production")
    _same(first, second)
    assert sorted(p.name for p in (shared / "harmonize" / "DLIPRO").glob("*.pkl")) == entries
    assert not (tmp_path / "staging" / ".cache").exists() and not (tmp_path / "production" / ".cache").exists()

    # unset, each output keeps its own cache again
    monkeypatch.undo()
    monkeypatch.delenv("DLI_CACHE_DIR", raising=False)
    pipeline.harmonize(ingested, out=tmp_path / "own")
    assert any((tmp_path / "own" / ".cache" / "harmonize" / "DLIPRO").glob("*.pkl"))


def test_a_write_removes_what_a_killed_writer_left_of_its_slot(tmp_path):
    """A run killed between writing an entry aside and renaming it leaves a hidden temporary file; the
    slot's next write removes it once it is older than a live writer could be, and leaves a fresh one
    (another run may be writing it now) and other slots alone."""
    import os
    import time

    from dli_etl.run_cache import ABANDONED_AFTER_SECONDS, replace_entry

    old = time.time() - ABANDONED_AFTER_SECONDS - 60
    abandoned = tmp_path / ".cbc-aaaa-1111.pkl.123-deadbeef.tmp"
    in_flight = tmp_path / ".cbc-aaaa-2222.pkl.456-cafebabe.tmp"
    other_slot = tmp_path / ".mrd-bbbb-3333.pkl.789-feedface.tmp"
    for path in (abandoned, in_flight, other_slot):
        path.write_bytes(b"half an entry")
    os.utime(abandoned, (old, old))
    os.utime(other_slot, (old, old))
    replace_entry(tmp_path / "cbc-aaaa-4444.pkl", b"entry")
    assert not abandoned.exists() and in_flight.exists() and other_slot.exists()
    assert (tmp_path / "cbc-aaaa-4444.pkl").read_bytes() == b"entry"
