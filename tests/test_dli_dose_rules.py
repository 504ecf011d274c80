"""DLI dose: protocol deviation vs unit/exponent error vs implausible (clinical.md 7.1, studies.yaml)."""

import pytest

from dli_etl.rules.dli_dose import classify_dose

MNC = dict(target=1e8, low=1e6, high=1e9)
CD3 = dict(target=3e7, low=1e4, high=5e8)


@pytest.mark.parametrize(("value", "rule"), [
    (1.0e8, None), (1.2e8, None), (0.8e8, None),  # within +-20% of the protocol dose
    (1.25e8, "DOSE-DEVIATION"), (0.7e8, "DOSE-DEVIATION"), (5e8, "DOSE-DEVIATION"),
    (1e9, "DOSE-POWER-OF-TEN"), (1e7, "DOSE-POWER-OF-TEN"), (1e6, "DOSE-POWER-OF-TEN"), (1e10, "DOSE-POWER-OF-TEN"),
])
def test_mnc_dose(value, rule):
    assert classify_dose(value, **MNC).rule_id == rule


def test_power_of_ten_detail_names_the_exponent():
    assert classify_dose(1e10, **MNC).detail == "10^+2 x"
    assert classify_dose(3e5, **CD3).detail == "10^-2 x"


def test_out_of_range_without_being_a_power_of_ten_off():
    # a per-product range narrower than the target band: a 6x dose inside the 8x band but above the range
    assert classify_dose(6e8, target=1e8, low=1e6, high=5e8).rule_id == "DOSE-OUT-OF-RANGE"
