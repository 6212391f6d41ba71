"""The shipped simulated sessions recordings/demo_pre and demo_post: complete, reproducible, and showing the
documented pre/post change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from imu_gait.session import PLACEMENTS, load_session

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def load_make_demo():
    spec = importlib.util.spec_from_file_location("make_demo", RECORDINGS / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("condition", ["pre", "post"])
def test_demo_sessions_are_complete(condition):
    path = RECORDINGS / f"demo_{condition}"
    s = load_session(path)
    assert s.subject == "demo-01" and s.condition == condition
    assert s.placements == list(PLACEMENTS)
    assert all(s.sensors[p].rate_hz == 100.0 for p in PLACEMENTS)
    a, b = s.calibration["static"]
    assert 3.5 <= b - a <= 6.0
    labels = [e["label"] for e in s.events]
    for label in ("walk", "stairs_up", "stairs_down", "run", "squat", "step_down"):
        assert label in labels
    truth = pd.read_csv(path / "truth.csv")
    per = truth.groupby(["activity", "side"]).size()
    assert (per["walk"] >= 40).all() and (per["run"] >= 28).all()
    assert (per["stairs_up"] >= 6).all() and (per["stairs_down"] >= 6).all()
    squats = pd.read_csv(path / "truth_squats.csv")
    per_task = squats.groupby(["task", "side"]).size()
    assert (per_task["squat"] == 5).all() and (per_task["step_down"] == 3).all()
    curves = pd.read_csv(path / "truth_curves.csv")
    assert len(curves) == 101 * 3 * len(truth)


def test_demo_shows_a_plausible_strengthening_effect():
    pre = pd.read_csv(RECORDINGS / "demo_pre" / "truth.csv")
    post = pd.read_csv(RECORDINGS / "demo_post" / "truth.csv")
    pre, post = pre[pre.activity == "walk"], post[post.activity == "walk"]
    for column, lo, hi in (
        ("eversion_excursion", 2.0, 4.0),
        ("knee_abduction_peak", 2.0, 4.0),
        ("pelvic_drop_peak", 1.0, 3.0),
    ):
        change = pre[column].mean() - post[column].mean()
        assert lo < change < hi, column
        # realistic stride-to-stride variability: a single stride does not tell pre from post
        assert 1.2 < post[column].std() < 3.0 and pre[column].min() < post[column].max()
    for column in ("stride_time", "speed"):
        assert abs(pre[column].mean() - post[column].mean()) < 0.05 * pre[column].mean()


def test_demo_is_reproducible_and_small(tmp_path):
    make_demo = load_make_demo()
    from imu_gait.simulate import save, simulate

    out = save(
        simulate(make_demo.config("post"), seed=make_demo.SEEDS["post"]), tmp_path / "demo_post"
    )
    shipped = RECORDINGS / "demo_post"
    for name in (
        "truth.csv",
        "truth_events.csv",
        "session.json",
        "left_foot.parquet",
        "pelvis.parquet",
    ):
        assert (out / name).read_bytes() == (shipped / name).read_bytes(), name
    size = sum(f.stat().st_size for f in RECORDINGS.rglob("*") if f.is_file())
    assert size < 25e6
