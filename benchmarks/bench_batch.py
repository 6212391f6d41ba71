"""Batch throughput: analyse N simulated 2-minute sessions (default 200: N/2 subjects, pre and post) with
`imu_gait.batch.run_batch` on a LocalCluster of 1 and of 2 worker processes; prints sessions/min and the speed-up,
checks that both runs give the same strides, and runs the cohort statistics on the result (the simulated
programme lowers every subject's eversion excursion by about 1.5 deg, so the change must be found).

    .venv/bin/python benchmarks/bench_batch.py [--sessions 200] [--workers 1 2] [--root DIR] [--placements feet]

``--root DIR`` keeps (and reuses) the generated sessions (in DIR/sessions-N); otherwise they go to a temporary folder. The machine's
load average is printed: on a shared machine the speed-up measures the cores actually free.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from imu_gait.batch import read_failures, read_strides, run_batch, source_digest
from imu_gait.cohort import CohortSettings, compare_cohort
from imu_gait.session import PLACEMENTS
from imu_gait.simulate import GaitParams, SimConfig, save, simulate

FEET = ("left_foot", "right_foot")
STRIDES_2_MIN = (
    100  # 5 s calibration + 100 strides per side at 1.3 m/s + 2 s standing = about 119 s
)
CHANGE = -1.5  # deg, simulated change of eversion excursion


def _subject_params(i: int) -> tuple[GaitParams, GaitParams]:
    rng = np.random.default_rng(10_000 + i)
    pre = GaitParams(
        eversion_excursion=float(rng.normal(6.5, 1.2)),
        knee_valgus_peak=float(rng.normal(4.0, 1.0)),
        angle_sd=1.5,
    )
    post = GaitParams(
        eversion_excursion=pre.eversion_excursion + CHANGE + float(rng.normal(0.0, 0.3)),
        knee_valgus_peak=pre.knee_valgus_peak,
        angle_sd=1.5,
    )
    return pre, post


def _make_session(args: tuple[Path, int, str, tuple[str, ...]]) -> str:
    root, i, condition, placements = args
    subject = f"b{i // 2 + 1:03d}"
    pre, post = _subject_params(i // 2)
    folder = root / subject / condition
    if (folder / "session.json").is_file():
        return str(folder)
    cfg = SimConfig.walk(
        strides=STRIDES_2_MIN,
        placements=placements,
        subject=subject,
        condition=condition,
        gait=pre if condition == "pre" else post,
    )
    save(simulate(cfg, seed=i), folder)
    return str(folder)


def generate(root: Path, n: int, placements: tuple[str, ...]) -> float:
    t0 = time.perf_counter()
    jobs = [(root, i, "pre" if i % 2 == 0 else "post", placements) for i in range(n)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_make_session, jobs, chunksize=4))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--root", type=Path, help="keep/reuse the generated sessions here")
    ap.add_argument("--placements", choices=["feet", "all"], default="feet")
    args = ap.parse_args()
    placements = FEET if args.placements == "feet" else PLACEMENTS
    n = args.sessions - args.sessions % 2
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.root or Path(tmp)) / f"sessions-{n}"
        t_gen = generate(root, n, placements)
        print(
            f"{n} simulated 2-minute sessions ({len(placements)} sensors, 100 Hz) ready in {t_gen:.0f} s; "
            f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
        )
        rates, tables, sources = {}, {}, {}
        for w in args.workers:
            out = Path(tmp) / f"out-{w}"
            load0 = os.getloadavg()[0]
            before = source_digest()
            report = run_batch(root, out, workers=w)
            sources[w] = {before, source_digest()}
            rate = report.analysed / report.seconds * 60.0
            rates[w] = rate
            recs = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
            task_s = np.mean([r["seconds"] for r in recs if r["status"] == "ok"])
            cpu_s = sum(r["cpu_seconds"] for r in recs)
            t_first = min(r["finished_at"] - r["seconds"] for r in recs)
            t_last = max(r["finished_at"] for r in recs)
            rss = [r["peak_rss_mb"] for r in recs if r.get("peak_rss_mb")]
            half = len(rss) // 2
            rss_txt = (
                f"worker peak memory {max(rss[:half]):.0f} MB after the first half of the tasks, "
                f"{max(rss):.0f} MB at the end"
                if half
                else ""
            )
            print(
                f"{w} worker(s): {report.analysed} analysed, {report.failed} failed, {report.strides} strides "
                f"in {report.seconds:.1f} s (incl. cluster start) = {rate:.1f} sessions/min; "
                f"mean task {task_s:.2f} s; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}"
            )
            print(
                f"  task CPU {cpu_s:.0f} s over {t_last - t_first:.0f} s from the first task's start to the "
                f"last task's end: {cpu_s / (t_last - t_first):.2f} cores busy with analysis"
            )
            if rss_txt:
                print(f"  {rss_txt}")
            failures = read_failures(out)
            if len(failures):
                print(failures.to_string(index=False))
            tables[w] = (
                read_strides(out).sort_values(["session", "side", "stride"]).reset_index(drop=True)
            )
        if len(rates) >= 2:
            lo, hi = min(rates), max(rates)
            print(f"speed-up {hi} vs {lo} worker(s): {rates[hi] / rates[lo]:.2f}x")
            a, b = tables[lo], tables[hi]
            same = len(a) == len(b) and np.array_equal(
                a["eversion_excursion"].to_numpy(),
                b["eversion_excursion"].to_numpy(),
                equal_nan=True,
            )
            note = ""
            if not same and len(sources[lo] | sources[hi]) > 1:
                note = " (the analysis sources changed during the runs: not comparable)"
            print(f"strides identical between {lo} and {hi} worker(s): {same}{note}")
        strides = tables[max(tables)]
        t0 = time.perf_counter()
        cmp = compare_cohort(strides, CohortSettings(metrics=("eversion_excursion",)))
        t_cmp = time.perf_counter() - t0
        for _, r in cmp.table[cmp.table["activity"] == "walk"].iterrows():
            print(
                f"cohort {r['side']:<5} eversion excursion: n={int(r['n_subjects'])}, change {r['diff']:+.2f} deg "
                f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}] (simulated about {CHANGE:+.1f}), mixed model "
                f"{r['lmm_estimate']:+.2f}, {int(r['n_beyond_mdc'])}/{int(r['n_subjects'])} beyond own MDC95; "
                f"{t_cmp:.1f} s"
            )


if __name__ == "__main__":
    main()
