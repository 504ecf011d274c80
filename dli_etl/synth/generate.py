"""``dli-etl generate``: write landing files for both studies and the defect manifest beside them.

Layout written under ``out``::

    landing/DLIPRO/edc/DLIPRO_EDC_ODM_<date>.xml
    landing/DLIPRO/sites/S0n/DLIPRO_S0n_local_labs.xlsx
    landing/DLIPLX/redcap/DLIPLX_DATA_<date>.csv + DLIPLX_DataDictionary.csv
    landing/DLIPLX/sites/JLU/DLIPLX_JLU_MRD.xlsx
    defect_manifest.csv          (outside landing/, so the pipeline never sees it)
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dli_etl.site_profile import SiteProfile, load_profiles
from dli_etl.synth.defects import COVERED_BY, DefectPlanter
from dli_etl.synth.timelines import DATA_CUTOFF, build_study_a, build_study_b
from dli_etl.synth.write_odm import write_odm
from dli_etl.synth.write_redcap import write_redcap
from dli_etl.synth.write_xlsx import write_site_workbook

MANIFEST_COLUMNS = ("study", "site", "file", "locator", "form", "subjid", "field", "defect_class", "covered_by",
                    "original", "planted")


@dataclass(frozen=True)
class GenerateResult:
    """Where the generator wrote and how much."""

    landing: Path
    manifest: Path
    files: tuple[Path, ...]
    subjects: dict[str, int]
    defects: int
    profiles: Path | None = None  # profiles of the sites a scaled-up run adds (pass as --profiles)


def _profile(profiles: list[SiteProfile], study: str, site: str, fmt: str = "xlsx") -> SiteProfile:
    for p in profiles:
        if p.study == study and p.site == site and p.format == fmt:
            return p
    raise KeyError(f"no shipped profile for {study}/{site}")


def _scaled_profiles(profiles: list[SiteProfile], sites: tuple[str, ...], folder: Path) -> list[SiteProfile]:
    """Profiles for the sites a scaled-up Study A adds, written to ``folder`` (pass it as ``--profiles``):
    each copies the layout of a shipped site, and the EDC profile lists every site."""
    import yaml

    from dli_etl.site_profile import load_profile
    from dli_etl.specs import parse_yaml
    from dli_etl.synth.timelines import layout_site

    written = []
    for site in sites:
        template = _profile(profiles, "DLIPRO", layout_site(site))
        if site == template.site:
            continue
        data = parse_yaml(Path(template.path).read_text(encoding="utf-8"))
        data.update(site=site, files=[f"sites/{site}/*.xlsx"], source_name=f"Scaled site {site} ({template.site} layout)")
        written.append((folder / "DLIPRO" / f"{site}.yaml", data))
    edc = _profile(profiles, "DLIPRO", "EDC", "odm")
    data = parse_yaml(Path(edc.path).read_text(encoding="utf-8"))
    data["sites"] = list(sites)
    written.append((folder / "DLIPRO" / "EDC.yaml", data))
    extra = []
    for path, data in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        extra.append(load_profile(path))
    keys = {p.key for p in extra}
    return [p for p in profiles if p.key not in keys] + extra


def generate(out: Path, seed: int = 20261101, defect_rate: float = 0.03, scale: int = 1) -> GenerateResult:
    """Write both studies' landing files under ``out/landing`` and ``out/defect_manifest.csv``.

    ``scale``: K times the subjects of both studies and, for Study A, K times the sites (S07.. copy the
    layouts of S01..S06; their profiles are written to ``out/profiles``, to be passed as ``--profiles``).
    Scale 1 writes exactly the files it always did."""
    from dli_etl.synth.timelines import study_a_sites

    out = Path(out)
    landing = out / "landing"
    profiles = load_profiles()
    sites = study_a_sites(scale)
    profiles_dir = None
    if scale > 1:
        profiles_dir = out / "profiles"
        profiles = _scaled_profiles(profiles, sites, profiles_dir)
    rng = np.random.default_rng(seed)
    stamp = DATA_CUTOFF.isoformat()
    files: list[Path] = []
    manifest_rows: list[dict] = []

    # Study A: central ODM + one lab workbook per site.
    a = build_study_a(np.random.default_rng(rng.integers(1 << 31)), 200 * scale, sites)
    hsct = {r["subjid"]: r["hsctdt"] for r in a.forms["transplant"]}
    arm = {r["subjid"]: r["armcd"] for r in a.forms["randomization"]}
    planter_a = DefectPlanter(a, np.random.default_rng(rng.integers(1 << 31)), defect_rate)
    planter_a.plant_all(hsct, arm)
    odm_path = landing / "DLIPRO" / "edc" / f"DLIPRO_EDC_ODM_{stamp}.xml"
    where: dict[int, tuple[Path, str]] = {}
    for rid, loc in write_odm(a, _profile(profiles, "DLIPRO", "EDC", "odm"), odm_path, f"{stamp}T02:00:00+08:00").items():
        where[rid] = (odm_path, loc)
    files.append(odm_path)
    for site in sorted(a.site_labs):
        path = landing / "DLIPRO" / "sites" / site / f"DLIPRO_{site}_local_labs.xlsx"
        written = write_site_workbook(a.site_labs[site], _profile(profiles, "DLIPRO", site), path,
                                      planter_a.extra_columns.get(site, {}))
        for rid, (sheet, row) in written.items():
            where[rid] = (path, f"{sheet}!{row}")
        files.append(path)
    manifest_rows += _manifest(planter_a, where, landing)

    # Study B: REDCap export + the site's MRD workbook.
    b = build_study_b(np.random.default_rng(rng.integers(1 << 31)), 28 * scale)
    hsct_b = {r["subjid"]: r["hsctdt"] for r in b.forms["transplant"]}
    planter_b = DefectPlanter(b, np.random.default_rng(rng.integers(1 << 31)), defect_rate)
    planter_b.plant_all(hsct_b, {})
    data_path = landing / "DLIPLX" / "redcap" / f"DLIPLX_DATA_{stamp}.csv"
    dict_path = landing / "DLIPLX" / "redcap" / "DLIPLX_DataDictionary.csv"
    where = {}
    for rid, loc in write_redcap(b, _profile(profiles, "DLIPLX", "JLU", "redcap"), data_path, dict_path,
                                 planter_b.extra_columns.get("REDCAP", {})).items():
        where[rid] = (data_path, loc)
    files += [data_path, dict_path]
    mrd_path = landing / "DLIPLX" / "sites" / "JLU" / "DLIPLX_JLU_MRD.xlsx"
    written = write_site_workbook(b.site_labs.get("JLU", {}), _profile(profiles, "DLIPLX", "JLU"), mrd_path,
                                  planter_b.extra_columns.get("JLU", {}))
    for rid, (sheet, row) in written.items():
        where[rid] = (mrd_path, f"{sheet}!{row}")
    files.append(mrd_path)
    manifest_rows += _manifest(planter_b, where, landing)

    manifest = out / "defect_manifest.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(manifest_rows)
    subjects = {"DLIPRO": len({r["subjid"] for r in a.forms["enrollment"]}),
                "DLIPLX": len({r["subjid"] for r in b.forms["enrollment"]})}
    return GenerateResult(landing, manifest, tuple(files), subjects, len(manifest_rows), profiles_dir)


def _manifest(planter: DefectPlanter, where: dict[int, tuple[Path, str]], landing: Path) -> list[dict]:
    rows = []
    for defect in planter.planted:
        path, locator = where.get(defect.rid, (None, ""))
        if path is None:
            continue  # the record was not written (e.g. a lab form the site does not export)
        row = asdict(defect)
        row.pop("rid")
        row["file"] = path.relative_to(landing).as_posix()
        row["locator"] = locator
        row["covered_by"] = COVERED_BY[defect.defect_class]
        rows.append({k: row[k] for k in MANIFEST_COLUMNS})
    return rows
