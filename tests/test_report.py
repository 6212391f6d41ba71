"""report.html (self-contained, escaped, plain-language summary), report.pdf and the figures, on real files."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from matplotlib import image as mpimg

from imu_gait.compare import compare
from imu_gait.compare.synthetic import bump, synthetic_analysis
from imu_gait.plots import compare as plots
from imu_gait.report import headline, what_changed, write_report

EVIL = 'P9 <script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def comparison():
    pre = synthetic_analysis(3, n_strides=35, name="pre <b>day</b>", subject=EVIL, squat_reps=6)
    pre.meta["notes"] = "knee pain <script>steal()</script>"
    pre.quality = {"sensors": {"left_shank": {"warnings": ["gap of 2.1 s <here>"]}}}
    post = synthetic_analysis(
        4,
        n_strides=35,
        name="post",
        condition="post",
        subject=EVIL,
        squat_reps=6,
        shift={"eversion_excursion": -3.0, "knee_abduction_peak": -3.0},
        curve_shift={"eversion": bump(40, 8, -3.0)},
    )
    return compare(pre, post)


@pytest.fixture(scope="module")
def written(comparison, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = write_report(comparison, out)
    return out, paths


def _decode_pngs(html: str) -> list[np.ndarray]:
    return [
        mpimg.imread(io.BytesIO(base64.b64decode(b)), format="png")
        for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    ]


def test_html_is_self_contained(written):
    _, paths = written
    html = paths["html"].read_text(encoding="utf-8")
    assert not re.search(r"https?://", html)
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert (
        len(srcs) == 6
    )  # summary + curves/strides/symmetry for walking + strides/symmetry for squats
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    images = _decode_pngs(html)
    assert len(images) == len(srcs)
    for img in images:
        assert img.shape[0] > 200 and img.shape[1] > 400
        assert img[..., :3].std() > 0.05  # not a blank canvas


def test_user_text_is_escaped(written):
    _, paths = written
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "knee pain &lt;script&gt;steal()&lt;/script&gt;" in html
    assert "pre &lt;b&gt;day&lt;/b&gt;" in html
    assert "gap of 2.1 s &lt;here&gt;" in html


def test_summary_on_top_units_and_methods(written, comparison):
    _, paths = written
    html = paths["html"].read_text(encoding="utf-8")
    i_summary, i_table, i_methods = (
        html.index(x) for x in ("What changed", "Primary outcomes", "How the numbers were computed")
    )
    assert i_summary < i_table < i_methods
    head = headline(comparison)
    assert "foot eversion excursion (pronation) improved (left and right)" in head
    assert "peak knee abduction (valgus) improved (left and right)" in head
    lines = what_changed(comparison)
    ev = next(line for line in lines if line.startswith("Foot eversion excursion"))
    assert ev.count("improved") == 2 and "°" in ev and "95% CI" in ev
    for needle in ("Pataky", "Hedges", "Holm", "MDC95", "°/s", "steps/min", "tests were made"):
        assert needle in html
    n_tests = comparison.n_tests
    assert f"In total {n_tests} tests were made" in html


def test_csv_outputs(written, comparison):
    import pandas as pd

    _, paths = written
    table = pd.read_csv(paths["comparison"])
    assert len(table) == len(comparison.table)
    assert {
        "diff",
        "ci_low",
        "ci_high",
        "mdc95",
        "hedges_g",
        "verdict",
        "unit",
        "p_holm_primary",
    } <= set(table.columns)
    spm = pd.read_csv(paths["spm"])
    assert spm[(spm.variable == "eversion") & spm.significant].shape[0] >= 2


def test_pdf_is_written_with_pages(written):
    _, paths = written
    data = paths["pdf"].read_bytes()
    assert data.startswith(b"%PDF-")
    n_pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert n_pages >= 10  # summary text + 8 figures + tables + methods


def test_figures_render(comparison, tmp_path):
    for name, fig in (
        ("curves", plots.curves_figure(comparison, "walk")),
        ("strides", plots.distributions_figure(comparison, "walk")),
        ("symmetry", plots.symmetry_figure(comparison, "walk")),
        ("summary", plots.summary_figure(comparison)),
    ):
        path = tmp_path / f"{name}.png"
        path.write_bytes(plots.png_bytes(fig))
        img = mpimg.imread(path)
        assert img.shape[1] > 700
        # real content: many distinct colours, both condition colours present
        rgb = (img[..., :3] * 255).astype(int)
        colours = {tuple(c) for c in rgb.reshape(-1, 3)[::7]}
        assert len(colours) > 50
        if name != "summary":
            assert _has_colour(rgb, plots.PRE) and _has_colour(rgb, plots.POST)
    # the patient summary uses the "improved" colour for the simulated change
    rgb = (mpimg.imread(tmp_path / "summary.png")[..., :3] * 255).astype(int)
    assert _has_colour(rgb, plots.GOOD)
    assert plots.curves_figure(comparison, "run") is None


def _has_colour(rgb: np.ndarray, hex_colour: str, tol: int = 12) -> bool:
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(rgb - target).max(axis=-1) <= tol).sum() > 50)
