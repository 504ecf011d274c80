"""Site profiles are checked when loaded: a typo or a key of the wrong format is a clear error naming the
file and the key, never silently ignored."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from dli_etl.site_profile import ProfileError, load_profile, load_profiles

SHIPPED = Path(__file__).resolve().parents[1] / "dli_etl" / "site_profiles"


def _profile(name: str) -> dict:
    return yaml.safe_load((SHIPPED / name).read_text(encoding="utf-8"))


def _load(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "S99.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load_profile(path)


def test_every_shipped_profile_is_valid():
    assert len(load_profiles()) == 9


def _mutated(name: str, change) -> dict:
    data = copy.deepcopy(_profile(name))
    change(data)
    return data


@pytest.mark.parametrize(("name", "change", "message"), [
    ("DLIPRO/S02.yaml", lambda d: d.update(date_fromat=d.pop("date_format")), "unknown key 'date_fromat'; did you mean 'date_format'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"].update(unitz=d["forms"]["cbc"].pop("units")),
     "unknown key in forms.cbc (format xlsx) 'unitz'; did you mean 'units'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"].update(skip_rows_where="合计"), "unknown key in forms.cbc (format xlsx) 'skip_rows_where'"),
    ("DLIPRO/S02.yaml", lambda d: d.update(files="sites/S02/*.xlsx"), "'files' must be a list of glob patterns"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"].update(labs=d["forms"]["cbc"]), "unknown form 'labs'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"]["units"].update(hgb="g/100mL"), "unknown unit for cbc.hgb 'g/100mL'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"]["columns"].update({"其他": "haemoglobin"}),
     "unknown target field for '其他' in forms.cbc 'haemoglobin'"),
    ("DLIPRO/S02.yaml", lambda d: d.update(value_maps={"lbdtc": {"x": "y"}}), "value_maps.lbdtc: 'lbdtc' is not a coded field"),
    ("DLIPRO/S02.yaml", lambda d: d.update(identifiers={"住院号": "hash"}), "identifiers.住院号 is 'hash'"),
    ("DLIPRO/EDC.yaml", lambda d: d["forms"]["enrollment"].update(sheet="Enrollment"),
     "unknown key in forms.enrollment (format odm) 'sheet'"),
    ("DLIPRO/EDC.yaml", lambda d: d.update(date_format="%d/%m/%Y"), "'date_format' applies to xlsx sources only"),
    ("DLIPLX/REDCAP.yaml", lambda d: d["forms"]["enrollment"].pop("instrument"), "forms.enrollment needs 'instrument'"),
    ("DLIPLX/REDCAP.yaml", lambda d: d.update(study="DLIPROX"), "unknown study 'DLIPROX'; did you mean 'DLIPRO'"),
])
def test_a_broken_profile_names_the_file_and_the_key(tmp_path, name, change, message):
    with pytest.raises(ProfileError) as raised:
        _load(tmp_path, _mutated(name, change))
    assert message in str(raised.value) and str(tmp_path / "S99.yaml") in str(raised.value)
