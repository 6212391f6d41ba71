"""Knee / pelvis accuracy against simulated truth and runtime of the knee analysis.

Prints, per activity, rate and side: knee flexion and abduction RMSE over the gait cycle, per-stride peak valgus
error, pelvic drop error and the flexion/abduction crosstalk; squat repetition errors; mounting independence; and
the runtime of analyze_knee per hour of data. Sessions: imu_gait.simulate with random mountings and the default
sensor noise, without and with a soft-tissue-like wobble of every thigh/shank/pelvis sensor (0.5 and 1 deg RMS
per axis while moving, 0.5-8 Hz; tests/knee_synth.soft_tissue).

With --sim-sta, only the accuracy table, with the simulator's own soft-tissue artefact instead of the wobble
(SimConfig(soft_tissue="none"/"typical"/"strong"); see imu_gait/simulate/soft_tissue.py).

With --reuse, only the comparison of a short task session's own knee calibration with a walking session's.

With --online, only the online analyzer's knee: analyze_knee per window with a given calibration (the windows
imu_gait.pipeline.online cuts: provisional from 3 s before a stride's IC to the newest sample, final spanning 20 s
before to 10 s after the strides) and the agreement of `imu-gait replay` (session calibration) with `analyze` on
simulated walk / stairs / run with 7 sensors. --runtime prints the per-window cost too.

With --tasks, only the detection of unmarked squat / step-down bouts (marks removed vs marked, false bouts in gait).

Run: .venv/bin/python benchmarks/bench_knee.py [--quick] [--runtime] [--sim-sta] [--reuse] [--online] [--tasks]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from knee_synth import rotate_sensors, soft_tissue

from imu_gait.pipeline.knee import analyze_knee
from imu_gait.pipeline.knee_eval import knee_errors, squat_errors
from imu_gait.simulate import Activity, SensorNoise, SimConfig, simulate

STA_DEG = 0.5  # soft-tissue wobble, deg RMS per axis while moving
KNEE = ["left_thigh", "left_shank", "right_thigh", "right_shank", "pelvis"]


def configs(quick: bool) -> list[tuple[str, SimConfig]]:
    out = []
    for rate in (100.0, 200.0):
        out += [
            ("walk", SimConfig.walk(strides=20, rate_hz=rate, placements=tuple(KNEE))),
            ("stairs", SimConfig.stairs(flights=1, rate_hz=rate, placements=tuple(KNEE))),
            ("run", SimConfig.run(strides=20, rate_hz=rate, placements=tuple(KNEE))),
        ]
        if quick:
            break
    return out


def truth_strides(result):
    return result.strides[["side", "stride", "activity", "ic", "fc", "end"]]


def accuracy(quick: bool) -> None:
    print(
        "activity  rate  STA side  strides  flex_rmse  abd_rmse  valgus_mae  valgus_max  drop_mae  drop_max"
        "  r_FE_AA"
    )
    seeds = (1,) if quick else (1, 2)
    levels = (0.0, STA_DEG) if quick else (0.0, STA_DEG, 1.0)
    worst: dict[float, dict[str, float]] = {}
    for name, cfg in configs(quick):
        for seed in seeds:
            sim = simulate(cfg, seed=seed)
            for sta in levels:
                session = soft_tissue(sim.session, sta, seed=seed) if sta else sim.session
                res = analyze_knee(session, truth_strides(sim))
                for side, e in knee_errors(sim, res).items():
                    w = worst.setdefault(sta, {})
                    for k in (
                        "flexion_rmse",
                        "abduction_rmse",
                        "valgus_peak_max",
                        "pelvic_drop_max",
                    ):
                        w[k] = max(w.get(k, 0.0), e[k])
                    print(
                        f"{name:9s} {cfg.rate_hz:4.0f} {sta:4.1f} {side:5s} {e['strides']:7d}"
                        f" {e['flexion_rmse']:10.2f} {e['abduction_rmse']:9.2f} {e['valgus_peak_mae']:11.2f}"
                        f" {e['valgus_peak_max']:11.2f} {e['pelvic_drop_mae']:9.2f}"
                        f" {e['pelvic_drop_max']:9.2f} {e['crosstalk_r']:8.2f}"
                    )
    print("\nworst case over activities, rates, sides and seeds (targets: 2, 2, 1.5, 1 deg)")
    for sta, w in worst.items():
        print(
            f"  wobble {sta:.1f} deg: flexion RMSE {w['flexion_rmse']:.2f}, abduction RMSE"
            f" {w['abduction_rmse']:.2f}, peak valgus error {w['valgus_peak_max']:.2f}, pelvic drop error"
            f" {w['pelvic_drop_max']:.2f}"
        )


def accuracy_sim_sta(quick: bool) -> None:
    """The accuracy table with the simulator's soft-tissue artefact (none, typical, strong)."""
    print(
        "activity  rate  STA      side  strides  flex_rmse  abd_rmse  valgus_mae  valgus_max  drop_mae"
        "  drop_max  r_FE_AA"
    )
    worst: dict[str, dict[str, float]] = {}
    for name, cfg in configs(quick):
        for seed in (1,) if quick else (1, 2):
            for sta in ("none", "typical", "strong"):
                sim = simulate(cfg.with_(soft_tissue=sta), seed=seed)
                res = analyze_knee(sim.session, truth_strides(sim))
                for side, e in knee_errors(sim, res).items():
                    w = worst.setdefault(sta, {})
                    for k in (
                        "flexion_rmse",
                        "abduction_rmse",
                        "valgus_peak_max",
                        "pelvic_drop_max",
                    ):
                        w[k] = max(w.get(k, 0.0), e[k])
                    print(
                        f"{name:9s} {cfg.rate_hz:4.0f} {sta:8s} {side:5s} {e['strides']:7d}"
                        f" {e['flexion_rmse']:10.2f} {e['abduction_rmse']:9.2f} {e['valgus_peak_mae']:11.2f}"
                        f" {e['valgus_peak_max']:11.2f} {e['pelvic_drop_mae']:9.2f}"
                        f" {e['pelvic_drop_max']:9.2f} {e['crosstalk_r']:8.2f}"
                    )
    print("\nworst case over activities, rates, sides and seeds (targets: 2, 2, 1.5, 1 deg)")
    for sta, w in worst.items():
        print(
            f"  simulator STA {sta:8s}: flexion RMSE {w['flexion_rmse']:.2f}, abduction RMSE"
            f" {w['abduction_rmse']:.2f}, peak valgus error {w['valgus_peak_max']:.2f}, pelvic drop error"
            f" {w['pelvic_drop_max']:.2f}"
        )


