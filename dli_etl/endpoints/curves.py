"""Kaplan-Meier and cumulative-incidence curves with numbers at risk: as data (for Parquet/SQL) and as
figures for the HTML report, drawn with matplotlib and embedded as inline SVG (the report stays one
self-contained file: no CDN, no images beside it).

Each curve is drawn over the whole follow-up: an event after a landmark (day 365) is a step at its own
time, never folded onto the landmark."""

from __future__ import annotations

import hashlib
import io
import re
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from dli_etl.survival.cumulative_incidence import cif_at, cumulative_incidence
from dli_etl.survival.kaplan_meier import kaplan_meier

CURVE_COLUMNS = ("STUDYID", "PARAMCD", "KIND", "ANALYSIS_GROUP", "TIME", "ESTIMATE", "LOWER", "UPPER", "N_EVENT",
                 "N_CENSORED")
AT_RISK_COLUMNS = ("STUDYID", "PARAMCD", "ANALYSIS_GROUP", "TIME", "AT_RISK")
_COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad")
LANDMARK_DAY = 365


def curve_points(study: str, adtte: pd.DataFrame, paramcd: str, kind: str, by: str = "ARMCD") -> pd.DataFrame:
    """Step-function points from day 0, one per distinct event or censoring time, with the 95% CI:
    survival (``kind='KM'``, Greenwood log CI) or cumulative incidence of the event with EVSTAT 2
    competing (``kind='CIF'``, Aalen-Johansen, log-log CI). ``N_CENSORED`` marks where censor ticks go."""
    data = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["ANL01FL"] == "Y")]
    frames = []
    for group, part in data.groupby(by, sort=True):
        time = part["AVAL"].astype(float).to_numpy()
        status = part["EVSTAT"].astype(int).to_numpy()
        grid = np.unique(time)
        censored = np.array([int(((time == t) & (status == 0)).sum()) for t in grid])
        events = np.array([int(((time == t) & (status == 1)).sum()) for t in grid])
        if kind == "KM":
            table = kaplan_meier(time, (status == 1).astype(int))
            estimate, low, high = table["survival"], table["lower"], table["upper"]
            start = (1.0, 1.0, 1.0)
        else:
            table = cif_at(cumulative_incidence(time, status, cause=1), list(grid)) if (status > 0).any() else \
                pd.DataFrame({"estimate": np.zeros(len(grid)), "conf_low": np.nan, "conf_high": np.nan})
            estimate, low, high = table["estimate"], table["conf_low"], table["conf_high"]
            start = (0.0, 0.0, 0.0)
        frames.append(pd.DataFrame({"ANALYSIS_GROUP": str(group), "TIME": [0.0, *grid.tolist()],
                                    "ESTIMATE": [start[0], *np.asarray(estimate, dtype=float).tolist()],
                                    "LOWER": [start[1], *np.asarray(low, dtype=float).tolist()],
                                    "UPPER": [start[2], *np.asarray(high, dtype=float).tolist()],
                                    "N_EVENT": [0, *events.tolist()], "N_CENSORED": [0, *censored.tolist()]}))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(CURVE_COLUMNS[3:]))
    frame = frame.astype({"N_EVENT": "int64", "N_CENSORED": "int64"})
    return frame.assign(STUDYID=study, PARAMCD=paramcd, KIND=kind)[list(CURVE_COLUMNS)]


def at_risk_days(max_day: float, landmark: int = LANDMARK_DAY) -> list[int]:
    """Times for the numbers at risk: every 90 days up to the landmark, then every 180 to the end of
    follow-up, so the table spans what the curve shows."""
    days = [day for day in range(0, landmark, 90) if landmark - day >= 45] + [landmark]
    day = landmark + 180
    while day <= max_day:
        days.append(day)
        day += 180
    return days


