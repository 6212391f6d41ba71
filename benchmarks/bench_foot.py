"""Foot pipeline benchmark: accuracy on the real gaitmap walk and on simulated sessions, and speed/memory.

Run: .venv/bin/python benchmarks/bench_foot.py [--quick] [--no-sim] [--no-hour] [--hour-sim]

Prints every accuracy figure of issue 5 (stride F1, IC/FC errors, stride length, elevation, activity, eversion
curve RMSE / excursion / peak velocity errors) and the speed figures (real walk in-process after warm-up; a
1-hour, 6-sensor, 200 Hz session with its peak memory).
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_strides_real import DATA, RATE, make_session, read_gaitmap_walk, stride_f1  # noqa: E402

from imu_gait.pipeline.analysis import analyze  # noqa: E402
from imu_gait.session import ImuData, SensorInfo, Session  # noqa: E402


def real_walk() -> None:
    print("== real walk (gaitmap example, 204.8 Hz, 2 x 20 m with a turn) ==")
    walk = read_gaitmap_walk()
    borders = pd.read_csv(DATA / "stride_borders_sample.csv")
    mocap = pd.read_csv(DATA / "stride_events_sample.csv")
    res = analyze(make_session(walk))
    for side in ("left", "right"):
        ev = res.extra["events"][f"{side}_foot"]
        st = res.extra["events"][f"{side}_foot_stances"]
        f1, tp, fp, fn = stride_f1(
            borders[borders["foot"] == side],
            ev["toe_off"].to_numpy() * RATE,
            st["ic"].to_numpy() * RATE,
        )
        s = res.strides[res.strides["side"] == side]
        ref = mocap[mocap["foot"] == side]
        ic, fc = s["ic"].to_numpy(), s["fc"].to_numpy()
        d_ic = np.array([ic[np.argmin(np.abs(ic - x / RATE))] - x / RATE for x in ref["ic"]]) * 1000
        d_fc = np.array([fc[np.argmin(np.abs(fc - x / RATE))] - x / RATE for x in ref["tc"]]) * 1000
        print(
            f"{side:5s} strides F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn}); "
            f"IC - mocap: mean {d_ic.mean():+.1f} ms, mean |err| {np.abs(d_ic).mean():.1f} ms, "
            f"median |err| {np.median(np.abs(d_ic)):.1f} ms, max {np.abs(d_ic).max():.1f} ms; "
            f"FC - mocap: mean {d_fc.mean():+.1f} ms, median |err| {np.median(np.abs(d_fc)):.1f} ms"
        )
        print(
            f"      stride length median {s['stride_length'].median():.3f} m, speed {s['speed'].median():.2f} m/s, "
            f"|elevation| max {np.abs(s['elevation_change']).max() * 100:.1f} cm, "
            f"eversion excursion {s['eversion_excursion'].median():.1f} +/- {s['eversion_excursion'].std():.1f} deg, "
            f"alignment confidence {res.quality['sensors'][f'{side}_foot']['alignment']['confidence']:.2f}"
        )
    # mounting independence
    worst = {"ic_ms": 0.0, "exc_deg": 0.0, "len_cm": 0.0, "n": 0}
    for seed in range(8):
        Q = Rotation.random(random_state=seed).as_matrix()
        if seed == 0:
            Q = Rotation.from_euler("x", 180, degrees=True).as_matrix()
        r = analyze(make_session(walk, {"left": Q, "right": Q.T}))
        if len(r.strides) != len(res.strides):
            worst["n"] += 1
            continue
        worst["ic_ms"] = max(
            worst["ic_ms"], np.abs(r.strides["ic"] - res.strides["ic"]).max() * 1000
        )
        worst["exc_deg"] = max(
            worst["exc_deg"],
            np.abs(r.strides["eversion_excursion"] - res.strides["eversion_excursion"]).max(),
        )
        worst["len_cm"] = max(
            worst["len_cm"],
            np.abs(r.strides["stride_length"] - res.strides["stride_length"]).max() * 100,
        )
    print(
        f"8 random mountings (one upside down): stride count changed in {worst['n']}; max change "
        f"IC {worst['ic_ms']:.2f} ms, eversion excursion {worst['exc_deg']:.3f} deg, "
        f"stride length {worst['len_cm']:.2f} cm"
    )
    sess = make_session(walk)
    analyze(sess)
    times, cpu = [], []
    for _ in range(9):
        t0, c0 = time.perf_counter(), time.process_time()
        analyze(sess)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"speed: analyze() of the 38.7 s two-foot walk after warm-up, 9 runs: wall median "
        f"{np.median(times) * 1000:.1f} ms, best {min(times) * 1000:.1f} ms (target < 100 ms); CPU time median "
        f"{np.median(cpu) * 1000:.1f} ms (less sensitive to other processes on the machine)"
    )


SIM_HOUR = """
from imu_gait.session import save_session
from imu_gait.simulate import Activity, SimConfig, simulate
cfg = SimConfig(
    [Activity("walk", strides={strides}, speed=1.3), Activity("stand", duration=2.0)],
    rate_hz=200.0,
    placements=("left_foot", "right_foot", "left_shank", "right_shank", "left_thigh", "right_thigh"),
)
save_session(simulate(cfg, seed=7).session, {path!r})
"""


def simulated_hour_session() -> Session:
    """One hour of simulated level walking (standing calibration first), 2 feet, 2 shanks, 2 thighs at 200 Hz:
    unlike the repeated real walk, the thigh and shank sensors carry leg motion, so the knee step does its
    real work (axis fits, calibration, angles of every stride). Simulated in a child process and loaded from a
    temporary folder, so that the simulator's memory does not count in this process's peak."""
    import subprocess
    import tempfile

    from imu_gait.session import load_session

    strides = int(3600 / (120 / 110))  # 110 steps/min
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "hour")
        subprocess.run(
            [sys.executable, "-c", SIM_HOUR.format(strides=strides, path=path)], check=True
        )
        return load_session(path)


def hour_session(simulated: bool = False) -> None:
    print(
        "== 1-hour, 6-sensor, 200 Hz session "
        + ("(simulated walking) ==" if simulated else "(the real walk repeated) ==")
    )
    if simulated:
        _analyze_hour(simulated_hour_session())
        return
    walk = read_gaitmap_walk()
    rate = 200.0
    n = int(3600 * rate)
    t = np.arange(n) / rate
    src_t = np.arange(next(iter(walk.values()))[0].shape[0]) / RATE
    data, sensors = {}, {}
    placements = [
        "left_foot",
        "right_foot",
        "left_shank",
        "right_shank",
        "left_thigh",
        "right_thigh",
    ]
    for i, placement in enumerate(placements):
        acc, gyr = walk["left" if placement.startswith("left") else "right"]
        # the real walk repeated (resampled to 200 Hz), each sensor in its own random mounting
        tt = np.mod(t + 3.0 * i, src_t[-1])
        a = np.column_stack([np.interp(tt, src_t, acc[:, k]) for k in range(3)])
        g = np.column_stack([np.interp(tt, src_t, gyr[:, k]) for k in range(3)])
        Q = Rotation.random(random_state=i).as_matrix()
        data[placement] = ImuData(t, a @ Q.T, g @ Q.T)
        sensors[placement] = SensorInfo(rate_hz=rate)
    sess = Session(data=data, sensors=sensors)
    del walk, data, a, g, tt
    _analyze_hour(sess)


def _analyze_hour(sess: Session) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps: list[tuple[str, float, float]] = []

    def progress(step: str, frac: float) -> None:
        steps.append((step, time.perf_counter(), time.process_time()))

    t0, c0 = time.perf_counter(), time.process_time()
    res = analyze(sess, progress=progress)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"analyze(): wall {dt:.1f} s (target < 30 s), CPU {cpu:.1f} s, {len(res.strides)} strides; peak RSS "
        f"{rss:.0f} MB (before the analysis {rss0:.0f} MB; target < 2048 MB)"
    )
    # CPU time per step, from the progress reports (each step lasts until the next report)
    marks = [*steps, ("end", t0 + dt, c0 + cpu)]
    parts: dict[str, float] = {}
    for (name, _, c_a), (_, _, c_b) in itertools.pairwise(marks):
        key = "foot" if name.endswith(("preparing", "pronation")) else name
        parts[key] = parts.get(key, 0.0) + c_b - c_a
    print("CPU time per step: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-hour", action="store_true", help="skip the 1-hour session")
    p.add_argument("--quick", action="store_true", help="fewer simulated sessions")
    p.add_argument("--no-sim", action="store_true", help="skip the simulated sessions")
    p.add_argument(
        "--hour-sim",
        action="store_true",
        help="1-hour session from the simulator (legs moving; slower to build) instead of the repeated real walk",
    )
    args = p.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min)"
    )
    real_walk()
    if not args.no_sim:
        from bench_foot_sim import simulated

        simulated(quick=args.quick)
    if not args.no_hour:
        hour_session(simulated=args.hour_sim)


if __name__ == "__main__":
    main()