def squats() -> None:
    print(
        "\nsingle-leg squats and step-downs after 12 walking strides (errors of each repetition, deg)"
    )
    cfg = SimConfig(
        [
            Activity("walk", strides=12),
            Activity("stand", duration=2.0),
            Activity("squat", side="left", reps=4),
            Activity("stand", duration=2.0),
            Activity("squat", side="right", reps=4),
            Activity("stand", duration=2.0),
            Activity("step_down", side="left", reps=4),
            Activity("stand", duration=2.0),
            Activity("step_down", side="right", reps=4),
            Activity("stand", duration=2.0),
        ],
        rate_hz=100.0,
        placements=tuple(KNEE),
    )
    sim = simulate(cfg, seed=3)
    res = analyze_knee(soft_tissue(sim.session, STA_DEG, seed=3), truth_strides(sim))
    err = squat_errors(sim, res)
    print(err.to_string(index=False, float_format=lambda v: f"{v:6.2f}"))
    print(
        f"reps found {len(res.squats)} of {len(sim.squats)}; |flexion peak error| max "
        f"{err['flexion_peak_err'].abs().max():.2f}, |abduction peak error| max {err['abduction_peak_err'].abs().max():.2f}"
    )


def squats_only() -> None:
    print(
        "\nsingle-leg squats without walking in the session (knee axis from the squats themselves)"
    )
    sim = simulate(SimConfig.squats(reps=4, rate_hz=100.0, placements=tuple(KNEE[:4])), seed=3)
    res = analyze_knee(soft_tissue(sim.session, STA_DEG, seed=3), None)
    err = squat_errors(sim, res)
    print(
        f"reps found {len(res.squats)} of {len(sim.squats)}; abduction peak error mean "
        f"{err['abduction_peak_err'].mean():+.2f}, max |.| {err['abduction_peak_err'].abs().max():.2f}; "
        f"|flexion peak error| max {err['flexion_peak_err'].abs().max():.2f}"
    )


