"""Simulated sessions with a known change -> `imu-gait compare` on the session folders (analysed on the fly)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from imu_gait.simulate import GaitParams, SimConfig, save, simulate


def test_compare_session_folders_finds_the_simulated_change(tmp_path):
    truth = {}
    for cond, gait, seed in (
        ("pre", GaitParams(), 11),
        ("post", GaitParams(eversion_excursion=3.0, knee_valgus_peak=1.0), 12),
    ):
        r = simulate(
            SimConfig.walk(strides=25, subject="sim-e2e", condition=cond, gait=gait), seed=seed
        )
        save(r, tmp_path / cond)
        truth[cond] = r.strides.groupby("side")[
            ["eversion_excursion", "knee_abduction_peak"]
        ].mean()
    out = tmp_path / "out"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "imu_gait",
            "compare",
            "--pre",
            str(tmp_path / "pre"),
            "--post",
            str(tmp_path / "post"),
            "-o",
            str(out),
            "--no-pdf",
            "--n-boot",
            "500",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    t = pd.read_csv(out / "comparison.csv")
    true_diff = truth["post"] - truth["pre"]
    for side in ("left", "right"):
        for metric in ("eversion_excursion", "knee_abduction_peak"):
            r = t[(t.side == side) & (t.activity == "walk") & (t.metric == metric)].iloc[0]
            assert r.n_pre >= 20 and r.n_post >= 20
            assert r.verdict == "changed beyond the detectable change", (side, metric)
            assert r.direction == "improved"
            # pipeline + statistics end to end: the CI lands on the simulated change (1 deg slack for
            # the pipeline's own error)
            truth_d = true_diff.loc[side, metric]
            assert r.ci_low - 1.0 <= truth_d <= r.ci_high + 1.0, (
                side,
                metric,
                truth_d,
                r.ci_low,
                r.ci_high,
            )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "sim-e2e" in html and "What changed" in html
