"""ADaM datasets and endpoints from a tiny hand-made SDTM set whose answers are worked out by hand below,
then the same code on generated data (every study and arm gets its endpoints; datasets pass their schemas)."""

import pandas as pd
import pytest
from scipy.stats import binom

from dli_etl.adam.build import adam_findings, build_adam
from dli_etl.adam.dates import imputed_date
from dli_etl.endpoints.estimates import proportion
from dli_etl.endpoints.protocol import endpoint_table

RAND = pd.Timestamp("2026-01-01")


def _day(n: int) -> str:
    return (RAND + pd.Timedelta(days=n)).strftime("%Y-%m-%d")


def _study_a() -> dict[str, pd.DataFrame]:
    """Six randomized subjects, all randomized on 2026-01-01 (day 0):

    A1 PROPH   relapse day 100, death day 200
    A2 PROPH   death day 50 without relapse
    A3 PROPH   alive, relapse-free, last contact day 400
    A4 PREEMPT relapse day 300, last contact day 380, but an AE starting day 400: known alive on day 400
    A5 PREEMPT alive, last contact day 150
    A6 PREEMPT aGVHD grade 3 on day 30, death known only to the month (2026-04 -> imputed 2026-04-01 = day 90)
    """
    ids = [f"DLIPRO-S01-01-00{i}" for i in range(1, 7)]
    arms = ["PROPH"] * 3 + ["PREEMPT"] * 3
    death = [_day(200), _day(50), None, None, None, "2026-04"]
    last = [_day(200), _day(50), _day(400), _day(380), _day(150), "2026-04"]
    dm = pd.DataFrame({
        "STUDYID": "DLIPRO", "USUBJID": ids, "SUBJID": [i[-6:] for i in ids], "SITEID": "S01", "AGE": 50.0,
        "AGEU": "YEARS", "SEX": "F", "ARMCD": arms, "ARM": arms, "ACTARMCD": arms, "ACTARM": arms,
        "DTHFL": ["Y" if d else None for d in death], "DTHDTC": death, "RFPENDTC": last})
    ds = pd.DataFrame({"USUBJID": ids * 2, "DSDECOD": ["INFORMED CONSENT OBTAINED"] * 6 + ["RANDOMIZED"] * 6,
                       "DSSTDTC": [_day(-40)] * 6 + [_day(0)] * 6})
    pr = pd.DataFrame({"USUBJID": ids, "PRSTDTC": [_day(-45)] * 6})
    # everyone gets a DLI on day 10 except A5
    dli = [i for i in ids if i != ids[4]]
    ex = pd.DataFrame({"USUBJID": dli, "EXTRT": "DONOR LYMPHOCYTE INFUSION", "EXSTDTC": _day(10), "EXENDTC": _day(10)})
    rs = pd.DataFrame({"USUBJID": [ids[0], ids[3], ids[2]], "RSORRES": ["RELAPSE", "RELAPSE", "CR"],
                       "RSSTRESC": ["RELAPSED DISEASE FROM CR", "RELAPSED DISEASE FROM CR", "CR"],
                       "RSDTC": [_day(100), _day(300), _day(90)]})
    fa = pd.DataFrame({"USUBJID": [ids[5], ids[5]], "FAOBJ": "ACUTE GRAFT VERSUS HOST DISEASE",
                       "FATESTCD": ["GRADE", "STAGE"], "FASTRESC": ["3", "2"], "FADTC": _day(30)})
    ae = pd.DataFrame({
        "STUDYID": "DLIPRO", "USUBJID": [ids[0], ids[0], ids[1], ids[3], ids[3]], "AESEQ": [1, 2, 1, 1, 2],
        "AETERM": ["Sepsis", "Sepsis", "Cytomegalovirus infection reactivation", "Neutrophil count decreased", "Fungemia"],
        "AEDECOD": ["Sepsis", "Sepsis", "Cytomegalovirus infection reactivation", "Neutrophil count decreased", "Fungemia"],
        "AEBODSYS": "X", "AECAT": ["INFECTION", "INFECTION", "INFECTION", None, "INFECTION"],
        "AESER": "N", "AEREL": ["RELATED", "RELATED", "NOT RELATED", "RELATED", "NOT RELATED"],
        "AETOXGR": ["3", "4", "2", "3", "3"],
        # A1: sepsis day 15 (grade 3) and day 20 (grade 4); A2: CMV before the DLI (day 5); A4: day 45, day 400
        "AESTDTC": [_day(15), _day(20), _day(5), _day(45), _day(400)], "AEENDTC": None})
    lab = []
    # A1: baseline day 5 then day 20 with all three counts at grade 3 (pancytopenia); A4: only neutropenia on day 40
    for usubjid, day, grades in ((ids[0], 5, ("0", "1", "0")), (ids[0], 8, ("1", "1", "0")),
                                 (ids[0], 20, ("3", "3", "3")), (ids[3], 40, ("3", "1", "2"))):
        for code, grade in zip(("NEUT", "HGB", "PLAT"), grades, strict=True):
            lab.append({"STUDYID": "DLIPRO", "USUBJID": usubjid, "LBSEQ": len(lab) + 1, "LBTESTCD": code, "LBTEST": code,
                        "LBCAT": "HEMATOLOGY", "LBSTRESN": float(10 - int(grade)), "LBSTRESC": str(10 - int(grade)),
                        "LBSTRESU": "x", "LBDTC": _day(day), "LBTOXGR": grade})
    return {"dm": dm, "ds": ds, "pr": pr, "ex": ex, "rs": rs, "fa": fa, "ae": ae, "lb": pd.DataFrame(lab),
            "mh": pd.DataFrame(columns=["USUBJID", "MHCAT", "MHDECOD"]), "supppr": pd.DataFrame()}