def reused_calibration(seeds: tuple[int, ...] = (1, 2, 3, 4)) -> None:
    """One strapping (simulator's typical soft-tissue artefact): standing, 12 walking strides, standing, then a
    short task; cut into a walking session and a task session. The task analysed with its own knee calibration
    and with the walking session's (``analyze --knee-calibration``)."""
    print(
        "\nshort task sessions: own knee calibration vs the walking session's (same strapping, 100 Hz, typical"
        " STA)"
    )
    tasks = {
        "3+3 single-leg squats": [
            Activity("squat", side="left", reps=3),
            Activity("stand", duration=2.0),
            Activity("squat", side="right", reps=3),
            Activity("stand", duration=2.0),
        ],
        "5 stairs up": [Activity("stairs_up", steps=5), Activity("stand", duration=2.0)],
    }
    for name, task in tasks.items():
        own_err, reused_err = [], []
        for seed in seeds:
            cfg = SimConfig(
                [Activity("walk", strides=12), Activity("stand", duration=3.0), *task],
                rate_hz=100.0,
                placements=tuple(KNEE[:4]),
                soft_tissue="typical",
            )
            sim = simulate(cfg, seed=seed)
            walk_end = sim.session.events[1]["t_end"]
            a = sim.session.slice_time(0.0, walk_end + 1.5, sim.session.calibration["static"])
            b = sim.session.slice_time(
                walk_end + 0.1, sim.plan.t_end, (walk_end + 0.5, walk_end + 2.9)
            )
            strides_a = truth_strides(sim)[sim.strides["ic"] < walk_end]
            strides_b = truth_strides(sim)[sim.strides["ic"] > walk_end]
            cal = analyze_knee(a, strides_a).calibration
            for out, given in ((own_err, None), (reused_err, cal)):
                res = analyze_knee(b, strides_b if len(strides_b) else None, calibration=given)
                if len(sim.squats):
                    out.extend(squat_errors(sim, res)["abduction_peak_err"].abs())
                else:
                    out.extend(e["valgus_peak_max"] for e in knee_errors(sim, res).values())
        own, reused = np.array(own_err), np.array(reused_err)
        what = "repetition" if "squat" in name else "side (max over strides)"
        print(
            f"  {name}: |peak valgus error| per {what}, {len(seeds)} seeds: own calibration mean"
            f" {own.mean():.2f} max {own.max():.2f}; walking session's mean {reused.mean():.2f} max"
            f" {reused.max():.2f} deg"
        )


def lost_samples() -> None:
    print("\nwalking with lost BLE samples (bursts of 1-6), 100 Hz, no wobble")
    for drop in (0.01, 0.02, 0.05):
        cfg = SimConfig.walk(
            strides=20, rate_hz=100.0, placements=tuple(KNEE), noise=SensorNoise(drop_rate=drop)
        )
        for seed in (1, 2):
            sim = simulate(cfg, seed=seed)
            res = analyze_knee(sim.session, truth_strides(sim))
            for side, e in knee_errors(sim, res).items():
                print(
                    f"  loss {drop:4.0%} seed {seed} {side:5s}: flexion RMSE {e['flexion_rmse']:.2f}, abduction"
                    f" RMSE {e['abduction_rmse']:.2f}, peak valgus error max {e['valgus_peak_max']:.2f},"
                    f" pelvic drop error max {e['pelvic_drop_max']:.2f}"
                )


