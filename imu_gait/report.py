"""The comparison report: comparison.csv, spm.csv, symmetry.csv, figures/, report.html and report.pdf.

``report.html`` is one self-contained file: figures are embedded as base64 PNG, CSS is inline, there is no
script and no network reference. Every piece of user-provided text (subject, condition, notes, session names,
warnings) goes through :func:`html.escape`. ``report.pdf`` holds the same content as matplotlib pages.
"""

from __future__ import annotations

import base64
import html
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from imu_gait.compare.core import Comparison
from imu_gait.compare.metrics import ACTIVITY_LABELS
from imu_gait.compare.stats import VERDICT_CHANGED
from imu_gait.plots import compare as plots
from imu_gait.report_template import CSS, METHODS_HTML, METHODS_TEXT

DEFAULT_TITLE = "Gait comparison: before vs after"


@dataclass
class ReportFigure:
    """A rendered figure: file stem ``key``, heading, caption and PNG bytes."""

    key: str
    title: str
    caption: str
    png: bytes


def activities(cmp: Comparison) -> list[str]:
    """Activities present in the comparison, in the canonical order."""
    present = set(cmp.table["activity"]) if len(cmp.table) else set()
    return [a for a in ACTIVITY_LABELS if a in present]


def main_activity(cmp: Comparison) -> str | None:
    acts = activities(cmp)
    return "walk" if "walk" in acts else (acts[0] if acts else None)


def render_figures(cmp: Comparison, dpi: int = 110) -> list[ReportFigure]:
    """All report figures as PNG: the patient summary first, then per activity curves, strides, symmetry."""
    out: list[ReportFigure] = []
    fig = plots.summary_figure(cmp, main_activity(cmp))
    if fig is not None:
        out.append(
            ReportFigure(
                "summary",
                "Summary for the patient",
                "Before → after (session means) for the primary outcomes, the change with its "
                "95% confidence interval, and the band of changes too small to detect.",
                plots.png_bytes(fig, dpi),
            )
        )
    for act in activities(cmp):
        label = ACTIVITY_LABELS[act]
        for key, maker, title, caption in (
            (
                "curves",
                plots.curves_figure,
                "Curves over stance",
                "Mean ± SD over stance, before (blue) and after (orange). Shaded: where statistical parametric "
                "mapping finds a difference (two-sample t, random-field corrected; α = 0.05 over all curves).",
            ),
            (
                "strides",
                plots.distributions_figure,
                "Every stride",
                "Each dot is one stride (or repetition). Boxes: median and quartiles. Grey band: the mean before "
                "± the minimal detectable change (MDC95) of a session mean.",
            ),
            (
                "symmetry",
                plots.symmetry_figure,
                "Left and right",
                "Session means of each side. SI = 2(L − R)/(L + R) × 100 for positive quantities; for angles "
                "that can cross zero the difference L − R in degrees.",
            ),
        ):
            fig = maker(cmp, act)
            if fig is not None:
                out.append(
                    ReportFigure(
                        f"{key}_{act}",
                        f"{label.capitalize()}: {title.lower()}",
                        caption,
                        plots.png_bytes(fig, dpi),
                    )
                )
    return out


# ---------------------------------------------------------------------------------------------- text


def format_value(
    x: float, unit: str = "", digits: int | None = None, with_unit: bool = True
) -> str:
    """A value for people: angles and % with 1 decimal (0 from 100 up), other units 3 significant digits;
    with its unit (degrees as °) unless ``with_unit`` is False."""
    if x is None or not np.isfinite(x):
        return "–"
    if digits is not None:
        text = plots.fmt(x, digits)
    elif unit in ("deg", "deg/s", "% stance"):
        text = plots.fmt(x, 0 if abs(x) >= 100 else 1)
    else:
        text = f"{x:.3g}" if abs(x) >= 1e-3 else plots.fmt(x, 3)
        text = text[1:] if text.startswith("-") and float(text) == 0 else text
    if not with_unit:
        return text
    u = plots.pretty_unit(unit)
    sep = "" if u.startswith("°") or not u else " "
    return f"{text}{sep}{u}"


