"""Online analysis at real time: latency from a stride's end to its metrics, and CPU use (issue 8).

A simulated walk with 6 sensors (feet, shanks, thighs) at 200 Hz is replayed at real speed (``--speed 1``)
through the online analyzer, in the decoded-samples path (20 ms blocks). Printed per emitted stride:

- processing latency: wall time from the arrival of the sample that completed the stride (the analyzer's
  processing time) to the stride's metrics being available;
- end-IC latency: wall time from the stride's end (its end IC) to its metrics, which includes the event
  detector's look-ahead, for the first update carrying each part of a stride: timing + pronation + activity
  (``final=False`` as soon as the end IC's impact window has arrived), the provisional knee columns, the
  provisional stride length (once the foot has rested after the end IC), and the final row (with knee
  sensors ``KNEE_TAIL_S`` to ``KNEE_TAIL_S + KNEE_BATCH_S`` later); with how far the provisional knee columns
  and stride length / elevation change are from the final ones;
- CPU: process CPU time / wall time over the replay (1.0 = one core).

The same for the real walk (recordings/gaitmap_walk, feet only). Also prints the max-speed throughput and the
agreement with offline analysis.

Usage: .venv/bin/python benchmarks/bench_online.py [--strides N] [--speed S]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from imu_gait.pipeline.analysis import analyze
from imu_gait.replay import analyzer_for, replay
from imu_gait.session import load_session
from imu_gait.simulate import SimConfig, simulate

SIX = ("left_foot", "right_foot", "left_shank", "right_shank", "left_thigh", "right_thigh")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strides", type=int, default=30)
    ap.add_argument("--speed", type=float, default=1.0)
    args = ap.parse_args()
    session = simulate(
        SimConfig.walk(strides=args.strides, placements=SIX, rate_hz=200.0), seed=11
    ).session
    dur = max(d.t[-1] for d in session.data.values())
    print(
        f"session: {len(session.data)} sensors at 200 Hz, {dur:.1f} s, replay speed {args.speed:g}"
    )

    for knee in (True, False):
        label = "with knee columns" if knee else "foot only (--no-knee)"
        print(f"real time, {label}:")
        real_time(session, args.speed, dur, knee)

    # the real walk: its feet come to rest 0.21-0.39 s after contact, later than the simulated ones
    real = load_session(Path(__file__).resolve().parents[1] / "recordings" / "gaitmap_walk")
    dur_real = max(d.t[-1] for d in real.data.values())
    print(
        f"real time, the real walk (recordings/gaitmap_walk, 2 feet, {dur_real:.1f} s; its standing window "
        "comes after the walk: the session's calibration):"
    )
    real_time(real, args.speed, dur_real, knee=False, calibration="session")

    t0 = time.perf_counter()
    fast = analyzer_for(session)
    replay(session, fast, source="samples")
    t_fast = time.perf_counter() - t0
    print(
        f"max speed with knee: {dur:.1f} s of 6 sensors in {t_fast:.2f} s ({dur / t_fast:.0f}x real time)"
    )
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    knee_cols = ["knee_abduction_ic", "knee_abduction_peak", "knee_frontal_excursion"]
    off = analyze(session).strides
    on = fast.strides
    worst = {"abduction": 0.0, "flexion": 0.0}
    for side in ("left", "right"):
        a = off[off.side == side].sort_values("ic").reset_index(drop=True)
        b = on[on.side == side].sort_values("ic").reset_index(drop=True)
        if len(a) == len(b):
            worst["abduction"] = max(
                worst["abduction"], float(np.abs(a[knee_cols] - b[knee_cols]).max().max())
            )
            d = np.abs(a["knee_flexion_peak_stance"] - b["knee_flexion_peak_stance"]).max()
            worst["flexion"] = max(worst["flexion"], float(d))
    print(
        f"knee columns vs analyze ({', '.join(legs)}): abduction metrics within {worst['abduction']:.2f} deg, "
        f"peak stance flexion within {worst['flexion']:.2f} deg"
    )

    print()
    print(
        "agreement with `analyze` at max speed (largest per-stride |online - offline|, share of strides"
    )
    print(
        "within 5 ms, 1 cm, 0.5 deg); calibration live (first 20 s) or session (--calibration session):"
    )
    for name, cfg in SCENARIOS.items():
        sess = simulate(cfg(), seed=3).session
        off = analyze(sess).strides
        for mode in ("live", "session"):
            an = analyzer_for(sess, calibration=mode)
            replay(sess, an, source="samples")
            print(f"  {name:6s} {mode:8s} {agreement(off, an.strides)}")


def real_time(session, speed: float, dur: float, knee: bool, calibration: str = "live") -> None:
    start = {}

    def clock() -> float:
        now = time.monotonic()
        start.setdefault("wall", now)
        return now

    updates = []  # (wall time, data time, final, row)

    def on_update(u) -> None:
        updates.append((time.monotonic(), u.data_t, u.final, dict(u.row)))

    analyzer = analyzer_for(session, knee=knee, calibration=calibration)
    first_t = min(d.t[0] for d in session.data.values())
    cpu0, wall0 = time.process_time(), time.monotonic()
    replay(session, analyzer, source="samples", speed=speed, clock=clock, on_update=on_update)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    # the replay's wall clock maps session time s to start["wall"] + (s - first arrival) / speed
    first_arrival = first_t + 0.02
    # strides emitted while streaming (not at the end of the data), after the calibration period
    calibrated = first_t + (analyzer.warmup_s + 1.0 if calibration == "live" else 0.0)

    def wall_of(s: float) -> float:
        return start["wall"] + (s - first_arrival) / speed

    def dist(x: np.ndarray) -> str:
        if not x.size:
            return "none"
        return f"median {np.median(x):.3f} s, p95 {np.percentile(x, 95):.3f} s, max {x.max():.3f} s (n={x.size})"

    # per stride: the first update carrying each part, and the final row
    parts = {
        "timing + pronation + activity": "eversion_excursion",
        "knee valgus (provisional)": "knee_abduction_peak",
        "stride length / speed (prov.)": "stride_length",
    }
    first: dict[str, dict] = {p: {} for p in parts}
    final = {}
    for w, d, fin, row in updates:
        key = (row["side"], row["stride"])
        if d >= dur - 0.5 or row["end"] <= calibrated:
            continue
        for label, col in parts.items():
            v = row.get(col, float("nan"))
            if key not in first[label] and isinstance(v, float) and np.isfinite(v):
                first[label][key] = (w, row)
        if fin:
            final[key] = (w, row)
    print(
        f"  strides emitted: {sum(1 for u in updates if u[2])}, {len(final)} of them while streaming "
        "after the calibration period"
    )
    proc = np.array(
        [
            w - wall_of(d)
            for w, d, fin, row in updates
            if fin and (row["side"], row["stride"]) in final
        ]
    )
    print(
        f"  processing latency (completing sample -> final row; with knee sensors incl. the wait for its "
        f"5 s batch): {dist(proc)}"
    )
    print(
        "  end-IC latency (stride end -> first shown, incl. the detector's look-ahead) [target <= 0.3 s]:"
    )
    for label in parts:
        lat = np.array([w - wall_of(row["end"]) for w, row in first[label].values()])
        print(f"    {label:31s} {dist(lat)}")
    lat = np.array([w - wall_of(row["end"]) for w, row in final.values()])
    print(f"    {'final row (= analyze)':31s} {dist(lat)}")
    diffs = {
        c: [
            abs(r[c] - final[k][1][c])
            for k, (_, r) in first["knee valgus (provisional)"].items()
            if k in final
        ]
        for c in (
            "knee_abduction_ic",
            "knee_abduction_peak",
            "knee_frontal_excursion",
            "knee_flexion_peak_stance",
        )
    }
    spatial = {
        c: [
            abs(r[c] - final[k][1][c])
            for k, (_, r) in first["stride length / speed (prov.)"].items()
            if k in final
        ]
        for c in ("stride_length", "elevation_change")
    }
    if any(spatial.values()):
        print(
            "  provisional stride length / elevation vs the final row (median / p95 / max |difference|, cm): "
            + ", ".join(
                f"{c} {100 * np.median(v):.1f} / {100 * np.percentile(v, 95):.1f} / {100 * np.max(v):.1f}"
                for c, v in spatial.items()
                if v
            )
        )
    if any(diffs.values()):
        print(
            "  provisional knee columns vs the final row (median / max |difference|, deg): "
            + ", ".join(f"{c} {np.median(v):.2f} / {np.max(v):.2f}" for c, v in diffs.items() if v)
        )
    print(f"  CPU: {cpu:.2f} s over {wall:.1f} s wall = {cpu / wall:.2f} of one core")


SCENARIOS = {
    "walk": lambda: SimConfig.walk(strides=20, placements=SIX[:2]),
    "stairs": lambda: SimConfig.stairs(flights=1, placements=SIX[:2]),
    "run": lambda: SimConfig.run(strides=20, placements=SIX[:2]),
}


def agreement(off, on) -> str:
    out, within = [], []
    for side in ("left", "right"):
        a = off[off.side == side].sort_values("ic").reset_index(drop=True)
        b = on[on.side == side].sort_values("ic").reset_index(drop=True)
        if len(a) != len(b):
            return f"{side}: {len(a)} offline vs {len(b)} online strides"
        dt = np.abs(a[["ic", "fc", "end"]] - b[["ic", "fc", "end"]]).to_numpy().max(axis=1)
        dl = np.abs(
            a[["stride_length", "elevation_change"]] - b[["stride_length", "elevation_change"]]
        )
        dl = dl.to_numpy().max(axis=1)
        cols = ["eversion_ic", "eversion_peak", "eversion_excursion"]
        da = np.abs(a[cols] - b[cols]).to_numpy().max(axis=1)
        within.extend((dt <= 0.005) & (dl <= 0.01) & (da <= 0.5))
        out.append((len(a), dt.max(), dl.max(), da.max()))
    n = sum(o[0] for o in out)
    return (
        f"{n} strides, events {1e3 * max(o[1] for o in out):6.2f} ms, lengths {100 * max(o[2] for o in out):5.2f} cm, "
        f"eversion {max(o[3] for o in out):5.2f} deg, within {100 * np.mean(within):5.1f}%"
    )


if __name__ == "__main__":
    main()