def mounting_independence() -> None:
    sim = simulate(SimConfig.walk(strides=16, placements=tuple(KNEE)), seed=4)
    rot = {p: Rotation.random(random_state=i).as_matrix() for i, p in enumerate(KNEE)}
    a = analyze_knee(sim.session, truth_strides(sim)).stride_columns
    b = analyze_knee(rotate_sensors(sim.session, rot), truth_strides(sim)).stride_columns
    cols = [
        "knee_abduction_ic",
        "knee_abduction_peak",
        "knee_flexion_peak_stance",
        "pelvic_drop_peak",
    ]
    diff = np.abs(a[cols].to_numpy() - b[cols].to_numpy())
    print(
        f"\nmounting independence (raw data re-rotated): max |difference| of stride columns {np.nanmax(diff):.3f} deg"
    )


def runtime(runs: int = 3) -> None:
    sim = simulate(SimConfig.walk(strides=300, rate_hz=100.0, placements=tuple(KNEE)), seed=5)
    dur = sim.session.data["pelvis"].t[-1]
    strides = truth_strides(sim)
    analyze_knee(sim.session, strides)  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        analyze_knee(sim.session, strides)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w, c = float(np.median(wall)), float(np.median(cpu))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nruntime of analyze_knee, median of {runs} runs after warm-up: wall {w:.2f} s, CPU {c:.2f} s for "
        f"{dur / 60:.1f} min of 5 sensors at 100 Hz -> {w * 3600 / dur:.1f} s wall, {c * 3600 / dur:.1f} s CPU "
        f"per hour of data (shank-detected strides would add little); peak RSS of the benchmark {rss:.0f} MB"
    )


SIX = ("left_foot", "right_foot", "left_shank", "right_shank", "left_thigh", "right_thigh")


def online_runtime(strides: int = 100, rate_hz: float = 100.0) -> None:
    """CPU of the online analyzer (live calibration, max-speed replay) with 6 sensors, with and without the
    knee columns, per hour of live analysis."""
    from imu_gait.replay import analyzer_for, replay

    sim = simulate(SimConfig.walk(strides=strides, rate_hz=rate_hz, placements=SIX), seed=5)
    dur = max(float(d.t[-1]) for d in sim.session.data.values())
    cpu = {}
    for knee in (True, False):
        an = analyzer_for(sim.session, knee=knee)
        c0 = time.process_time()
        replay(sim.session, an, source="samples")
        cpu[knee] = time.process_time() - c0
    per_hour = {k: v * 3600 / dur for k, v in cpu.items()}
    print(
        f"online analyzer, 6 sensors at {rate_hz:.0f} Hz ({dur / 60:.1f} min walking, max-speed replay): CPU "
        f"{per_hour[True]:.0f} s per hour of live analysis with knee columns, {per_hour[False]:.0f} s without "
        f"(knee share {per_hour[True] - per_hour[False]:.0f} s/h = "
        f"{100 * (per_hour[True] - per_hour[False]) / 3600:.1f} % of one core)"
    )


