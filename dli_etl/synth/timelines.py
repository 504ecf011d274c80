"""Clinically coherent subject timelines for both studies (HSCT is day 0).

Each builder returns plain records keyed by canonical field names, with values written the way the
source system stores them (ISO dates in the EDC, coded values, free-text doses). Writers turn them into
files; ``defects`` may then alter a few values and log each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from dli_etl.rules import ctcae_labs, magic_agvhd
from dli_etl.rules.nih_cgvhd import ORGANS, nih_global_severity
from dli_etl.synth.dose_notation import pick_notation, write_cell_dose

DATA_CUTOFF = date(2026, 11, 1)
MNC_TARGET = 1.0e8
CD3_TARGET = 3.0e7

STUDY_A_SITES = ("S01", "S02", "S03", "S04", "S05", "S06")
CHINESE_SITES = {"S02", "S05", "JLU"}
PREEMPTIVE_REGIMENS = ("HAA", "AA", "HA", "VA")


@dataclass
class SourceBundle:
    """Records per form (central source) and per site and form (site lab workbooks)."""

    study: str
    forms: dict[str, list[dict]] = field(default_factory=dict)
    site_labs: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    sites: dict[str, str] = field(default_factory=dict)  # subjid -> site
    _next_rid: int = 0

    def add(self, form: str, subjid: str, **values: object) -> dict:
        record = {"_rid": self._next_rid, "subjid": subjid, **{k: _text(v) for k, v in values.items()}}
        self._next_rid += 1
        self.forms.setdefault(form, []).append(record)
        return record

    def add_lab(self, site: str, form: str, subjid: str, **values: object) -> dict:
        record = {"_rid": self._next_rid, "subjid": subjid, **{k: _text(v) for k, v in values.items()}}
        self._next_rid += 1
        self.site_labs.setdefault(site, {}).setdefault(form, []).append(record)
        return record


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 1e5 else repr(value)
    return str(value)


# bone-marrow blasts (%) an assessment of each category is drawn from: CR < 5, PR 5-25 (ELN, as the
# protocol declares), no response above that
_BLASTS_FOR = {"CR": (0.2, 4.0), "PR": (5.5, 24.5)}


def _day(d0: date, n: int) -> date:
    return d0 + timedelta(days=int(n))


@dataclass
class LabProfile:
    """Baseline blood counts of one subject, perturbed around DLI and GVHD."""

    anc: float
    wbc: float
    hgb: float
    plt: float
    lym: float


def _cbc_values(rng: np.random.Generator, base: LabProfile, suppression: float) -> dict[str, float]:
    """Counts on one date; ``suppression`` in [0, 1) lowers them (post-DLI marrow suppression)."""
    f = max(0.02, 1.0 - suppression) * rng.uniform(0.85, 1.15)
    anc = round(base.anc * f, 2)
    lym = round(base.lym * max(0.1, f), 2)
    wbc = round(max(anc + lym + 0.1, base.wbc * f), 2)
    return {
        "wbc": wbc,
        "anc": anc,
        "hgb": round(max(6.0, base.hgb * (1 - 0.4 * suppression) * rng.uniform(0.95, 1.05)), 1),
        "plt": round(max(5.0, base.plt * max(0.05, 1 - suppression) * rng.uniform(0.85, 1.15)), 0),
        "lym": lym,
    }


def _lab_days(hsct: date, last: date, extra: list[int]) -> list[int]:
    days = sorted({30, 45, 60, 75, 90, 120, 150, 180, 240, 300, 365, *extra})
    return [d for d in days if _day(hsct, d) <= last]


def _write_labs(
    bundle: SourceBundle,
    rng: np.random.Generator,
    site: str,
    subjid: str,
    hsct: date,
    last: date,
    dli_days: list[int],
    mrd_positive_from: int | None,
    relapse_day: int | None,
    liver_gvhd: dict[int, float],
    ae_sink: list[dict],
    extra_mrd_days: tuple[int, ...] = (),
) -> None:
    """CBC, chemistry and MRD rows, plus AEs graded from the counts they record."""
    base = LabProfile(
        anc=rng.uniform(2.0, 4.5), wbc=rng.uniform(4.0, 7.5), hgb=rng.uniform(10.8, 13.5),
        plt=rng.uniform(110, 260), lym=rng.uniform(1.0, 2.2),
    )
    days = _lab_days(hsct, last, [d + 14 for d in dli_days] + [d + 28 for d in dli_days])
    graded_terms: set[str] = set()
    for d in days:
        since_dli = [d - x for x in dli_days if 0 <= d - x <= 35]
        suppression = 0.0
        if since_dli and rng.random() < 0.55:
            suppression = rng.uniform(0.3, 0.93)
        if relapse_day is not None and d >= relapse_day:
            suppression = max(suppression, rng.uniform(0.4, 0.8))
        cbc = _cbc_values(rng, base, suppression)
        when = _day(hsct, d)
        bundle.add_lab(site, "cbc", subjid, lbdtc=when, **cbc)
        bili = liver_gvhd.get(d, round(rng.uniform(0.4, 1.1), 2))
        alt = round(rng.uniform(12, 38) * (3.5 if d in liver_gvhd else 1.0), 0)
        bundle.add_lab(
            site, "chemistry", subjid, lbdtc=when, bili=bili, alt=alt,
            ast=round(alt * rng.uniform(0.8, 1.2), 0), creat=round(rng.uniform(0.6, 1.1), 2),
        )
        if since_dli:
            # Lab-based AEs are graded from the value recorded the same day (CTCAE v5.0).
            for term, grade in (
                ("Neutrophil count decreased", ctcae_labs.ctcae_grade_from_anc(cbc["anc"], 1.8)),
                ("Platelet count decreased", ctcae_labs.ctcae_grade_decrease("Platelet count decreased", cbc["plt"], 125)),
            ):
                if grade is not None and grade >= 3 and term not in graded_terms:
                    graded_terms.add(term)
                    ae_sink.append({"aeterm": term, "aestdt": when, "aeendt": _day(when, rng.integers(5, 20)),
                                    "aetoxgr": grade, "aeser": "N", **_seriousness(), "aerel": "RELATED",
                                    "aeout": "RECOVERED/RESOLVED", "infection_category": "", "pathogen": ""})
    # MRD by flow (LAIP) monthly-ish, qPCR WT1 at a few points, and the draw that found the conversion
    # (the preemptive DLI and a second round in Study B are decided on it)
    scheduled = {30, 60, 90, 120, 180, 270, 365, *extra_mrd_days}
    if mrd_positive_from is not None:
        scheduled.add(mrd_positive_from)
    for d in [x for x in sorted(scheduled) if _day(hsct, x) <= last]:
        positive = mrd_positive_from is not None and d >= mrd_positive_from
        if relapse_day is not None and d >= relapse_day:
            positive = True
        value = f"{rng.uniform(0.05, 3.0):.2f}%" if positive else "<0.01%"
        bundle.add_lab(site, "mrd", subjid, lbdtc=_day(hsct, d), mrd_method="FLOW", mrd_marker="LAIP",
                       specimen="BM", mrd_result=value, mrd_lod="0.01")
        if d in (30, 90, 180):
            wt1 = f"{rng.uniform(0.7, 5.0):.2f}%" if positive else f"{rng.uniform(0.05, 0.5):.2f}%"
            bundle.add_lab(site, "mrd", subjid, lbdtc=_day(hsct, d), mrd_method="QPCR", mrd_marker="WT1",
                           specimen="BM", mrd_result=wt1, mrd_lod="0.6")


def _agvhd_assessments(rng: np.random.Generator, onset: date, n: int) -> tuple[list[dict], dict[date, float]]:
    """MAGIC assessments with organ stages derived from the raw measures (always consistent)."""
    rows = []
    liver: dict[date, float] = {}
    for k in range(n):
        when = _day(onset, 7 * k)
        bsa = float(rng.choice([0, 10, 20, 30, 45, 60]))
        bili = float(rng.choice([0.6, 0.9, 2.4, 4.0])) if rng.random() < 0.3 else round(rng.uniform(0.4, 1.2), 2)
        stool = float(rng.choice([0, 300, 600, 1200, 1700])) if rng.random() < 0.4 else 0.0
        ugi = bool(rng.random() < 0.15)
        s, li = magic_agvhd.skin_stage(bsa), magic_agvhd.liver_stage(bili)
        u, lo = magic_agvhd.upper_gi_stage(ugi), magic_agvhd.lower_gi_stage_adult(stool)
        rows.append({"assessment_date": when, "skin_bsa": bsa, "bilirubin_mg_dl": bili, "stool_ml_day": stool,
                     "upper_gi_symptoms": "Y" if ugi else "N", "skin_stage": s, "liver_stage": li,
                     "upper_gi_stage": u, "lower_gi_stage": lo,
                     "magic_overall_grade": magic_agvhd.magic_overall_grade(s, li, u, lo)})
        if li > 0:
            liver[when] = bili
    return rows, liver


def _cgvhd_assessment(rng: np.random.Generator, when: date) -> dict:
    """One NIH chronic GVHD assessment; the global severity follows the organ scores."""
    scores = dict.fromkeys(ORGANS, 0)
    for organ in rng.choice(list(ORGANS), size=int(rng.integers(1, 4)), replace=False):
        scores[str(organ)] = int(rng.choice([1, 1, 2, 3], p=[0.45, 0.2, 0.25, 0.1]))
    return {"assessment_date": when, **{f"{o}_score": v for o, v in scores.items()},
            "global_severity": nih_global_severity(scores)}


_INFECTIONS = (
    ("Lung infection", "BACTERIAL", "Klebsiella pneumoniae"),
    ("Sepsis", "BACTERIAL", "Escherichia coli"),
    ("Cytomegalovirus infection reactivation", "VIRAL", "CMV"),
    ("Epstein-Barr virus infection reactivation", "VIRAL", "EBV"),
    ("Lung infection", "FUNGAL", "Aspergillus fumigatus"),
)


def _seriousness(hospitalised: bool = False, life: bool = False) -> dict[str, str]:
    """The seriousness criteria a serious AE is reported with (a serious infection is admitted)."""
    return {"aeshosp": "Y" if hospitalised else "N", "aeslife": "Y" if life else "N", "aesdisab": "N", "aesmie": "N"}


def _infections(rng: np.random.Generator, start: date, last: date) -> list[dict]:
    out = []
    for _ in range(int(rng.poisson(0.6))):
        when = _day(start, rng.integers(5, 180))
        if when > last:
            continue
        term, cat, pathogen = _INFECTIONS[int(rng.integers(0, len(_INFECTIONS)))]
        grade = int(rng.choice([2, 3, 3, 4])) if term != "Sepsis" else int(rng.choice([3, 4]))
        out.append({"aeterm": term, "aestdt": when, "aeendt": _day(when, rng.integers(7, 30)), "aetoxgr": grade,
                    "aeser": "Y" if grade >= 3 else "N", **_seriousness(grade >= 3, life=grade == 4),
                    "aerel": "NOT RELATED", "aeout": "RECOVERED/RESOLVED",
                    "infection_category": cat, "pathogen": pathogen})
    return out


# a death not from the disease is reported as a fatal (grade 5) adverse event on the death date
_FATAL_AE = {"INFECTION": ("Sepsis", "BACTERIAL", "Klebsiella pneumoniae"),
             "GVHD": ("Immune system disorders - Other, specify", "", ""),
             "ORGAN FAILURE": ("Multi-organ failure", "", "")}


def _ongoing_at_end(ae: dict, last: date) -> dict:
    """An AE still going on at the end of follow-up (death or last contact) has no end date and has not
    recovered: nothing resolves after a death."""
    end = ae.get("aeendt")
    if isinstance(end, date) and end >= last:
        return {**ae, "aeendt": None, "aeout": "NOT RECOVERED/NOT RESOLVED"}
    return ae


def _fatal_ae(cause: str | None, when: date | None) -> list[dict]:
    """The grade 5 AE of a non-disease death (drawn without the random stream, so nothing else moves)."""
    if cause is None or when is None or cause.upper() not in _FATAL_AE:
        return []
    term, category, pathogen = _FATAL_AE[cause.upper()]
    return [{"aeterm": term, "aestdt": when, "aeendt": when, "aetoxgr": 5, "aeser": "Y",
             **_seriousness(True, life=True), "aerel": "NOT RELATED",
             "aeout": "FATAL", "infection_category": category, "pathogen": pathogen}]


def _outcome(rng: np.random.Generator, origin: date, relapse_rate_1y: float, nrm_rate_1y: float):
    """Relapse day, death day (from origin) with death after relapse likely; exponential hazards."""
    relapse_t = rng.exponential(365 / -np.log(1 - relapse_rate_1y))
    nrm_t = rng.exponential(365 / -np.log(1 - nrm_rate_1y))
    max_follow = (DATA_CUTOFF - origin).days
    relapse = relapse_t if relapse_t < nrm_t and relapse_t < max_follow else None
    death = None
    if relapse is not None:
        post = rng.exponential(240)
        if relapse + post < max_follow:
            death = relapse + post
    elif nrm_t < max_follow:
        death = nrm_t
    # A few subjects are lost to follow-up before the cutoff.
    last = death if death is not None else (max_follow if rng.random() > 0.08 else rng.uniform(60, max_follow))
    if relapse is not None and relapse > last:
        relapse = None
    return (int(relapse) if relapse is not None else None, int(death) if death is not None else None, int(last))


def _person(rng: np.random.Generator, ref: date) -> tuple[str, date]:
    sex = "1" if rng.random() < 0.56 else "2"
    age = int(rng.integers(18, 66))
    birth = ref - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
    return sex, birth


def study_a_sites(scale: int = 1) -> tuple[str, ...]:
    """Study A's sites at a registry scale: S01..S06, then S07.. each laid out like S01..S06 in turn."""
    return tuple(f"S{n:02d}" for n in range(1, 6 * scale + 1))