@pytest.fixture(scope="module")
def adam_a():
    return build_adam("DLIPRO", _study_a())


def _tte(adam, paramcd):
    frame = adam["adtte"]
    return frame[frame["PARAMCD"] == paramcd].set_index("USUBJID")


def test_adtte_event_coding_by_hand(adam_a):
    relapse, nrm, lfs, os_ = (_tte(adam_a, p) for p in ("RELAPSE", "NRM", "LFS", "OS"))
    a1, a2, a3, a4, a5, a6 = (f"DLIPRO-S01-01-00{i}" for i in range(1, 7))
    assert (relapse.loc[a1, "EVSTAT"], relapse.loc[a1, "AVAL"]) == (1, 100)
    assert (relapse.loc[a2, "EVSTAT"], relapse.loc[a2, "AVAL"]) == (2, 50)  # death without relapse competes
    assert (nrm.loc[a2, "EVSTAT"], nrm.loc[a1, "EVSTAT"]) == (1, 2)
    assert (relapse.loc[a3, "EVSTAT"], relapse.loc[a3, "CNSR"], relapse.loc[a3, "AVAL"]) == (0, 1, 400)
    assert (lfs.loc[a1, "AVAL"], lfs.loc[a1, "CNSR"]) == (100, 0)  # relapse comes before death
    assert (os_.loc[a1, "AVAL"], os_.loc[a1, "CNSR"]) == (200, 0)
    # last known alive is the latest date of any record, not only the last-contact field
    assert (os_.loc[a4, "AVAL"], os_.loc[a4, "CNSR"]) == (400, 1)
    # A6: death known to the month, imputed to its first day and flagged, not dropped
    assert (os_.loc[a6, "AVAL"], os_.loc[a6, "ADTF"], os_.loc[a6, "CNSR"]) == (90, "D", 0)
    assert (relapse.loc[a5, "AVAL"], relapse.loc[a5, "EVSTAT"]) == (150, 0)
    assert (os_.loc[a1, "AVALHSCT"]) == 245  # transplant day -45
    agvhd = _tte(adam_a, "AGVHD34")
    assert (agvhd.loc[a6, "EVSTAT"], agvhd.loc[a6, "AVAL"]) == (1, 30)
    assert agvhd.loc[a2, "EVSTAT"] == 2


