"""`imu-gait batch` on a real dask.distributed LocalCluster (worker processes) over simulated sessions, including
corrupted ones: every good session analysed exactly as `imu-gait analyze` does alone, the bad ones reported,
reruns skip unchanged sessions and redo changed ones, an existing scheduler is used as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imu_gait.batch import read_failures, read_squats, read_strides, read_summaries
from imu_gait.simulate import SimConfig, save, simulate

FEET = ("left_foot", "right_foot")
GOOD = [("p01", "pre", 1), ("p01", "post", 2), ("p02", "pre", 3), ("p02", "post", 4)]
KNEES = ("left_shank", "right_shank", "left_thigh", "right_thigh")


def _sim(subject: str, condition: str, seed: int, strides: int = 12):
    cfg = SimConfig.walk(
        strides=strides, placements=FEET, rate_hz=100.0, subject=subject, condition=condition
    )
    return simulate(cfg, seed=seed)


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def cohort_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sessions")
    for subject, condition, seed in GOOD:
        save(_sim(subject, condition, seed), root / subject / condition)
    # single-leg squats (thigh and shank sensors): repetitions, no strides
    squats = SimConfig.squats(reps=3, placements=KNEES, subject="p05", condition="pre")
    save(simulate(squats, seed=8), root / "p05" / "pre")
    # a truncated samples file
    save(_sim("p03", "pre", 5), root / "p03" / "pre")
    f = root / "p03" / "pre" / "right_foot.parquet"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    # a session.json that is not JSON
    save(_sim("p03", "post", 6), root / "p03" / "post")
    meta = root / "p03" / "post" / "session.json"
    meta.write_text(meta.read_text()[:40])
    # the hidden leftover of an interrupted save is not a session
    save(_sim("p04", "pre", 7), root / "p04" / ".pre.1234abcd.partial")
    return root


@pytest.fixture(scope="module")
def first_run(cohort_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imu_gait",
            "batch",
            str(cohort_root),
            "-o",
            str(out),
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=240)
    return out, proc.pid, proc.returncode, stdout, stderr


def _manifest(out: Path) -> dict[str, dict]:
    recs = {}
    for line in (out / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        recs[rec["session"]] = rec
    return recs


def test_batch_analyses_good_sessions_like_analyze_and_reports_bad_ones(
    cohort_root, first_run, tmp_path
):
    out, pid, rc, stdout, stderr = first_run
    assert rc == 1, stderr  # some sessions failed: non-zero, but every session was handled
    assert "7 sessions: 5 analysed" in stdout and "2 failed" in stdout
    assert "failures.csv" in stderr
    # the progress bar's counts
    assert "5 done" in stderr and "2 failed" in stderr and "0 remaining" in stderr

    failures = read_failures(out).set_index("session")
    assert sorted(failures.index) == ["p03/post", "p03/pre"]
    assert failures.loc["p03/pre", "error_type"] == "FormatError"
    assert "right_foot.parquet" in failures.loc["p03/pre", "message"]
    assert failures.loc["p03/pre", "where"].startswith("imu_gait/session.py:")
    assert failures.loc["p03/post", "error_type"] == "SessionError"
    assert "not valid JSON" in failures.loc["p03/post", "message"]

    # tasks ran in worker processes, not in the command's own process
    workers = {r["worker"] for r in _manifest(out).values()}
    assert workers and all(not w.endswith(f":{pid}") for w in workers)

    strides = read_strides(out)
    summaries = read_summaries(out)
    assert sorted(strides["session"].unique()) == sorted(f"{s}/{c}" for s, c, _ in GOOD)
    assert (out / "strides" / "subject=p01" / "condition=pre").is_dir()
    # each session alone through `imu-gait analyze` (started together: they are independent processes)
    procs = {
        f"{s}/{c}": subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imu_gait",
                "analyze",
                str(cohort_root / s / c),
                "-o",
                str(tmp_path / s / c),
                "--no-figures",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s, c in [(s, c) for s, c, _ in GOOD] + [("p05", "pre")]
    }
    for session, proc in procs.items():
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, (session, err)
    for subject, condition, _ in GOOD:
        session = f"{subject}/{condition}"
        ref_dir = tmp_path / subject / condition
        ref = pd.read_csv(ref_dir / "strides.csv")
        got = strides[strides["session"] == session]
        assert set(got["subject"]) == {subject} and set(got["condition"]) == {condition}
        assert len(ref) >= 20 and len(got) == len(ref)
        got = got.sort_values(["side", "stride"]).reset_index(drop=True)
        ref = ref.sort_values(["side", "stride"]).reset_index(drop=True)
        _assert_same_table(got[list(ref.columns)], ref)
        ref_sum = pd.read_csv(ref_dir / "summary.csv")
        got_sum = summaries[summaries["session"] == session].sort_values(["side", "activity"])
        _assert_same_table(got_sum.reset_index(drop=True)[list(ref_sum.columns)], ref_sum)
    ref = pd.read_csv(tmp_path / "p05" / "pre" / "squats.csv")
    got = read_squats(out)
    assert set(got["session"]) == {"p05/pre"} and len(ref) == 6  # 3 per side
    got = got.sort_values(["side", "task", "rep"]).reset_index(drop=True)
    _assert_same_table(
        got[list(ref.columns)], ref.sort_values(["side", "task", "rep"]).reset_index(drop=True)
    )


def _assert_same_table(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Equal up to the 6 significant digits strides.csv is written with (relative error <= 5e-6)."""
    for c in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[c]):
            np.testing.assert_allclose(
                got[c].to_numpy(float), ref[c].to_numpy(float), rtol=6e-6, atol=1e-9, err_msg=c
            )
        else:
            assert (
                got[c].fillna("").astype(str).tolist() == ref[c].fillna("").astype(str).tolist()
            ), c


