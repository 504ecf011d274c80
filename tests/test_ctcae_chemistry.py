"""CTCAE v5.0 chemistry grades, one test per published threshold (clinical.md 3.1; admiral ncictcaev5.json):
bilirubin, ALT, AST by x ULN (normal baseline) or x baseline (abnormal baseline); creatinine by ULN or
baseline, whichever is worse."""

from __future__ import annotations

import pytest

from dli_etl.rules.ctcae_chemistry import ctcae_grade_chemistry, reference_range_indicator

ULN = 40.0  # U/L, an ALT/AST upper limit
BILI_ULN = 1.2  # mg/dL


@pytest.mark.parametrize(("value", "grade"), [
    (40.0, 0), (40.1, 1),  # > ULN
    (120.0, 1), (120.1, 2),  # > 3.0 x ULN
    (200.0, 2), (200.1, 3),  # > 5.0 x ULN
    (800.0, 3), (800.1, 4),  # > 20.0 x ULN
])
@pytest.mark.parametrize("analyte", ["alt", "ast"])
def test_transaminases_on_a_normal_baseline(analyte, value, grade):
    assert ctcae_grade_chemistry(analyte, value, ULN, baseline=30.0) == grade


@pytest.mark.parametrize(("value", "grade"), [
    (89.9, 0), (90.0, 1),  # 1.5 x baseline, inclusive (the G1 gap above baseline is ungraded)
    (180.0, 1), (180.1, 2),  # > 3.0 x baseline
    (300.0, 2), (300.1, 3),  # > 5.0 x baseline
    (1200.0, 3), (1200.1, 4),  # > 20.0 x baseline
])
@pytest.mark.parametrize("analyte", ["alt", "ast"])
def test_transaminases_on_an_abnormal_baseline(analyte, value, grade):
    assert ctcae_grade_chemistry(analyte, value, ULN, baseline=60.0) == grade


@pytest.mark.parametrize(("value", "grade"), [
    (1.2, 0), (1.21, 1),  # > ULN
    (1.8, 1), (1.81, 2),  # > 1.5 x ULN
    (3.6, 2), (3.61, 3),  # > 3.0 x ULN
    (12.0, 3), (12.01, 4),  # > 10.0 x ULN
])
def test_bilirubin_on_a_normal_baseline(value, grade):
    assert ctcae_grade_chemistry("bili", value, BILI_ULN, baseline=0.8) == grade


@pytest.mark.parametrize(("value", "grade"), [
    (2.0, 0), (2.01, 1),  # > 1.0 x baseline
    (3.0, 1), (3.01, 2),  # > 1.5 x baseline
    (6.0, 2), (6.01, 3),  # > 3.0 x baseline
    (20.0, 3), (20.01, 4),  # > 10.0 x baseline
])
def test_bilirubin_on_an_abnormal_baseline(value, grade):
    assert ctcae_grade_chemistry("bili", value, BILI_ULN, baseline=2.0) == grade


@pytest.mark.parametrize(("value", "baseline", "grade"), [
    (1.2, None, 0), (1.21, None, 1),  # > ULN
    (1.8, None, 1), (1.81, None, 2),  # > 1.5 x ULN
    (3.6, None, 2), (3.61, None, 3),  # > 3.0 x ULN
    (7.2, None, 3), (7.21, None, 4),  # > 6.0 x ULN
    (0.9, 0.6, 0), (0.91, 0.6, 2),  # > 1.5 x baseline, even within the normal range
    (1.81, 0.6, 3),  # > 3.0 x baseline beats > 1.5 x ULN
])
def test_creatinine_by_uln_or_baseline_whichever_is_worse(value, baseline, grade):
    assert ctcae_grade_chemistry("creat", value, 1.2, baseline) == grade


def test_no_uln_no_grade_except_creatinine_by_baseline():
    assert ctcae_grade_chemistry("alt", 500.0, None, 30.0) is None
    assert ctcae_grade_chemistry("creat", 2.0, None, 0.6) == 3
    assert ctcae_grade_chemistry("creat", 0.7, None, None) is None


@pytest.mark.parametrize(("value", "indicator"), [(5.0, "LOW"), (7.0, "NORMAL"), (40.0, "NORMAL"), (40.5, "HIGH")])
def test_reference_range_indicator(value, indicator):
    assert reference_range_indicator(value, 7.0, 40.0) == indicator


def _chemistry(rows):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["usubjid", "lbdtc", "alt"])
    return frame.assign(study="DLIPRO", site="S02", subjid=frame["usubjid"].str[-6:],
                        alt=frame["alt"].astype("Float64"), alt_orig=frame["alt"].astype("string"), alt_orig_unit="U/L",
                        alt_lo=pd.Series(9.0, index=frame.index, dtype="Float64"),
                        alt_hi=pd.Series(50.0, index=frame.index, dtype="Float64"),
                        alt_orig_lo=9.0, alt_orig_hi=50.0, src_file="f", src_locator="s!1",
                        row_id=[f"r{i}" for i in range(len(frame))])


def test_lb_grades_against_the_site_uln_and_the_baseline_before_the_first_dli():
    import pandas as pd

    from dli_etl.sdtm.findings_domains import build_lb

    chemistry = _chemistry([
        ("DLIPRO-S02-02-001", "2026-01-05", 30), ("DLIPRO-S02-02-001", "2026-02-01", 151),  # normal baseline
        ("DLIPRO-S02-02-002", "2026-01-03", 70), ("DLIPRO-S02-02-002", "2026-01-09", 80),  # abnormal: 80 is baseline
        ("DLIPRO-S02-02-002", "2026-02-01", 119), ("DLIPRO-S02-02-002", "2026-02-15", 120),
    ])
    dm = pd.DataFrame({"USUBJID": ["DLIPRO-S02-02-001", "DLIPRO-S02-02-002"], "RFSTDTC": ["2025-12-20", "2025-12-20"],
                       "RFXSTDTC": ["2026-01-10", "2026-01-10"]})
    lb = build_lb("DLIPRO", {"chemistry": chemistry}, dm).sort_values(["USUBJID", "LBDTC"])
    assert lb["LBLOBXFL"].fillna("").tolist() == ["Y", "", "", "Y", "", ""]
    # normal baseline: 151 > 3.0 x ULN 50 is grade 2; abnormal baseline 80: grade 1 from 1.5 x 80 = 120 inclusive
    assert lb["LBTOXGR"].tolist() == ["0", "2", "0", "0", "0", "1"]
    assert lb["LBNRIND"].tolist() == ["NORMAL", "HIGH", "HIGH", "HIGH", "HIGH", "HIGH"]
    assert (lb["LBORNRHI"] == "50").all() and (lb["LBSTNRHI"] == 50.0).all()


def test_a_profile_range_in_site_units_is_converted(tmp_path):
    import pandas as pd

    from dli_etl.harmonize.fields import standardize_lab
    from dli_etl.specs import load_spec

    result = standardize_lab(pd.Series(["17.1"]), "bili", "umol/L", load_spec("units"), reference_range=(3.4, 20.5))
    assert result.extra["_hi"].iloc[0] == pytest.approx(20.5 / 17.1, abs=1e-4)
    assert result.extra["_orig_hi"].iloc[0] == 20.5
