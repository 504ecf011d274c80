"""Kaplan-Meier and cumulative-incidence curves with numbers at risk: as data (for Parquet/SQL) and as
self-contained SVG for the HTML report (no plotting library, no CDN)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from dli_etl.survival.cumulative_incidence import cumulative_incidence
from dli_etl.survival.kaplan_meier import kaplan_meier

CURVE_COLUMNS = ("STUDYID", "PARAMCD", "KIND", "ANALYSIS_GROUP", "TIME", "ESTIMATE")
AT_RISK_COLUMNS = ("STUDYID", "PARAMCD", "ANALYSIS_GROUP", "TIME", "AT_RISK")
_COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad")


def curve_points(study: str, adtte: pd.DataFrame, paramcd: str, kind: str, by: str = "ARMCD") -> pd.DataFrame:
    """Step-function points from day 0: survival (``kind='KM'``) or cumulative incidence of the event with
    EVSTAT 2 competing (``kind='CIF'``)."""
    data = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["ANL01FL"] == "Y")]
    rows = []
    for group, part in data.groupby(by, sort=True):
        time = part["AVAL"].astype(float).to_numpy()
        rows.append({"ANALYSIS_GROUP": str(group), "TIME": 0.0, "ESTIMATE": 1.0 if kind == "KM" else 0.0})
        if kind == "KM":
            table = kaplan_meier(time, (part["EVSTAT"] == 1).astype(int).to_numpy())
            table = table[table["n_event"] > 0]
            rows += [{"ANALYSIS_GROUP": str(group), "TIME": float(t), "ESTIMATE": float(s)}
                     for t, s in zip(table["time"], table["survival"], strict=True)]
        elif (part["EVSTAT"] > 0).any():
            table = cumulative_incidence(time, part["EVSTAT"].astype(int).to_numpy(), cause=1)
            rows += [{"ANALYSIS_GROUP": str(group), "TIME": float(t), "ESTIMATE": float(e)}
                     for t, e in zip(table["time"], table["estimate"], strict=True)]
        rows.append({"ANALYSIS_GROUP": str(group), "TIME": float(time.max()) if len(time) else 0.0,
                     "ESTIMATE": rows[-1]["ESTIMATE"]})
    frame = pd.DataFrame(rows, columns=["ANALYSIS_GROUP", "TIME", "ESTIMATE"])
    return frame.assign(STUDYID=study, PARAMCD=paramcd, KIND=kind)[list(CURVE_COLUMNS)]


def numbers_at_risk(study: str, adtte: pd.DataFrame, paramcd: str, times: list[int], by: str = "ARMCD") -> pd.DataFrame:
    data = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["ANL01FL"] == "Y")]
    rows = [{"STUDYID": study, "PARAMCD": paramcd, "ANALYSIS_GROUP": str(group), "TIME": t,
             "AT_RISK": int((part["AVAL"].astype(float) >= t).sum())}
            for group, part in data.groupby(by, sort=True) for t in times]
    return pd.DataFrame(rows, columns=list(AT_RISK_COLUMNS))


def curve_svg(points: pd.DataFrame, at_risk: pd.DataFrame, title: str, y_label: str, max_day: int = 365) -> str:
    """A step plot, one line per group, x in days, y from 0 to 1, numbers at risk under the axis."""
    width, height, left, top, plot_w, plot_h = 640, 330, 70, 30, 540, 200
    groups = sorted(points["ANALYSIS_GROUP"].unique()) if not points.empty else []

    def x(day: float) -> float:
        return left + plot_w * min(day, max_day) / max_day

    def y(value: float) -> float:
        return top + plot_h * (1 - value)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 18 * len(groups)}" '
             f'role="img" aria-label="{escape(title)}" class="curve">',
             f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>']
    for tick in np.linspace(0, 1, 6):
        parts.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick:.1f}</text>')
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#eee"/>')
    ticks = sorted(at_risk["TIME"].unique()) if not at_risk.empty else [0, max_day]
    for tick in ticks:
        parts.append(f'<text x="{x(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{tick}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 32}" text-anchor="middle" font-size="11">'
                 f'days from time origin</text>')
    parts.append(f'<text x="14" y="{top + plot_h / 2}" font-size="11" transform="rotate(-90 14 {top + plot_h / 2})" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    for i, group in enumerate(groups):
        colour = _COLOURS[i % len(_COLOURS)]
        line = points[points["ANALYSIS_GROUP"] == group].sort_values("TIME", kind="stable")
        path, previous = [], None
        for t, e in zip(line["TIME"], line["ESTIMATE"], strict=True):
            if t > max_day:
                t = max_day
            if previous is None:
                path.append(f"M{x(t):.1f},{y(e):.1f}")
            else:
                path.append(f"H{x(t):.1f}V{y(e):.1f}")
            previous = e
        parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        label_y = top + plot_h + 52 + 18 * i
        parts.append(f'<text x="{left - 8}" y="{label_y}" text-anchor="end" font-size="11" fill="{colour}">'
                     f'{escape(group)}</text>')
        for _, row in at_risk[at_risk["ANALYSIS_GROUP"] == group].iterrows():
            parts.append(f'<text x="{x(row["TIME"]):.1f}" y="{label_y}" text-anchor="middle" font-size="11">'
                         f'{int(row["AT_RISK"])}</text>')
    parts.append(f'<text x="{left}" y="{top + plot_h + 44}" font-size="10" fill="#555">number at risk</text>')
    parts.append("</svg>")
    return "".join(parts)


# (PARAMCD, kind, title, y label) per study: the curves the report shows
REPORT_CURVES = {
    "DLIPRO": (("RELAPSE", "CIF", "Study A: cumulative incidence of relapse (death competing)", "cumulative incidence"),
               ("LFS", "KM", "Study A: leukemia-free survival", "probability"),
               ("OS", "KM", "Study A: overall survival", "probability")),
    "DLIPLX": (("OS", "KM", "Study B: overall survival", "probability"),
               ("DFS", "KM", "Study B: disease-free survival from CR", "probability"),
               ("NRM", "CIF", "Study B: non-relapse mortality (relapse competing)", "cumulative incidence")),
}
AT_RISK_DAYS = [0, 90, 180, 270, 365]


def study_curves(adams: dict[str, dict[str, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(curve points, numbers at risk, [{title, svg}]) for every study present."""
    points, risks, figures = [], [], []
    for study, specs in REPORT_CURVES.items():
        if study not in adams or adams[study]["adtte"].empty:
            continue
        adtte = adams[study]["adtte"]
        for paramcd, kind, title, y_label in specs:
            p = curve_points(study, adtte, paramcd, kind)
            r = numbers_at_risk(study, adtte, paramcd, AT_RISK_DAYS)
            points.append(p)
            risks.append(r)
            figures.append({"title": title, "svg": curve_svg(p, r, title, y_label)})
    return (pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=list(CURVE_COLUMNS)),
            pd.concat(risks, ignore_index=True) if risks else pd.DataFrame(columns=list(AT_RISK_COLUMNS)), figures)