def window_runtime(runs: int = 5) -> tuple[float, float]:
    """Median CPU time (s) of analyze_knee on one provisional window (4.5 s) and one final window (35 s), with
    the whole session's calibration given, both legs and the pelvis as the online analyzer runs them."""
    from imu_gait.pipeline.online import EARLY_KNEE_LEAD_S, KNEE_BATCH_S, KNEE_TAIL_S

    sim = simulate(SimConfig.walk(strides=60, rate_hz=100.0, placements=tuple(KNEE)), seed=5)
    strides = truth_strides(sim)
    cal = analyze_knee(sim.session, strides).calibration
    mid = strides.iloc[len(strides) // 2]
    spans = {
        "provisional": (mid["ic"] - EARLY_KNEE_LEAD_S, mid["end"] + 0.3),
        "final": (mid["ic"] - 20.0, mid["ic"] + KNEE_BATCH_S + KNEE_TAIL_S),
    }
    out = []
    for t0, t1 in spans.values():
        win = sim.session.slice_time(t0, t1, (t0 - 10.0, t0 - 9.0))
        win.calibration = {}
        mine = strides[(strides["ic"] >= t0) & (strides["end"] <= t1)]
        cpu = []
        for side in ("left", "right"):
            legs = {p: win.data[p] for p in (f"{side}_thigh", f"{side}_shank")}
            sub = replace_data(win, legs)
            analyze_knee(sub, mine[mine["side"] == side], calibration={side: cal[side]})
        for _ in range(runs):
            c0 = time.process_time()
            for side in ("left", "right"):
                legs = {p: win.data[p] for p in (f"{side}_thigh", f"{side}_shank")}
                analyze_knee(
                    replace_data(win, legs),
                    mine[mine["side"] == side],
                    calibration={side: cal[side]},
                )
            cpu.append(time.process_time() - c0)
        out.append(float(np.median(cpu)))
    return out[0], out[1]


def replace_data(session, data):
    from imu_gait.session import Session

    return Session(
        data=data, sensors={p: session.sensors[p] for p in data}, calibration={}, events=[]
    )


def online_agreement(
    seeds: tuple[int, ...] = (3,), modes: tuple[str, ...] = ("session", "live")
) -> None:
    """Knee columns of `imu-gait replay` against `analyze`, 7 sensors: the final rows and the provisional ones
    (the first update with knee columns, shown live), with the whole session's calibration (``session``) and
    with the one of the first 20 s (``live``, as recorded)."""
    from imu_gait.pipeline.analysis import analyze
    from imu_gait.replay import analyzer_for, replay

    print(
        "\nreplay vs analyze, 7 sensors, 100 Hz: max |online - offline| per stride (deg; flexion: median, max)"
    )
    print(
        "activity seed calibration rows      strides  abd_ic  abd_peak  excursion  flex_peak_med  flex_peak_max"
        "  drop_max"
    )
    scen = {
        "walk": SimConfig.walk(strides=20),
        "stairs": SimConfig.stairs(flights=1),
        "run": SimConfig.run(strides=20),
    }
    for name, cfg in scen.items():
        for seed in seeds:
            sess = simulate(cfg, seed=seed).session
            off = analyze(sess).strides
            for mode in modes:
                an = analyzer_for(sess, calibration=mode)
                updates = []
                replay(sess, an, source="samples", on_update=updates.append)
                provisional = {}
                for u in updates:
                    if not u.final and np.isfinite(u.row.get("knee_abduction_peak", np.nan)):
                        provisional.setdefault((u.side, u.row["stride"]), u.row)
                prov = pd.DataFrame(list(provisional.values()))
                for label, on in (("final", an.strides), ("provisional", prov)):
                    rows = f"{mode} {label}"
                    print(f"{name:8s} {seed:4d} {rows:20s} {_differences(off, on)}")


def _differences(off: pd.DataFrame, on: pd.DataFrame) -> str:
    """Stride count and max (median for flexion) |online - offline| of the knee columns, matched by stride."""
    d: dict[str, list[float]] = {k: [] for k in ("ic", "peak", "exc", "flex", "drop")}
    n = 0
    for side in ("left", "right"):
        if not len(on):
            continue
        a = off[off.side == side].set_index("stride")
        b = on[on.side == side].set_index("stride")
        common = a.index.intersection(b.index)
        n += len(common)
        for k, c in (
            ("ic", "knee_abduction_ic"),
            ("peak", "knee_abduction_peak"),
            ("exc", "knee_frontal_excursion"),
            ("flex", "knee_flexion_peak_stance"),
            ("drop", "pelvic_drop_peak"),
        ):
            d[k].extend(np.abs(a.loc[common, c] - b.loc[common, c]).dropna())
    m = {k: np.array(v) if v else np.array([np.nan]) for k, v in d.items()}
    return (
        f"{n:8d} {m['ic'].max():7.2f} {m['peak'].max():9.2f} {m['exc'].max():10.2f}"
        f" {np.median(m['flex']):14.2f} {m['flex'].max():14.2f} {m['drop'].max():9.2f}"
    )


def online(seeds: tuple[int, ...]) -> None:
    prov, final = window_runtime()
    print(
        f"\nanalyze_knee per online window (both legs, given calibration, 100 Hz), CPU median: provisional "
        f"(4.5 s) {1e3 * prov:.0f} ms, final (35 s) {1e3 * final:.0f} ms"
    )
    online_agreement(seeds)


def unmarked_tasks(seeds: tuple[int, ...] = (1, 2, 3, 4)) -> None:
    """Unmarked single-leg squat / step-down bouts: simulated sessions with their task marks removed against the
    same sessions marked (repetitions found, differences), and false bouts in walking, stairs and running."""
    import dataclasses

    print(
        "\nunmarked squat / step-down bouts (marks removed; typical soft-tissue artefact, 100 Hz)"
    )
    found = total = 0
    worst = 0.0
    cols = ["start", "end", "knee_flexion_peak", "knee_abduction_peak"]
    for seed in seeds:
        cfg = SimConfig.squats(reps=5, step_downs=True, rate_hz=100.0, placements=tuple(KNEE[:4]))
        sim = simulate(cfg.with_(soft_tissue="typical"), seed=seed)
        marked = analyze_knee(sim.session, None).squats
        bare = dataclasses.replace(
            sim.session,
            events=[e for e in sim.session.events if e.get("label") not in ("squat", "step_down")],
        )
        got = analyze_knee(bare, None).squats
        total += len(sim.squats)
        found += len(got)
        if len(got) == len(marked):
            a = marked.sort_values("start")[cols].to_numpy()
            b = got.sort_values("start")[cols].to_numpy()
            worst = max(worst, float(np.abs(a - b).max()))
        else:
            worst = float("inf")
    print(
        f"  {len(seeds)} seeds: {found} of {total} repetitions found; largest difference to the marked analysis"
        f" {worst:.3g} (s or deg)"
    )
    false = strides = 0
    for seed in seeds:
        for cfg in (
            SimConfig.walk(strides=20, placements=tuple(KNEE)),
            SimConfig.stairs(flights=1, placements=tuple(KNEE)),
            SimConfig.run(strides=20, placements=tuple(KNEE)),
            SimConfig.mixed(rate_hz=100.0).with_(placements=tuple(KNEE)),
        ):
            sim = simulate(cfg.with_(soft_tissue="typical"), seed=seed)
            res = analyze_knee(sim.session, truth_strides(sim))
            false += int((res.squats["task"] == "single_leg").sum())
            strides += len(sim.strides)
    print(
        f"  walk / stairs / run / mixed (marked squats), {len(seeds)} seeds: {false} unmarked repetitions"
        f" reported over {strides} strides"
    )


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--tasks" in sys.argv:
        unmarked_tasks()
        sys.exit(0)
    if "--runtime" in sys.argv:
        runtime()
        prov, final = window_runtime()
        print(
            f"analyze_knee per online window (both legs, given calibration, 100 Hz), CPU median: provisional "
            f"(4.5 s) {1e3 * prov:.0f} ms, final (35 s) {1e3 * final:.0f} ms"
        )
        online_runtime()
        sys.exit(0)
    if "--online" in sys.argv:
        online((1, 2, 3) if not quick else (3,))
        sys.exit(0)
    if "--sim-sta" in sys.argv:  # the simulator's soft-tissue artefact instead of the wobble
        accuracy_sim_sta(quick)
        sys.exit(0)
    if "--reuse" in sys.argv:
        reused_calibration()
        sys.exit(0)
    accuracy(quick)
    squats()
    squats_only()
    reused_calibration()
    lost_samples()
    mounting_independence()
    unmarked_tasks()
    runtime()