def test_endpoints_by_hand(adam_a):
    """PROPH OS: deaths at 50 (3 at risk) and 200 (2 at risk) -> S(365) = 2/3 * 1/2 = 1/3.
    PROPH relapse: death at 50 leaves all-cause S = 2/3, relapse at 100 with 2 at risk -> CIF = 1/3.
    PREEMPT relapse: death at 90 (S = 2/3), censoring at 150, relapse at 300 with 1 at risk -> CIF = 2/3.
    PREEMPT aGVHD III-IV: 1 of 3 on day 30 -> CIF = 1/3."""
    table = endpoint_table({"DLIPRO": adam_a})
    a = table[table["STUDYID"] == "DLIPRO"].set_index(["ENDPOINT", "ANALYSIS_GROUP"])
    assert a.loc[("Overall survival", "PROPH"), "ESTIMATE"] == pytest.approx(1 / 3)
    assert a.loc[("Relapse", "PROPH"), "ESTIMATE"] == pytest.approx(1 / 3)
    assert a.loc[("Relapse", "PREEMPT"), "ESTIMATE"] == pytest.approx(2 / 3)
    assert a.loc[("Acute GVHD grade III-IV", "PREEMPT"), "ESTIMATE"] == pytest.approx(1 / 3)
    assert a.loc[("Acute GVHD grade III-IV", "PROPH"), "ESTIMATE"] == 0
    # relapse + NRM + LFS sum to one at the landmark (clinical.md section 5)
    for arm in ("PROPH", "PREEMPT"):
        total = sum(a.loc[(name, arm), "ESTIMATE"] for name in ("Relapse", "Non-relapse mortality",
                                                                 "Leukemia-free survival"))
        assert total == pytest.approx(1.0)
    assert {"PROPH vs PREEMPT", "PREEMPT vs PROPH"} & set(table["ANALYSIS_GROUP"])
    tests = table[table["MEASURE"].isin(["Gray's test", "Log-rank test"])]
    assert tests["P_VALUE"].between(0, 1).all()


def test_a_blank_arm_keeps_its_subject_and_leaves_the_between_arm_tests():
    """A5's arm quarantined (blank ARMCD in DM): A5 stays in the ITT, in its own group; the Gray and
    log-rank tests compare the two arms without it (N = the whole population, A5 not evaluable for the
    test). One blank arm once stopped the whole release."""
    from dli_etl.release_gates import endpoint_populations

    study = _study_a()
    dm = study["dm"].copy()
    for column in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        dm[column] = dm[column].astype(object).where(dm["USUBJID"] != "DLIPRO-S01-01-005", None)
    adam = build_adam("DLIPRO", {**study, "dm": dm})
    table = endpoint_table({"DLIPRO": adam})
    a = table.set_index(["ENDPOINT", "ANALYSIS_GROUP", "MEASURE"])
    assert a.loc[("Overall survival", "NOT ASSIGNED", "1-year survival"), "N"] == 1
    assert a.loc[("Overall survival", "PREEMPT", "1-year survival"), "N"] == 2
    tests = table[table["MEASURE"].isin(["Gray's test", "Log-rank test"])]
    assert len(tests) > 0 and set(tests["ANALYSIS_GROUP"]) <= {"PREEMPT vs PROPH", "PROPH vs PREEMPT"}
    assert (tests["N"] == 6).all() and (tests["N_EVALUABLE"] <= 5).all()
    assert tests["P_VALUE"].between(0, 1).all()
    assert endpoint_populations({"DLIPRO": adam}, table).passed