def numbers_at_risk(study: str, adtte: pd.DataFrame, paramcd: str, times: list[int], by: str = "ARMCD") -> pd.DataFrame:
    data = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["ANL01FL"] == "Y")]
    rows = [{"STUDYID": study, "PARAMCD": paramcd, "ANALYSIS_GROUP": str(group), "TIME": t,
             "AT_RISK": int((part["AVAL"].astype(float) >= t).sum())}
            for group, part in data.groupby(by, sort=True) for t in times]
    return pd.DataFrame(rows, columns=list(AT_RISK_COLUMNS))


def curve_figure(points: pd.DataFrame, at_risk: pd.DataFrame, title: str, y_label: str):
    """A matplotlib Figure: one step line per group over the whole follow-up, its 95% confidence band,
    censoring ticks, a legend with each group's N, a dotted line at the day-365 landmark, and the numbers
    at risk in a table under the axis."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    groups = sorted(points["ANALYSIS_GROUP"].unique()) if not points.empty else []
    ticks = sorted(at_risk["TIME"].unique()) if not at_risk.empty else [0, LANDMARK_DAY]
    end = max([float(points["TIME"].max()) if not points.empty else 0.0, float(ticks[-1]), 1.0])
    height = 3.3 + 0.22 * len(groups)
    figure = Figure(figsize=(6.8, height))
    # fixed margins (inches turned into fractions): a constrained layout costs more than the drawing
    figure.subplots_adjust(left=0.13, right=0.98, top=1 - 0.35 / height, bottom=0.55 / height, hspace=0.45)
    axes, table_axes = figure.subplots(2, 1, height_ratios=[4, 0.55 + 0.3 * len(groups)], sharex=True)
    for i, group in enumerate(groups):
        colour = _COLOURS[i % len(_COLOURS)]
        line = points[points["ANALYSIS_GROUP"] == group].sort_values("TIME", kind="stable")
        n = int(at_risk.loc[(at_risk["ANALYSIS_GROUP"] == group) & (at_risk["TIME"] == 0), "AT_RISK"].sum())
        x, y = line["TIME"].to_numpy(dtype=float), line["ESTIMATE"].to_numpy(dtype=float)
        # the step holds its height to the end of follow-up (the last censoring), where the data end
        axes.step(x, y, where="post", color=colour, linewidth=1.8, label=f"{group} (N={n})", gid=f"curve-{group}")
        band = line[["LOWER", "UPPER"]].to_numpy(dtype=float)
        axes.fill_between(x, band[:, 0], band[:, 1], step="post", color=colour, alpha=0.15, linewidth=0,
                          gid=f"band-{group}")
        marks = line[line["N_CENSORED"] > 0]
        axes.plot(marks["TIME"], marks["ESTIMATE"], linestyle="none", marker="|", markersize=7, color=colour,
                  gid=f"censored-{group}")
        for tick in ticks:
            count = at_risk.loc[(at_risk["ANALYSIS_GROUP"] == group) & (at_risk["TIME"] == tick), "AT_RISK"]
            table_axes.text(tick, len(groups) - 1 - i, str(int(count.iloc[0])) if len(count) else "",
                            ha="center", va="center", fontsize=8, color=colour)
    axes.axvline(LANDMARK_DAY, color="#999999", linestyle=":", linewidth=1)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlim(0, end * 1.02)
    axes.set_ylabel(y_label)
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(axis="y", color="#eeeeee")
    if groups:
        handles, _ = axes.get_legend_handles_labels()
        censor = Line2D([], [], linestyle="none", marker="|", markersize=7, color="#555555", label="censored")
        axes.legend(handles=[*handles, censor], loc="best", fontsize=8, frameon=False)
    table_axes.set_ylim(-0.6, max(len(groups), 1) - 0.4)
    table_axes.set_yticks(range(len(groups)), [str(g) for g in reversed(groups)], fontsize=8)
    table_axes.set_xticks(ticks, [str(t) for t in ticks], fontsize=8)
    table_axes.set_xlabel("days from time origin", fontsize=8)
    table_axes.set_title("number at risk", fontsize=8, loc="left")
    for side in ("top", "right", "left"):
        table_axes.spines[side].set_visible(False)
    table_axes.tick_params(axis="y", length=0, pad=16)
    return figure


def import_matplotlib() -> None:
    """Load what drawing a curve needs (matplotlib's figure and SVG backend: about half a second), for a
    caller that has a core to spare before the curves are drawn."""
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def curve_svg(points: pd.DataFrame, at_risk: pd.DataFrame, title: str, y_label: str) -> str:
    """The figure as an inline ``<svg>`` element: text stays text, ids are stable across runs."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dli-etl"}):
        curve_figure(points, at_risk, title, y_label).savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    # matplotlib's Dublin Core block says only "made by matplotlib"; it is dropped with its namespaces
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'\s+xmlns:(?:dc|cc|rdf)="[^"]*"', "", svg)
    # the page scales it; the title is the accessible name
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r'<svg \1', svg, count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" class="curve" ', 1)



