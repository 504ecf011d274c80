"""Cell-dose notations from reference/clinical.md section 7.2, each read into cells/kg."""

import pytest

from dli_etl.rules.cell_dose import parse_cell_dose


@pytest.mark.parametrize(
    ("written", "cells_per_kg"),
    [
        ("1×10^8/kg", 1e8), ("1x10^8/kg", 1e8), ("1*10^8/kg", 1e8), ("1.0×10⁸/kg", 1e8),
        ("1.0E8", 1e8), ("1.0E+08", 1e8), ("1e8", 1e8), ("10^8/kg", 1e8),
        ("1x108/kg", 1e8), ("3x107", 3e7),  # superscript lost in copy/paste
        ("1.0 x 10e8/kg", 1e8),  # "10e8" on a dose form means 10^8, not 10^9
        ("100×10^6/kg", 1e8), ("10×10^7/kg", 1e8), ("0.3×10^8/kg", 3e7),
        ("1亿/kg", 1e8), ("3000万/kg", 3e7), ("3.0×10^7 cells/kg", 3e7), ("1×10^8/kg受者体重", 1e8),
    ],
)
def test_site_notations_read_as_cells_per_kg(written, cells_per_kg):
    parsed = parse_cell_dose(written)
    assert parsed.problem is None
    assert parsed.cells_per_kg == pytest.approx(cells_per_kg)


@pytest.mark.parametrize("written", ["1.0×10^8 cells", "1e8 个", "1.0×10^8"])
def test_total_cells_is_not_per_kg(written):
    parsed = parse_cell_dose(written)
    if written == "1.0×10^8":  # no unit: the CRF field is labelled cells/kg
        assert parsed.cells_per_kg == pytest.approx(1e8)
        return
    assert parsed.per_kg is False
    assert parsed.cells_per_kg is None
    assert "per kg" in parsed.problem


def test_foreign_unit_is_reported_not_converted():
    parsed = parse_cell_dose("1.0e8/L")
    assert parsed.cells_per_kg is None and parsed.per_kg is False


@pytest.mark.parametrize("written", ["", None, "  "])
def test_missing(written):
    assert parse_cell_dose(written).problem == "missing"


@pytest.mark.parametrize("written", ["about one hundred million", "1.0", "N/A"])
def test_unreadable(written):
    parsed = parse_cell_dose(written)
    assert parsed.cells_per_kg is None
    assert parsed.problem == "not a recognisable cell dose"