def test_marrow_suppression_and_adae_flags(adam_a):
    adsl = adam_a["adsl"].set_index("USUBJID")
    a1, a4 = "DLIPRO-S01-01-001", "DLIPRO-S01-01-004"
    assert tuple(adsl.loc[a1, ["NEUTRFL", "ANEMFL", "THROMBFL", "PANCYTFL"]]) == ("Y", "Y", "Y", "Y")
    assert tuple(adsl.loc[a4, ["NEUTRFL", "ANEMFL", "THROMBFL", "PANCYTFL"]]) == ("Y", "N", "N", "N")
    adlb = adam_a["adlb"]
    base = adlb[(adlb["USUBJID"] == a1) & (adlb["ABLFL"] == "Y")].set_index("PARAMCD")
    assert base.loc["HGB", "AVAL"] == 9.0  # the last value on or before the DLI (day 8, grade 1), not day 5
    adae = adam_a["adae"].set_index(["USUBJID", "AESEQ"])
    assert adae.loc[("DLIPRO-S01-01-002", 1), "TRTEMFL"] == "N"  # CMV before the DLI
    assert adae.loc[(a1, 1), "TRAE1MFL"] == "Y" and adae.loc[(a4, 1), "TRAE1MFL"] == "N"  # day 35 after DLI
    assert (adae.loc[(a1, 2), "AOCCPFL"], adae.loc[(a1, 1), "AOCCPFL"]) == ("Y", "")  # worst grade of sepsis
    assert adae.loc[(a1, 1), "INFCAT"] == "BACTERIAL" and adae.loc[(a4, 2), "INFCAT"] == "FUNGAL"
    assert adae.loc[(a4, 1), "INFCAT"] == ""


def test_hand_made_datasets_pass_their_schemas(adam_a):
    assert adam_findings("DLIPRO", adam_a).empty


def test_a_broken_dataset_becomes_an_error_finding(adam_a):
    broken = {**adam_a, "adtte": adam_a["adtte"].assign(CNSR=7)}
    found = adam_findings("DLIPRO", broken)
    assert (found["rule_id"] == "ADAM-SCHEMA-FAILED").any() and set(found["severity"]) == {"error"}
    assert "CNSR" in set(found["field"])


def _study_b() -> dict[str, pd.DataFrame]:
    """Four enrolled subjects: B1 CR on day 85 then relapse day 200; B2 PR on day 95 (and NR on day 30);
    B3 NR on day 150 only (outside the 3-month window -> NE); B4 CR on day 70 and PR on day 100."""
    ids = [f"DLIPLX-JLU-00{i}" for i in range(1, 5)]
    dm = pd.DataFrame({"STUDYID": "DLIPLX", "USUBJID": ids, "SUBJID": [i[-3:] for i in ids], "SITEID": "JLU",
                       "AGE": 30.0, "AGEU": "YEARS", "SEX": "M", "ARMCD": "DLIPLX", "ARM": "DLI plus plerixafor",
                       "ACTARMCD": "DLIPLX", "ACTARM": "DLI plus plerixafor", "DTHFL": None, "DTHDTC": None,
                       "RFPENDTC": _day(365)})
    ds = pd.DataFrame({"USUBJID": ids, "DSDECOD": "INFORMED CONSENT OBTAINED", "DSSTDTC": _day(0)})
    rs = pd.DataFrame({"USUBJID": [ids[0], ids[0], ids[1], ids[1], ids[2], ids[3], ids[3]],
                       "RSORRES": ["CR", "RELAPSE", "NR", "PR", "NR", "CR", "PR"],
                       "RSSTRESC": ["CR", "RELAPSED DISEASE FROM CR", "NR", "PR", "NR", "CR", "PR"],
                       "RSDTC": [_day(85), _day(200), _day(30), _day(95), _day(150), _day(70), _day(100)]})
    return {"dm": dm, "ds": ds, "rs": rs, "pr": pd.DataFrame(columns=["USUBJID", "PRSTDTC"]),
            "ex": pd.DataFrame(columns=["USUBJID", "EXTRT", "EXSTDTC", "EXENDTC"])}


