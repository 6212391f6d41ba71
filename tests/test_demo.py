"""`imu-gait demo` end to end on the shipped recordings: every output, and the simulated change found."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
RECORDINGS = REPO / "recordings"
PRIMARY = ("eversion_excursion", "knee_abduction_peak", "pelvic_drop_peak")


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "demo", "-o", str(out), "--no-pdf"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "report:" in proc.stdout
    return out


def test_demo_writes_analyses_and_report(demo_out):
    for name in ("demo_pre", "demo_post"):
        for f in ("strides.csv", "curves.csv", "summary.csv", "quality.json", "squats.csv"):
            assert (demo_out / name / f).is_file(), f"{name}/{f}"
    html = (demo_out / "report.html").read_text(encoding="utf-8")
    assert html.count("<img") >= 4 and "data:image/png;base64," in html
    # the session metadata travels through the analysis folders into the report
    subject = json.loads((RECORDINGS / "demo_pre" / "session.json").read_text())["subject"]
    assert f"Subject <strong>{subject}</strong>" in html or subject in html.split("Sessions")[1]
    table = pd.read_csv(demo_out / "comparison.csv")
    assert {"walk", "stairs_up", "stairs_down", "run", "squat"} <= set(table["activity"])


def _truth_diff(metric: str, side: str, activity: str) -> float:
    means = []
    for cond in ("pre", "post"):
        t = pd.read_csv(RECORDINGS / f"demo_{cond}" / "truth.csv")
        means.append(t[(t["side"] == side) & (t["activity"] == activity)][metric].mean())
    return means[1] - means[0]


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("metric", PRIMARY)
def test_demo_finds_the_simulated_walking_change(demo_out, metric, side):
    table = pd.read_csv(demo_out / "comparison.csv")
    row = table[
        (table["side"] == side) & (table["activity"] == "walk") & (table["metric"] == metric)
    ]
    assert len(row) == 1
    r = row.iloc[0]
    truth = _truth_diff(metric, side, "walk")
    assert truth < -1.0  # the recordings really simulate an improvement
    assert r["ci_high"] < 0, "the improvement is not found"
    # the CI covers the true change, allowing 1 deg of measurement bias between the two sessions
    assert r["ci_low"] - 1.0 <= truth <= r["ci_high"] + 1.0
