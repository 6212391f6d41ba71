"""`imu-gait compare` as a subprocess on analysis folders written to disk."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from imu_gait.compare.synthetic import bump, synthetic_analysis, write_analysis_folder


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", "compare", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compare_cli_writes_all_outputs(tmp_path):
    for i, name in enumerate(("pre1", "pre2")):
        write_analysis_folder(synthetic_analysis(10 + i, n_strides=25, name=name), tmp_path / name)
    post = synthetic_analysis(
        20,
        n_strides=25,
        name="post",
        condition="post",
        shift={"knee_abduction_peak": -3.0},
        curve_shift={"knee_abduction": bump(25, 8, -3.0)},
    )
    write_analysis_folder(post, tmp_path / "post")
    out = tmp_path / "out"
    r = _run(
        "--pre",
        str(tmp_path / "pre1"),
        str(tmp_path / "pre2"),
        "--post",
        str(tmp_path / "post"),
        "-o",
        str(out),
        "--n-boot",
        "500",
        "--between-session-sd",
        "pelvic_drop_peak=0.8",
    )
    assert r.returncode == 0, r.stderr
    assert "report:" in r.stdout and "Peak knee abduction (valgus)" in r.stdout
    for f in (
        "comparison.csv",
        "spm.csv",
        "symmetry.csv",
        "report.html",
        "report.pdf",
        "figures/summary.png",
        "figures/curves_walk.png",
    ):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    t = pd.read_csv(out / "comparison.csv")
    row = t[(t.side == "left") & (t.metric == "knee_abduction_peak")].iloc[0]
    assert (row.sessions_pre, row.sessions_post, row.n_pre, row.n_post) == (2, 1, 50, 25)
    assert row.ci_low < -3.0 < row.ci_high
    assert row.sd_between_source == "estimated from sessions"
    spm = pd.read_csv(out / "spm.csv")
    knee = spm[(spm.variable == "knee_abduction") & spm.significant]
    assert len(knee) >= 1 and (knee.start_pct < 25).all() and (knee.end_pct > 25).all()


def test_compare_cli_errors_are_one_line(tmp_path):
    write_analysis_folder(synthetic_analysis(1, n_strides=12), tmp_path / "a")
    r = _run(
        "--pre", str(tmp_path / "a"), "--post", str(tmp_path / "missing"), "-o", str(tmp_path / "o")
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "missing: no such folder" in r.stderr
    r = _run(
        "--pre",
        str(tmp_path / "a"),
        "--post",
        str(tmp_path / "a"),
        "-o",
        str(tmp_path / "o"),
        "--between-session-sd",
        "eversion_peak",
    )
    assert r.returncode == 2 and "METRIC=SD" in r.stderr
    r = _run(
        "--pre",
        str(tmp_path / "a"),
        "--post",
        str(tmp_path / "a"),
        "-o",
        str(tmp_path / "o"),
        "--between-session-sd",
        "eversion=1",
    )
    assert r.returncode == 2 and "unknown metric 'eversion'" in r.stderr
