"""Survival estimators against the published CAMIS numbers (REFERENCE_NUMBERS.md in survival-camis)."""

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from dli_etl.survival.cumulative_incidence import cif_at, cumulative_incidence
from dli_etl.survival.gray import gray_test
from dli_etl.survival.kaplan_meier import kaplan_meier, quantile, summary_at
from dli_etl.survival.logrank import logrank_test


@pytest.fixture(scope="module")
def bmt(public_data) -> pd.DataFrame:
    frame, _ = pyreadstat.read_sas7bdat(str(public_data / "survival-camis" / "bmt.sas7bdat"))
    return frame.assign(TYears=frame["T"] / 365.25)


@pytest.fixture(scope="module")
def whas500(public_data) -> pd.DataFrame:
    frame, _ = pyreadstat.read_sas7bdat(str(public_data / "survival-camis" / "whas500.sas7bdat"))
    return frame.assign(LENFOLY=(frame["LENFOL"] / 365.25).round(2))


# AML-Low Risk (Group 2), relapse: time, estimate, std.error, conf.low, conf.high
CIF_RELAPSE_AML_LOW = [
    (0.5, 0.0000, 0.0000, None, None), (1, 0.0741, 0.0360, 0.0234, 0.1646), (1.5, 0.1296, 0.0463, 0.0563, 0.2344),
    (2, 0.1481, 0.0489, 0.0685, 0.2565), (3, 0.1667, 0.0514, 0.0813, 0.2783),
]


def test_cumulative_incidence_of_relapse_matches_cmprsk(bmt):
    group = bmt[bmt["Group"] == 2]
    table = cif_at(cumulative_incidence(group["TYears"], group["Status"], cause=1), [r[0] for r in CIF_RELAPSE_AML_LOW])
    for (t, est, se, low, high), (_, row) in zip(CIF_RELAPSE_AML_LOW, table.iterrows(), strict=True):
        assert round(row["estimate"], 4) == est, t
        assert round(row["std_error"], 4) == se, t
        if low is None:
            assert np.isnan(row["conf_low"])
        else:
            assert round(row["conf_low"], 4) == low and round(row["conf_high"], 4) == high, t


# AFB, time: n.risk, n.event, survival, std.err, lower, upper
KM_WHAS500 = {
    (1, 1): (50, 28, 0.641, 0.0543, 0.543, 0.757), (1, 3): (27, 12, 0.455, 0.0599, 0.351, 0.589),
    (1, 5): (11, 6, 0.315, 0.0643, 0.211, 0.470), (0, 1): (312, 110, 0.739, 0.0214, 0.699, 0.782),
    (0, 3): (199, 33, 0.642, 0.0245, 0.595, 0.691), (0, 5): (77, 20, 0.530, 0.0311, 0.472, 0.595),
}


@pytest.mark.parametrize("afb", [1, 0])
def test_kaplan_meier_matches_survfit(whas500, afb):
    group = whas500[whas500["AFB"] == afb]
    table = kaplan_meier(group["LENFOLY"], group["FSTAT"])
    summary = summary_at(table, [1, 3, 5], group["LENFOLY"])
    for _, row in summary.iterrows():
        n_risk, n_event, surv, se, low, high = KM_WHAS500[(afb, int(row["time"]))]
        assert (row["n_risk"], row["n_event"]) == (n_risk, n_event)
        assert round(row["survival"], 3) == surv and round(row["std_err"], 4) == se
        assert round(row["lower"], 3) == low and round(row["upper"], 3) == high


@pytest.mark.parametrize(("afb", "quartiles"), [(1, (0.26, 2.37, 6.43)), (0, (0.94, 5.91, 6.44))])
def test_quartiles(whas500, afb, quartiles):
    group = whas500[whas500["AFB"] == afb]
    table = kaplan_meier(group["LENFOLY"], group["FSTAT"])
    assert tuple(round(quantile(table, p), 2) for p in (0.25, 0.5, 0.75)) == quartiles


def test_logrank_matches_survdiff(whas500):
    result = logrank_test(whas500["LENFOLY"], whas500["FSTAT"], whas500["AFB"])
    assert round(result.statistic, 1) == 10.9 and result.df == 1
    assert result.p_value == pytest.approx(0.0009646027, rel=1e-6)
    assert round(result.observed[1.0]) == 47 and round(result.expected[1.0], 1) == 30.3


# Gray's test across the three disease groups (REFERENCE_NUMBERS.md section 1): statistic, p-value
GRAY_BMT = {1: (11.9228820, 0.0025762), 2: (0.1374108, 0.9336017)}


@pytest.mark.parametrize("cause", [1, 2])
def test_gray_test_matches_cmprsk(bmt, cause):
    result = gray_test(bmt["TYears"], bmt["Status"], bmt["Group"], cause=cause)
    statistic, p_value = GRAY_BMT[cause]
    assert result.df == 2
    assert round(result.statistic, 7) == statistic
    assert round(result.p_value, 7) == p_value


def test_gray_test_does_not_depend_on_time_units_or_group_labels(bmt):
    in_days = gray_test(bmt["T"], bmt["Status"], bmt["Group"].map({1: "c", 2: "a", 3: "b"}))
    assert in_days.statistic == pytest.approx(GRAY_BMT[1][0], abs=1e-6)


def test_gray_test_of_identical_groups_is_zero(bmt):
    twice = pd.concat([bmt.assign(copy="x"), bmt.assign(copy="y")], ignore_index=True)
    result = gray_test(twice["TYears"], twice["Status"], twice["copy"])
    assert result.statistic == pytest.approx(0.0, abs=1e-12) and result.p_value == pytest.approx(1.0)