def _side_sentence(r: pd.Series) -> str:
    u = r["unit"]
    values = f"{r['side']} {format_value(r['mean_pre'], u)} → {format_value(r['mean_post'], u)}"
    ci = (
        f"change {format_value(r['diff'], u)}, 95% CI {format_value(r['ci_low'], u)} to "
        f"{format_value(r['ci_high'], u)}; detectable change {format_value(r['mdc95'], u)}"
    )
    if r["verdict"].startswith("too few"):
        return f"{values}: not judged, {r['verdict']} ({r['n_pre']} before, {r['n_post']} after)"
    if r["verdict"] == VERDICT_CHANGED:
        word = {
            "improved": "improved",
            "moved away from the aim": "changed, away from the programme's aim",
        }
        return f"{values}: {word.get(r['direction'], r['direction'])} ({ci})"
    holm = (
        ", significant only before correcting for the number of primary outcomes"
        if r.get("verdict_note")
        else ""
    )
    return f"{values}: no detectable change ({ci}{holm})"


def headline(cmp: Comparison) -> str:
    """One sentence: which primary outcomes of the main activity changed beyond the detectable change."""
    act = main_activity(cmp)
    if act is None:
        return "No strides could be compared."
    rows = cmp.table[(cmp.table["activity"] == act) & (cmp.table["role"] == "primary")]
    judged = rows[~rows["verdict"].str.startswith("too few")]
    changed = judged[judged["verdict"] == VERDICT_CHANGED]
    if judged.empty:
        return f"Too few {ACTIVITY_LABELS[act]} strides to judge any change."
    if changed.empty:
        return (
            f"In {ACTIVITY_LABELS[act]}, none of the {len(judged)} primary measurements (per side) changed "
            "beyond what measurement noise can explain."
        )
    parts = []
    for (label, direction), g in changed.groupby(["label", "direction"], sort=False):
        sides = " and ".join(g["side"])
        parts.append(f"{label.lower()} {direction} ({sides})")
    return (
        f"In {ACTIVITY_LABELS[act]}, {len(changed)} of {len(judged)} primary measurements (per side) changed "
        f"beyond the detectable change: {'; '.join(parts)}. The rest stayed within measurement noise."
    )


def what_changed(cmp: Comparison) -> list[str]:
    """Plain-language sentences, one per primary outcome of the main activity (both sides), then a count of
    the other detectable changes."""
    t = cmp.table
    act = main_activity(cmp)
    if act is None:
        return [
            "No strides could be compared: the analyses contain no usable walking, stair, running or "
            "squat data."
        ]
    lines = []
    rows = t[(t["activity"] == act) & (t["role"] == "primary")]
    for label, g in rows.groupby("label", sort=False):
        lines.append(
            f"{label} ({ACTIVITY_LABELS[act]}): "
            + "; ".join(_side_sentence(r) for _, r in g.iterrows())
            + "."
        )
    others = t[(t["activity"] != act) | (t["role"] != "primary")]
    others = others[~others["verdict"].str.startswith("too few")]
    changed = others[others["verdict"] == VERDICT_CHANGED]
    if len(others):
        lines.append(
            f"Other measures and activities: {len(changed)} of {len(others)} changed beyond the "
            "detectable change (see the tables; exploratory, not corrected for multiple testing)."
        )
    return lines