def layout_site(site: str) -> str:
    """The shipped site whose workbook layout a scaled-up site copies (S07 -> S01, S08 -> S02, ...)."""
    return STUDY_A_SITES[(int(site[1:]) - 1) % len(STUDY_A_SITES)]


def build_study_a(rng: np.random.Generator, n_subjects: int = 200, sites: tuple[str, ...] = STUDY_A_SITES) -> SourceBundle:
    """Study A (DLIPRO): 200 subjects, 1:1 prophylactic vs preemptive DLI, six sites (more at scale)."""
    bundle = SourceBundle(study="DLIPRO")
    per_site_counter: dict[str, int] = {}
    base_weights = np.array([0.24, 0.2, 0.16, 0.16, 0.12, 0.12])
    site_weights = np.tile(base_weights, len(sites) // len(base_weights))
    site_weights = site_weights / site_weights.sum()
    for i in range(n_subjects):
        site = sites[int(rng.choice(len(sites), p=site_weights))]
        per_site_counter[site] = per_site_counter.get(site, 0) + 1
        subjid = f"{site[1:]}-{per_site_counter[site]:03d}"
        bundle.sites[subjid] = site
        armcd = "PROPH" if i % 2 == 0 else "PREEMPT"  # permuted blocks of 2 across the study
        hsct = date(2025, 9, 1) + timedelta(days=int(rng.integers(0, 240)))
        sex, birth = _person(rng, hsct)
        consent = _day(hsct, -int(rng.integers(5, 21)))
        rand = _day(hsct, int(rng.integers(30, 41)))
        haplo = rng.random() < 0.55
        donor = "HAPLO" if haplo else str(rng.choice(["MSD", "MUD"]))
        bundle.add("enrollment", subjid, brthdtc=birth, sex=sex, rficdtc=consent,
                   diagnosis="AML" if rng.random() < 0.8 else "MDS-IB",
                   disease_status=str(rng.choice(["RELAPSED", "REFRACTORY"])), ph_status="NEGATIVE",
                   mrd_1m="NEGATIVE", country="CHN")
        bundle.add("randomization", subjid, randdt=rand, armcd=armcd)
        bundle.add("transplant", subjid, hsctdt=hsct, donor_type=donor, graft_source="PBSC",
                   conditioning=str(rng.choice(["BU/CY", "BU/FLU", "TBI/CY", "BU/CY/ATG"])))
        relapse_rate = 0.22 if armcd == "PROPH" else 0.32
        relapse_d, death_d, last_d = _outcome(rng, rand, relapse_rate, 0.1)
        last = _day(rand, last_d)
        relapse_hsct = (rand - hsct).days + relapse_d if relapse_d is not None else None

        dli_days: list[int] = []
        mrd_positive_from = None
        if armcd == "PROPH":
            dli_days.append(int(rng.integers(45, 61)))
        else:
            # Preemptive: DLI after MRD conversion, ~45% convert during follow-up.
            if rng.random() < 0.45:
                mrd_positive_from = int(rng.integers(60, 240))
                dli_days.append(mrd_positive_from + int(rng.integers(7, 15)))
        dli_days = [d for d in dli_days if _day(hsct, d) < last and (relapse_hsct is None or d < relapse_hsct)]
        notation = pick_notation(rng, layout_site(site) in CHINESE_SITES)
        aes: list[dict] = []
        liver_by_day: dict[int, float] = {}
        for rnd, d in enumerate(dli_days, start=1):
            dli_date = _day(hsct, d)
            if armcd == "PREEMPT":
                chemo_end = _day(dli_date, -int(rng.choice([2, 3])))  # 48-72 h before DLI
                bundle.add("chemo", subjid, regimen=str(rng.choice(PREEMPTIVE_REGIMENS)),
                           chemo_start=_day(chemo_end, -int(rng.integers(2, 5))), chemo_end=chemo_end)
            mnc = MNC_TARGET * rng.uniform(0.9, 1.1)
            cd3 = CD3_TARGET * rng.uniform(0.88, 1.12)
            bundle.add("dli", subjid, dli_round=rnd, dlidt=dli_date, mnc_dose=write_cell_dose(mnc, notation),
                       cd3_dose=write_cell_dose(cd3, notation))
            weeks = rng.integers(6, 9) if haplo else rng.integers(4, 7)
            bundle.add("immunosuppression", subjid, ist_drug=str(rng.choice(["CSA", "MTX"])),
                       ist_start=_day(dli_date, 1), ist_end=min(_day(dli_date, 7 * int(weeks)), last))
            if rng.random() < 0.3:
                onset = _day(dli_date, int(rng.integers(10, 40)))
                if onset < last:
                    rows, liver = _agvhd_assessments(rng, onset, int(rng.integers(1, 4)))
                    for row in rows:
                        if row["assessment_date"] <= last:
                            bundle.add("agvhd", subjid, **row)
                    for when, bili in liver.items():
                        # chemistry on the assessment day reflects the liver involvement
                        liver_by_day[(when - hsct).days] = bili
        if dli_days and rng.random() < 0.25:
            when = _day(hsct, dli_days[0] + int(rng.integers(60, 200)))
            if when <= last:
                bundle.add("cgvhd", subjid, **_cgvhd_assessment(rng, when))
        aes.extend(_infections(rng, _day(hsct, dli_days[0]) if dli_days else rand, last))
        _write_labs(bundle, rng, site, subjid, hsct, last, dli_days, mrd_positive_from, relapse_hsct,
                    liver_by_day, aes)
        for ae in aes:
            bundle.add("adverse_event", subjid, **_ongoing_at_end(ae, last))
        three_m = _day(rand, 90)
        if three_m <= last:
            relapsed_by = relapse_d is not None and relapse_d <= 90
            bundle.add("response", subjid, rsdt=three_m, response="RELAPSE" if relapsed_by else "CR",
                       bm_blasts=round(rng.uniform(6, 40), 1) if relapsed_by else round(rng.uniform(0.2, 3.5), 1))
        bundle.add("followup", subjid, last_contact=last, relapse="Y" if relapse_d is not None else "N",
                   relapse_date=_day(rand, relapse_d) if relapse_d is not None else None,
                   death="Y" if death_d is not None else "N",
                   death_date=_day(rand, death_d) if death_d is not None else None,
                   death_cause=("RELAPSE" if relapse_d is not None else str(rng.choice(["INFECTION", "GVHD", "ORGAN FAILURE"])))
                   if death_d is not None else None)
        death = bundle.forms["followup"][-1]
        for ae in _fatal_ae(death["death_cause"], death["death_date"]):
            bundle.add("adverse_event", subjid, **ae)
    return bundle


def build_study_b(rng: np.random.Generator, n_subjects: int = 28) -> SourceBundle:
    """Study B (DLIPLX): 28 relapsed AML/ALL subjects, chemo, DLI 3 days later, plerixafor days +10..+14."""
    bundle = SourceBundle(study="DLIPLX")
    for i in range(n_subjects):
        subjid = f"{i + 1:03d}"
        bundle.sites[subjid] = "JLU"
        hsct = date(2023, 6, 1) + timedelta(days=int(rng.integers(0, 600)))
        relapse_after_hsct = int(rng.integers(90, 420))
        consent = _day(hsct, relapse_after_hsct + int(rng.integers(5, 15)))
        if consent > date(2026, 3, 31):
            consent = date(2026, 3, 31) - timedelta(days=int(rng.integers(0, 60)))
            hsct = _day(consent, -relapse_after_hsct - 10)
        sex, birth = _person(rng, hsct)
        diagnosis = "1" if rng.random() < 0.7 else "2"
        bundle.add("enrollment", subjid, rficdtc=consent, brthdtc=birth, sex=sex, diagnosis=diagnosis,
                   relapse_type=str(rng.choice(["1", "2", "1|3"])))
        bundle.add("transplant", subjid, hsctdt=hsct, donor_type=str(rng.choice(["1", "2", "3", "3"])),
                   graft_source="PBSC")
        relapse_d, death_d, last_d = _outcome(rng, consent, 0.45, 0.12)
        last = _day(consent, last_d)
        notation = pick_notation(rng, True)
        aes: list[dict] = []
        dli_days_from_hsct: list[int] = []
        chemo_start = _day(consent, int(rng.integers(1, 5)))
        # Response to round 1 decides round 2 (PR, or CR with MRD+).
        response = str(rng.choice(["CR", "CR", "CR_MRDPOS", "PR", "NR"], p=[0.35, 0.15, 0.15, 0.2, 0.15]))
        rounds = 2 if response in ("PR", "CR_MRDPOS") else 1
        dli_dates: list[date] = []
        decision_days: list[int] = []
        for rnd in range(1, rounds + 1):
            chemo_end = _day(chemo_start, int(rng.integers(3, 6)))
            dli_date = _day(chemo_end, 3)
            if dli_date + timedelta(days=15) > last:
                break
            if rnd > 1:
                # the assessment of round 1 that decides round 2, with its MRD draw
                decided = _day(dli_dates[-1], 28)
                shown = {"CR_MRDPOS": "CR"}.get(response, response)
                bundle.add("response", subjid, rsdt=decided, response=shown,
                           bm_blasts=round(rng.uniform(*_BLASTS_FOR[shown]), 1), _event=f"round_{rnd - 1}_arm_1")
                decision_days.append((decided - hsct).days)
            dli_dates.append(dli_date)
            bundle.add("chemo", subjid, regimen=str(rng.choice(["FLAG", "AZA+VEN", "MA", "CAG"])),
                       chemo_start=chemo_start, chemo_end=chemo_end, _event=f"round_{rnd}_arm_1")
            bundle.add("dli", subjid, dli_round=rnd, dlidt=dli_date,
                       mnc_dose=write_cell_dose(MNC_TARGET * rng.uniform(0.9, 1.1), notation),
                       cd3_dose=write_cell_dose(CD3_TARGET * rng.uniform(0.88, 1.12), notation),
                       _event=f"round_{rnd}_arm_1")
            for k in range(5):  # plerixafor SC twice daily on days +10..+14 after DLI
                bundle.add("plerixafor", subjid, plx_date=_day(dli_date, 10 + k), plx_dose="240 µg/kg",
                           plx_doses_given=2, _event=f"round_{rnd}_arm_1", _instance=k + 1)
            dli_days_from_hsct.append((dli_date - hsct).days)
            if rng.random() < 0.3:
                rows, _ = _agvhd_assessments(rng, _day(dli_date, int(rng.integers(10, 40))), 1)
                for row in rows:
                    if row["assessment_date"] <= last:
                        bundle.add("agvhd", subjid, **row, _event="followup_arm_1")
            chemo_start = _day(dli_date, int(rng.integers(35, 60)))
        if dli_days_from_hsct and rng.random() < 0.25:
            when = _day(hsct, dli_days_from_hsct[0] + int(rng.integers(60, 200)))
            if when <= last:
                bundle.add("cgvhd", subjid, **_cgvhd_assessment(rng, when), _event="followup_arm_1")
        aes.extend(_infections(rng, consent, last))
        relapse_hsct = (consent - hsct).days + relapse_d if relapse_d is not None else None
        _write_labs(bundle, rng, "JLU", subjid, hsct, last, dli_days_from_hsct,
                    dli_days_from_hsct[0] - 10 if dli_days_from_hsct else None, relapse_hsct, {}, aes,
                    tuple(decision_days))
        if death_d is not None and relapse_d is None:
            aes.extend(_fatal_ae("INFECTION", _day(consent, death_d)))
        for ae in aes:
            bundle.add("adverse_event", subjid, **_ongoing_at_end(ae, last), _event="followup_arm_1")
        three_m = _day(consent, 90)
        if three_m <= last:
            shown = {"CR_MRDPOS": "CR"}.get(response, response)
            bundle.add("response", subjid, rsdt=three_m, response=shown,
                       bm_blasts=round(rng.uniform(*_BLASTS_FOR.get(shown, (26.0, 60.0))), 1),
                       _event="followup_arm_1")
        bundle.add("followup", subjid, last_contact=last, relapse="1" if relapse_d is not None else "0",
                   relapse_date=_day(consent, relapse_d) if relapse_d is not None else None,
                   death="1" if death_d is not None else "0",
                   death_date=_day(consent, death_d) if death_d is not None else None,
                   death_cause=("Relapse" if relapse_d is not None else "Infection") if death_d is not None else None,
                   _event="followup_arm_1")
    return bundle