def test_response_at_three_months_best_response_and_orr_by_hand():
    adam = build_adam("DLIPLX", _study_b())
    adrs = adam["adrs"]
    got = {(r.USUBJID[-1], r.PARAMCD): r.AVALC for r in adrs[adrs["PARAMCD"] != "OVRLRESP"].itertuples()}
    assert [got[(s, "RESP3M")] for s in "1234"] == ["CR", "PR", "NE", "PR"]  # B4: day 100 is nearer 90 than day 70
    assert [got[(s, "BESTRSP")] for s in "1234"] == ["CR", "PR", "NR", "CR"]
    assert [got[(s, "ORR3M")] for s in "1234"] == ["Y", "Y", "N", "Y"]
    table = endpoint_table({"DLIPLX": adam}).set_index("ENDPOINT")
    assert table.loc["Overall response (CR + CRh + CRi + PR)", "ESTIMATE"] == pytest.approx(3 / 4)
    assert table.loc["Complete remission", "EVENTS"] == 1
    dfs = adam["adtte"][adam["adtte"]["PARAMCD"] == "DFS"].set_index("USUBJID")
    # DFS runs from the first CR: B1 relapses 115 days after CR on day 85; B2 never had CR
    assert (dfs.loc["DLIPLX-JLU-001", "AVAL"], dfs.loc["DLIPLX-JLU-001", "CNSR"]) == (115, 0)
    assert dfs.loc["DLIPLX-JLU-002", "ANL01FL"] == "N" and dfs.loc["DLIPLX-JLU-002", "ANLREAS"] == "NO COMPLETE REMISSION"


def test_dfs_takes_the_first_relapse_after_cr():
    """B4 relapses on day 50, reaches CR on day 70 and relapses again on day 300: DFS (from CR, clinical.md
    section 5) ends with the relapse on day 300, 230 days after the CR, not with the one before it."""
    sdtm = _study_b()
    extra = pd.DataFrame({"USUBJID": ["DLIPLX-JLU-004"] * 2, "RSORRES": ["RELAPSE", "RELAPSE"],
                          "RSSTRESC": ["RELAPSED DISEASE", "RELAPSED DISEASE FROM CR"], "RSDTC": [_day(50), _day(300)]})
    sdtm["rs"] = pd.concat([sdtm["rs"], extra], ignore_index=True)
    adtte = build_adam("DLIPLX", sdtm)["adtte"].set_index(["USUBJID", "PARAMCD"])
    dfs = adtte.loc[("DLIPLX-JLU-004", "DFS")]
    assert (dfs["ANL01FL"], dfs["AVAL"], dfs["CNSR"]) == ("Y", 230, 0)
    # LFS counts from enrollment: the first relapse (day 50) ends it
    assert adtte.loc[("DLIPLX-JLU-004", "LFS"), "AVAL"] == 50


def test_adtte_reads_the_standardized_response():
    """A collected response the site wrote its own way ("relapse", "Rezidiv") is placed by RSSTRESC."""
    sdtm = _study_b()
    sdtm["rs"] = sdtm["rs"].assign(RSORRES=sdtm["rs"]["RSORRES"].replace({"RELAPSE": "recidive"}))
    dfs = build_adam("DLIPLX", sdtm)["adtte"].set_index(["USUBJID", "PARAMCD"]).loc[("DLIPLX-JLU-001", "DFS")]
    assert (dfs["AVAL"], dfs["CNSR"]) == (115, 0)