# ---------------------------------------------------------------------------------------------- HTML


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _sessions_html(cmp: Comparison) -> str:
    rows = []
    for cond, inputs in (("before", cmp.pre), ("after", cmp.post)):
        for i in inputs:
            m = i.meta
            n = len(i.strides) if len(i.strides) else 0
            rows.append(
                f"<tr><td>{_e(cond)}</td><td>{_e(i.name)}</td><td>{_e(m.get('subject', ''))}</td>"
                f"<td>{_e(m.get('condition', ''))}</td><td>{_e(m.get('created', ''))}</td>"
                f"<td class=num>{n}</td><td>{_e(m.get('notes', ''))}</td></tr>"
            )
    return (
        "<table><thead><tr><th>when</th><th>session</th><th>subject</th><th>condition</th>"
        "<th>recorded</th><th>strides</th><th>notes</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _verdict_class(v: str) -> str:
    return "changed" if v == VERDICT_CHANGED else ("few" if v.startswith("too few") else "noise")


def _comparison_table_html(t: pd.DataFrame) -> str:
    head = (
        "<tr><th>side</th><th>measure</th><th>unit</th><th>n before / after</th><th>before mean ± SD</th>"
        "<th>after mean ± SD</th><th>change [95% CI]</th><th>MDC95</th><th>Hedges g</th><th>test, p</th>"
        "<th>verdict</th></tr>"
    )
    body = []
    for _, r in t.iterrows():
        u = r["unit"]
        p = "–" if not np.isfinite(r["p"]) else (f"{r['p']:.3g}" if r["p"] >= 0.001 else "<0.001")
        if np.isfinite(r.get("p_holm_primary", np.nan)):
            ph = r["p_holm_primary"]
            p += f" (Holm {ph:.3g})" if ph >= 0.001 else " (Holm <0.001)"
        body.append(
            f"<tr><td>{_e(r['side'])}</td><td>{_e(r['label'])}</td><td>{_e(plots.pretty_unit(u))}</td>"
            f"<td class=num>{r['n_pre']} / {r['n_post']}</td>"
            f"<td class=num>{_e(format_value(r['mean_pre'], u, with_unit=False))} ± {_e(format_value(r['sd_pre'], u, with_unit=False))}</td>"
            f"<td class=num>{_e(format_value(r['mean_post'], u, with_unit=False))} ± {_e(format_value(r['sd_post'], u, with_unit=False))}</td>"
            f"<td class=num>{_e(format_value(r['diff'], u, with_unit=False))} [{_e(format_value(r['ci_low'], u, with_unit=False))}, "
            f"{_e(format_value(r['ci_high'], u, with_unit=False))}]</td><td class=num>{_e(format_value(r['mdc95'], u, with_unit=False))}</td>"
            f"<td class=num>{_e(format_value(r['hedges_g'], '', 2))}</td><td>{_e(r['test'])}, {_e(p)}</td>"
            f"<td class='{_verdict_class(r['verdict'])}'>{_e(r['verdict'])}</td></tr>"
        )
    return (
        f"<div class=scroll><table class=results><thead>{head}</thead><tbody>{''.join(body)}</tbody>"
        "</table></div>"
    )


def _spm_table_html(spm: pd.DataFrame) -> str:
    if not len(spm):
        return ""
    rows = []
    for _, r in spm.iterrows():
        if r["significant"]:
            p = "<0.001" if r["p"] < 0.001 else f"{r['p']:.3f}"
            res = (
                f"differs at {r['start_pct']:.0f}–{r['end_pct']:.0f}% of stance (after {r['post_vs_pre']}"
                f" than before), p = {p}"
            )
        else:
            res = r["note"] or "no region differs"
        rows.append(
            f"<tr><td>{_e(r['side'])}</td><td>{_e(str(r['variable']).replace('_', ' '))}</td>"
            f"<td>{_e(r['basis'])}</td><td class=num>{r['n_pre']} / {r['n_post']}</td>"
            f"<td>{_e(res)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>side</th><th>curve</th><th>tested on</th><th>n before / after</th>"
        "<th>result (SPM two-sample t, α = 0.05 over all curves)</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _symmetry_table_html(s: pd.DataFrame) -> str:
    if not len(s):
        return ""
    rows = []
    for (_metric, label, unit), g in s.groupby(["metric", "label", "unit"], sort=False):
        cells = []
        for cond in ("pre", "post"):
            r = g[g["condition"] == cond]
            if r.empty:
                cells.append("<td>–</td>")
                continue
            r = r.iloc[0]
            si = (
                f"SI {r['si_percent']:+.1f}%"
                if np.isfinite(r["si_percent"])
                else f"L − R {format_value(r['diff_left_minus_right'], unit)}"
            )
            cells.append(
                f"<td class=num>L {_e(format_value(r['left'], unit))}, R {_e(format_value(r['right'], unit))}; "
                f"{_e(si)}</td>"
            )
        rows.append(f"<tr><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return (
        "<table><thead><tr><th>measure</th><th>before</th><th>after</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _img(f: ReportFigure) -> str:
    b64 = base64.b64encode(f.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{b64}" alt="{_e(f.title)}">'
        f"<figcaption>{_e(f.caption)}</figcaption></figure>"
    )


def report_html(cmp: Comparison, figures: list[ReportFigure], title: str = DEFAULT_TITLE) -> str:
    """The whole report as one HTML string (no scripts, no external references)."""
    from imu_gait import __version__

    subject = next(
        (str(i.meta.get("subject")) for i in (*cmp.pre, *cmp.post) if i.meta.get("subject")), ""
    )
    figs = {f.key: f for f in figures}
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}{' – ' + _e(subject) if subject else ''}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f"<p class=sub>Subject <b>{_e(subject or 'not given')}</b> · {len(cmp.pre)} session(s) before, "
        f"{len(cmp.post)} after · report made {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p></header>",
        f"<section id=summary><h2>What changed</h2><p class=headline>{_e(headline(cmp))}</p>",
        "<ul class=changes>",
        *[f"<li>{_e(s)}</li>" for s in what_changed(cmp)],
        "</ul>",
    ]
    if "summary" in figs:
        parts.append(_img(figs["summary"]))
    parts.append("</section>")
    parts.append("<section id=quality><h2>Data quality</h2>")
    if cmp.warnings:
        parts.append(
            "<ul class=warnings>" + "".join(f"<li>{_e(w)}</li>" for w in cmp.warnings) + "</ul>"
        )
    else:
        parts.append("<p>No warnings from the analyses.</p>")
    parts.append("<h3>Sessions</h3>" + _sessions_html(cmp) + "</section>")
    for act in activities(cmp):
        label = ACTIVITY_LABELS[act]
        parts.append(
            f"<section class=activity id='act-{_e(act)}'><h2>{_e(label.capitalize())}</h2>"
        )
        t = cmp.table[cmp.table["activity"] == act]
        primary = t[t["role"].isin(["primary", "task"])]
        rest = t[~t["role"].isin(["primary", "task"])]
        if len(primary):
            parts.append("<h3>Primary outcomes</h3>" + _comparison_table_html(primary))
        if len(rest):
            parts.append(
                f"<details><summary>Every other measure ({len(rest)} rows: calibration-dependent angles, "
                "timing and distance; exploratory)</summary>"
                + _comparison_table_html(rest)
                + "</details>"
            )
        for key in (f"curves_{act}", f"strides_{act}", f"symmetry_{act}"):
            if key in figs:
                parts.append(f"<h3>{_e(figs[key].title)}</h3>{_img(figs[key])}")
                if key.startswith("curves"):
                    parts.append(_spm_table_html(cmp.spm[cmp.spm["activity"] == act]))
        sym = cmp.symmetry[cmp.symmetry["activity"] == act] if len(cmp.symmetry) else cmp.symmetry
        if len(sym):
            parts.append("<h3>Symmetry</h3>" + _symmetry_table_html(sym))
        parts.append("</section>")
    parts.append("<section id=methods><h2>How the numbers were computed</h2>")
    parts.append(METHODS_HTML.format(**_methods_fields(cmp)))
    parts.append("</section>")
    parts.append(
        f"<footer>imu-gait {_e(__version__)} · comparison.csv, spm.csv and symmetry.csv hold every "
        "number of this report.</footer></body></html>"
    )
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- PDF


A4 = (8.27, 11.69)


def _text_pages(heading: str, paragraphs: list[str], size: float = 9.5) -> list:
    """A4 pages of wrapped plain text (as many as needed)."""
    from matplotlib.figure import Figure

    width = int(100 * 9.5 / size)
    lines: list[str] = []
    for p in paragraphs:
        lines += textwrap.wrap(p, width, subsequent_indent="  ") or [""]
        lines.append("")
    per_page = int(60 * 9.5 / size)
    pages = []
    for start in range(0, max(len(lines), 1), per_page):
        fig = Figure(figsize=A4)
        head = textwrap.wrap(heading, 55) or [""]
        fig.text(0.07, 0.955, "\n".join(head), fontsize=15, fontweight="bold", va="top")
        top = 0.92 - 0.025 * (len(head) - 1)
        fig.text(0.07, top, "\n".join(lines[start : start + per_page]), fontsize=size, va="top")
        pages.append(fig)
    return pages


def _image_page(f: ReportFigure):
    import io

    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    img = mpimg.imread(io.BytesIO(f.png), format="png")
    fig = Figure(figsize=A4)
    fig.text(0.07, 0.96, f.title, fontsize=13, fontweight="bold", va="top")
    h, w = img.shape[:2]
    width = 0.86
    height = min(width * h / w * A4[0] / A4[1], 0.8)
    ax = fig.add_axes((0.07, 0.93 - height, width, height))
    ax.imshow(img, interpolation="antialiased")
    ax.axis("off")
    fig.text(0.07, 0.91 - height, "\n".join(textwrap.wrap(f.caption, 110)), fontsize=8.5, va="top")
    return fig


def pdf_pages(cmp: Comparison, figures: list[ReportFigure], title: str = DEFAULT_TITLE) -> list:
    """The report's pages as matplotlib Figures (A4 portrait): summary, figures, tables, methods."""
    subject = _subject(cmp)
    intro = [
        f"Subject: {subject or 'not given'}. Sessions before: "
        f"{', '.join(i.name for i in cmp.pre)}; after: {', '.join(i.name for i in cmp.post)}."
    ]
    pages = _text_pages(
        f"{title} — what changed",
        [*intro, headline(cmp), *what_changed(cmp), "Data quality:"]
        + [f"- {w}" for w in cmp.warnings or ["no warnings"]],
    )
    pages += [_image_page(f) for f in figures]
    rows = []
    for _, r in cmp.table.iterrows():
        u, fv = r["unit"], format_value
        rows.append(
            f"{ACTIVITY_LABELS.get(r['activity'], r['activity'])}, {r['side']}, {r['label']}: "
            f"{fv(r['mean_pre'], u)} → {fv(r['mean_post'], u)} (n {r['n_pre']}/{r['n_post']}); "
            f"change {fv(r['diff'], u)} [{fv(r['ci_low'], u)}, {fv(r['ci_high'], u)}], "
            f"MDC95 {fv(r['mdc95'], u)}, g {fv(r['hedges_g'], '', 2)}, {r['test']} "
            f"p {r['p']:.3g} → {r['verdict']}"
        )
    pages += _text_pages("Every measure", rows, size=8)
    spm_rows = [
        f"{ACTIVITY_LABELS.get(r['activity'], r['activity'])}, {r['side']}, {r['variable'].replace('_', ' ')}: "
        + (
            f"differs at {r['start_pct']:.0f}-{r['end_pct']:.0f}% of stance, after {r['post_vs_pre']} "
            f"than before, p {r['p']:.3g}"
            if r["significant"]
            else (r["note"] or "no region differs")
        )
        for _, r in cmp.spm.iterrows()
    ]
    if spm_rows:
        pages += _text_pages("Curves (statistical parametric mapping)", spm_rows)
    methods = METHODS_TEXT.format(**_methods_fields(cmp)).split("\n\n")
    pages += _text_pages("How the numbers were computed", methods, size=8.5)
    return pages


def report_pdf(
    cmp: Comparison, figures: list[ReportFigure], path: Path, title: str = DEFAULT_TITLE
) -> None:
    """Write :func:`pdf_pages` into one PDF file."""
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        for page in pdf_pages(cmp, figures, title):
            pdf.savefig(page)
        info = pdf.infodict()
        info["Title"] = f"{title} {_subject(cmp)}".strip()
        info["Creator"] = "imu-gait"


def _subject(cmp: Comparison) -> str:
    return next(
        (str(i.meta.get("subject")) for i in (*cmp.pre, *cmp.post) if i.meta.get("subject")), ""
    )


def _methods_fields(cmp: Comparison) -> dict[str, int]:
    st = cmp.settings
    return {
        "n_tests": cmp.n_tests,
        "n_primary": cmp.n_primary_tests,
        "n_boot": st.n_boot,
        "seed": st.seed,
        "min_strides": st.min_strides,
        "min_reps": st.min_reps,
    }


# ---------------------------------------------------------------------------------------------- files


def write_report(
    cmp: Comparison, out_dir: Path, title: str = DEFAULT_TITLE, pdf: bool = True
) -> dict[str, Path]:
    """Write comparison.csv, spm.csv, symmetry.csv, figures/*.png, report.html (and report.pdf) into out_dir."""
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    paths = {
        "comparison": out_dir / "comparison.csv",
        "spm": out_dir / "spm.csv",
        "symmetry": out_dir / "symmetry.csv",
        "html": out_dir / "report.html",
    }
    cmp.table.to_csv(paths["comparison"], index=False)
    cmp.spm.to_csv(paths["spm"], index=False)
    cmp.symmetry.to_csv(paths["symmetry"], index=False)
    figures = render_figures(cmp)
    for f in figures:
        p = out_dir / "figures" / f"{f.key}.png"
        p.write_bytes(f.png)
        paths[f"figure_{f.key}"] = p
    paths["html"].write_text(report_html(cmp, figures, title), encoding="utf-8")
    if pdf:
        paths["pdf"] = out_dir / "report.pdf"
        report_pdf(cmp, figures, paths["pdf"], title)
    return paths
