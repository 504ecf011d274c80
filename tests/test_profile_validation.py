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
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"]["units"].update(hgb="g/100mL"), "unknown unit for forms.cbc.hgb 'g/100mL'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"]["columns"].update({"其他": "haemoglobin"}),
     "unknown target field in forms.cbc 'haemoglobin'"),
    ("DLIPRO/S02.yaml", lambda d: d.update(value_maps={"lbdtc": {"x": "y"}}), "value_maps.lbdtc: 'lbdtc' is not a coded field"),
    ("DLIPRO/S02.yaml", lambda d: d.update(identifiers={"住院号": "hash"}), "identifiers.住院号 is 'hash'"),
    ("DLIPRO/EDC.yaml", lambda d: d["forms"]["enrollment"].update(sheet="Enrollment"),
     "unknown key in forms.enrollment (format odm) 'sheet'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"].update(skip_rows=[{"column": "研究编号", "matching": "合计("}]),
     "forms.cbc.skip_rows[0].matching is not a regular expression"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["mrd"].update(unpivot={"value_field": "mrd_result"}),
     "forms.mrd.unpivot needs 'value_field' and 'columns'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["mrd"].update(constants={"mrd_metod": "FLOW CYTOMETRY"}),
     "unknown target field in forms.mrd 'mrd_metod'; did you mean 'mrd_method'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"].update(cbc=[d["forms"]["cbc"], {"sheet": "x", "columnz": {}}]),
     "unknown key in forms.cbc[2] (format xlsx) 'columnz'"),
    ("DLIPRO/S02.yaml", lambda d: d["forms"]["cbc"].update(header_row=[0, 1]), "forms.cbc.header_row must be a row number"),
    ("DLIPRO/S02.yaml", lambda d: d.update(decimal_separator=",", thousands_separator=","),
     "decimal_separator and thousands_separator are both ','"),
    ("DLIPRO/S02.yaml", lambda d: d.update(mrd_unit="ppm"), "mrd_unit is 'ppm'"),
    ("DLIPRO/S02.yaml", lambda d: d.update(study_oid="DLIPRO"), "'study_oid' applies to odm sources only"),
    ("DLIPRO/EDC.yaml", lambda d: d.update(subject_key="mdsol:SubjectNam"),
     "unknown subject_key 'mdsol:SubjectNam'; did you mean 'mdsol:SubjectName'"),
    ("DLIPLX/REDCAP.yaml", lambda d: d["forms"]["enrollment"].pop("instrument"), "forms.enrollment needs 'instrument'"),
    ("DLIPLX/REDCAP.yaml", lambda d: d.update(study="DLIPROX"), "unknown study 'DLIPROX'; did you mean 'DLIPRO'"),
])
def test_a_broken_profile_names_the_file_and_the_key(tmp_path, name, change, message):
    with pytest.raises(ProfileError) as raised:
        _load(tmp_path, _mutated(name, change))
    assert message in str(raised.value) and str(tmp_path / "S99.yaml") in str(raised.value)


def test_two_profiles_for_one_source_in_one_folder_are_refused(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((SHIPPED / "DLIPRO" / "S02.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profiles(tmp_path)
    assert "b.yaml: describes DLIPRO/S02/xlsx, as " in str(raised.value) and "a.yaml" in str(raised.value)


def test_a_profile_in_the_data_managers_folder_replaces_the_shipped_one(tmp_path):
    data = _profile("DLIPRO/S02.yaml")
    data["source_name"] = "replaced"
    (tmp_path / "S02.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    s02 = [p for p in load_profiles(tmp_path) if p.key == "DLIPRO/S02/xlsx"]
    assert len(s02) == 1 and s02[0].source_name == "replaced"


def test_export_profiles_may_declare_their_date_format(tmp_path):
    data = _mutated("DLIPRO/EDC.yaml", lambda d: d.update(date_format="%d/%m/%Y"))
    _load(tmp_path, data)


def test_the_reference_page_documents_every_key_and_form():
    from dli_etl.site_profile import FORM_KEYS, PROFILE_KEYS
    from dli_etl.specs import load_spec

    page = (Path(__file__).resolve().parents[1] / "docs" / "site-profiles.md").read_text(encoding="utf-8")
    keys = set(PROFILE_KEYS) | {k for spec in FORM_KEYS.values() for k in spec["required"] + spec["optional"]}
    missing = sorted(k for k in keys if f"`{k}`" not in page)
    forms = sorted(f for f in load_spec("forms") if f"`{f}`" not in page)
    assert missing == [] and forms == []


def test_the_readme_example_profile_is_a_valid_profile():
    import yaml

    from dli_etl.site_profile import validate_profile

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Onboarding a new site", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    validate_profile(yaml.safe_load(example), "README.md")  # raises ProfileError on a key or field that is wrong


_YAML_CASES = {
    "scalars YAML 1.1 reads as other types": "a: yes\nb: off\nc: 0o17\nd: 1_000\ne: 2026-03-05\nf: .inf\ng: ~\n",
    "text with CJK and a decimal comma": "site_name: 吉林大学\ndecimal: '3,5'\nunits: [×10^9/L, µmol/L]\n",
    "anchors and merge keys": "base: &b {unit: g/L}\nhb: {<<: *b, low: 120}\n",
    "block scalars": "message: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
}


@pytest.mark.parametrize("path", sorted(p for d in (SHIPPED, SHIPPED.parent / "specs") for p in d.rglob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_libyaml_reads_every_shipped_spec_and_profile_as_the_python_parser_does(path):
    """Specs and profiles go through libyaml for speed; the data must be what ``yaml.safe_load`` gives."""
    from dli_etl.specs import parse_yaml

    text = path.read_text(encoding="utf-8")
    assert parse_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", list(_YAML_CASES.values()), ids=list(_YAML_CASES))
def test_libyaml_reads_yaml_edge_cases_as_the_python_parser_does(text):
    from dli_etl.specs import parse_yaml

    assert parse_yaml(text) == yaml.safe_load(text)


def test_a_profile_that_is_not_yaml_is_a_profile_error_with_libyaml(tmp_path):
    path = tmp_path / "S98.yaml"
    path.write_text("site: S98\nunits: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="S98.yaml: not valid YAML"):
        load_profile(path)