def test_partial_dates_are_imputed_only_with_a_flag():
    date, flag = imputed_date(pd.Series(["2026-04", "2026", "2026-04-17", "", None]),
                              not_before=pd.Series(pd.to_datetime(["2026-04-09", None, None, None, None])))
    assert date.tolist()[:3] == [pd.Timestamp("2026-04-09"), pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-17")]
    assert flag.tolist()[:3] == ["D", "M", pd.NA] and pd.isna(date[3]) and pd.isna(date[4])


@pytest.mark.parametrize(("events", "n"), [(0, 24), (15, 27), (20, 27), (27, 27)])
def test_exact_binomial_interval_meets_its_definition(events, n):
    """Clopper-Pearson: each bound puts exactly 2.5% in the far tail (none at 0 or n)."""
    result = proportion(events, n)
    if events > 0:
        assert binom.sf(events - 1, n, result["CI_LOW"]) == pytest.approx(0.025, abs=1e-6)
    else:
        assert result["CI_LOW"] == 0
    if events < n:
        assert binom.cdf(events, n, result["CI_HIGH"]) == pytest.approx(0.025, abs=1e-6)
    else:
        assert result["CI_HIGH"] == 1
    assert result["ESTIMATE"] == events / n


def test_generated_endpoints_for_every_study_and_arm(run_clean):
    endpoints = pd.read_parquet(run_clean.out / "endpoints" / "endpoints.parquet")
    a = endpoints[endpoints["STUDYID"] == "DLIPRO"]
    for endpoint in ("Relapse", "Leukemia-free survival", "Overall survival", "Acute GVHD grade II-IV",
                     "Acute GVHD grade III-IV", "Chronic GVHD", "Marrow suppression: Pancytopenia", "Infection: viral"):
        assert set(a.loc[a["ENDPOINT"] == endpoint, "ANALYSIS_GROUP"]) >= {"PROPH", "PREEMPT"}, endpoint
    estimates = a[~a["MEASURE"].str.endswith("test")]
    assert estimates["ESTIMATE"].between(0, 1).all()
    gray = a[(a["ENDPOINT"] == "Relapse") & (a["MEASURE"] == "Gray's test")]
    assert len(gray) == 1 and 0 <= gray["P_VALUE"].iloc[0] <= 1
    b = endpoints[endpoints["STUDYID"] == "DLIPLX"].set_index("ENDPOINT")
    for endpoint in ("Complete remission", "Partial remission", "Overall response (CR + CRh + CRi + PR)",
                     "Disease-free survival (from CR)", "Overall survival", "Non-relapse mortality",
                     "Treatment-related AE: worst grade 3"):
        assert endpoint in b.index, endpoint
    orr = b.loc["Overall response (CR + CRh + CRi + PR)"]
    assert orr["EVENTS"] == b.loc["Complete remission", "EVENTS"] + b.loc["Partial remission", "EVENTS"]
    pooled = endpoints[endpoints["STUDYID"] == "POOLED"]
    assert set(pooled["ANALYSIS_GROUP"]) >= {"DLIPRO", "DLIPLX", "POOLED"}
    both = pooled[(pooled["ENDPOINT"] == "Overall survival from first DLI") & pooled["ANALYSIS_GROUP"].isin(["DLIPRO", "DLIPLX"])]
    assert pooled.loc[(pooled["ENDPOINT"] == "Overall survival from first DLI") & (pooled["ANALYSIS_GROUP"] == "POOLED"),
                      "N"].iloc[0] == both["N"].sum()


def test_generated_adam_passes_schemas_and_reaches_warehouse(run_clean):
    findings = pd.read_parquet(run_clean.out / "findings" / "findings.parquet")
    assert not (findings["rule_id"] == "ADAM-SCHEMA-FAILED").any()
    from sqlalchemy import create_engine, inspect
    engine = create_engine(run_clean.warehouse_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"adam_adsl", "adam_adtte", "adam_adae", "adam_adlb", "adam_adrs", "endpoints", "endpoint_curves"} <= tables
    adtte = pd.read_parquet(run_clean.out / "adam" / "pooled" / "adtte.parquet")
    assert set(adtte["STUDYID"]) == {"DLIPRO", "DLIPLX"}
    assert not adtte.duplicated(["USUBJID", "PARAMCD"]).any()
    # a relapse in the follow-up form is a relapse in ADTTE: more relapses than the 3-month assessments show
    relapses = adtte[(adtte["PARAMCD"] == "RELAPSE") & (adtte["EVSTAT"] == 1)]
    assert relapses.groupby("STUDYID").size().min() > 0


def test_report_shows_endpoints_and_curves(run_clean):
    html = run_clean.report.read_text(encoding="utf-8")
    assert 'id="endpoints"' in html and html.count("<svg") == 6 and "number at risk" in html
    assert "Gray&#39;s test" in html or "Gray's test" in html