# (PARAMCD, kind, title, y label) per study: the curves the report shows
REPORT_CURVES = {
    "DLIPRO": (("RELAPSE", "CIF", "Study A: cumulative incidence of relapse (death competing)", "cumulative incidence"),
               ("LFS", "KM", "Study A: leukemia-free survival", "probability"),
               ("OS", "KM", "Study A: overall survival", "probability")),
    "DLIPLX": (("OS", "KM", "Study B: overall survival", "probability"),
               ("DFS", "KM", "Study B: disease-free survival from CR", "probability"),
               ("NRM", "CIF", "Study B: non-relapse mortality (relapse competing)", "cumulative incidence")),
}


def cached_curve_svg(points: pd.DataFrame, at_risk: pd.DataFrame, title: str, y_label: str,
                     cache_dir: Path | None) -> str:
    """``curve_svg``, kept in ``cache_dir`` by content: drawing is most of the curves' cost, and most runs
    change no curve (a corrected lab value moves no survival estimate)."""
    if cache_dir is None:
        return curve_svg(points, at_risk, title, y_label)
    from importlib.metadata import version

    from dli_etl.run_cache import code_fingerprint, replace_entry

    digest = hashlib.sha256("\0".join((code_fingerprint(), version("matplotlib"), title, y_label)).encode("utf-8"))
    digest.update(points.to_csv(index=False).encode("utf-8"))
    digest.update(at_risk.to_csv(index=False).encode("utf-8"))
    slot = hashlib.sha256(title.encode("utf-8")).hexdigest()[:16]
    path = Path(cache_dir) / f"{slot}-{digest.hexdigest()[:32]}.svg"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass  # not drawn yet, or pruned by another run sharing the cache
    svg = curve_svg(points, at_risk, title, y_label)
    replace_entry(path, svg.encode("utf-8"))
    return svg


def study_curves(adams: dict[str, dict[str, pd.DataFrame]], cache_dir: Path | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """(curve points, numbers at risk, [{title, svg}]) for every study present; with ``cache_dir``, an
    unchanged curve's drawing is taken from there (``cached_curve_svg``)."""
    points, risks, figures = [], [], []
    for study, specs in REPORT_CURVES.items():
        if study not in adams or adams[study]["adtte"].empty:
            continue
        adtte = adams[study]["adtte"]
        for paramcd, kind, title, y_label in specs:
            p = curve_points(study, adtte, paramcd, kind)
            r = numbers_at_risk(study, adtte, paramcd, at_risk_days(float(p["TIME"].max()) if not p.empty else 0.0))
            points.append(p)
            risks.append(r)
            figures.append({"title": title, "svg": cached_curve_svg(p, r, title, y_label, cache_dir)})
    return (pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=list(CURVE_COLUMNS)),
            pd.concat(risks, ignore_index=True) if risks else pd.DataFrame(columns=list(AT_RISK_COLUMNS)), figures)