def test_rerun_skips_unchanged_and_redoes_changed_sessions(cohort_root, first_run, tmp_path):
    out, *_ = first_run
    before = read_strides(out)
    proc = _cli("batch", str(cohort_root), "-o", str(out), "--workers", "2")
    assert proc.returncode == 0, (
        proc.stderr
    )  # nothing failed in this run: the bad ones were skipped
    assert "0 analysed" in proc.stdout and "7 unchanged" in proc.stdout
    assert "2 of them failed before" in proc.stdout
    assert len(read_failures(out)) == 2  # still listed

    # change one session (a longer walk) and run on an existing cluster, which must stay as it was
    save(_sim("p01", "pre", 11, strides=16), cohort_root / "p01" / "pre", overwrite=True)
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        proc = _cli(
            "batch", str(cohort_root), "-o", str(out), "--scheduler", cluster.scheduler_address
        )
        assert proc.returncode == 0, proc.stderr
        assert len(client.scheduler_info()["workers"]) == 1
    assert "1 analysed" in proc.stdout and "6 unchanged" in proc.stdout

    after = read_strides(out)
    redone = after[after["session"] == "p01/pre"]
    old = before[before["session"] == "p01/pre"]
    assert len(redone) > len(old)  # 16 strides per side now, not 12 (no duplicates of the old rows)
    assert redone.groupby("side").size().max() <= 16
    others = after[after["session"] != "p01/pre"].sort_values(["session", "side", "stride"])
    kept = before[before["session"] != "p01/pre"].sort_values(["session", "side", "stride"])
    assert len(others) == len(kept)
    np.testing.assert_array_equal(
        others["eversion_peak"].to_numpy(), kept["eversion_peak"].to_numpy()
    )


def test_scheduler_and_workers_together_is_a_usage_error(cohort_root, tmp_path):
    proc = _cli(
        "batch",
        str(cohort_root),
        "-o",
        str(tmp_path / "o"),
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--workers",
        "2",
    )
    assert proc.returncode == 2
    assert "--workers" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_store_partitions_odd_labels_and_replaces_a_session_that_moved(tmp_path):
    """Partition values are percent-encoded (any pseudonym works); a missing condition is the Hive null; a session
    whose subject changed leaves no rows behind in its old partition."""
    from imu_gait.batch import ResultStore, SessionResult

    table = pd.DataFrame(
        {
            "session": "x",
            "side": "left",
            "stride": [0, 1],
            "activity": "walk",
            "speed": [1.1, 1.2],
            "knee_abduction_peak": [np.nan, np.nan],
            "surface": ["grass", None],  # a text column the store does not know
            "quality": "ok",
        }
    )
    store = ResultStore(tmp_path / "out")
    store.write(SessionResult("x", "k1", "ok", "ä b/c", None, table, table.head(0)))
    got = read_strides(store.out)
    assert got["subject"].tolist() == ["ä b/c"] * 2 and got["condition"].isna().all()
    assert got["speed"].tolist() == [1.1, 1.2]
    assert got["knee_abduction_peak"].isna().all() and got["surface"].tolist()[0] == "grass"
    store.write(SessionResult("x", "k2", "ok", "p9", "post", table.assign(speed=[2.0, 2.0]), None))
    got = read_strides(ResultStore(store.out).out)
    assert got["subject"].tolist() == ["p9", "p9"] and got["speed"].tolist() == [2.0, 2.0]
    assert ResultStore(store.out).records["x"]["key"] == "k2"  # the manifest's last line wins


def test_cohort_comparison_reads_the_batch_output(first_run, tmp_path):
    """`compare --cohort` on a real batch output: two subjects pair up, too few for group statistics."""
    out, *_ = first_run
    proc = _cli("compare", "--cohort", str(out), "-o", str(tmp_path / "c"), "--no-figures")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "c" / "cohort_comparison.csv")
    walk = table[(table["activity"] == "walk") & (table["metric"] == "eversion_excursion")]
    assert sorted(walk["side"]) == ["left", "right"] and (walk["n_subjects"] == 2).all()
    assert set(walk["verdict"]) == {"too few subjects"}
    subjects = pd.read_csv(tmp_path / "c" / "cohort_subjects.csv")
    assert set(subjects["subject"]) == {"p01", "p02"}


def test_unreachable_scheduler_is_a_one_line_error(cohort_root, tmp_path):
    proc = _cli(
        "batch",
        str(cohort_root),
        "-o",
        str(tmp_path / "o"),
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--connect-timeout",
        "1",
    )
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.strip().splitlines() if "error" in x]
    assert len(lines) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in lines[0]
