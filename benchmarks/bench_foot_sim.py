"""Accuracy of the foot pipeline on simulated sessions (imported by bench_foot.py; runnable on its own).

Random mounting on both feet, default sensor noise (white noise, bias, bias walk, scale errors, quantisation),
rates 100-400 Hz, several seeds per condition, plus a clipped-sensor condition and a mixed clinic session.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.evaluation import match_strides
from imu_gait.simulate import SimConfig, simulate

FEET = ("left_foot", "right_foot")


def _evaluate(config: SimConfig, seeds: list[int]) -> tuple[pd.DataFrame, int, int, int]:
    pairs, tp, fp, fn = [], 0, 0, 0
    for seed in seeds:
        sim = simulate(config.with_(placements=FEET), seed=seed)
        res = analyze(sim.session)
        ev = match_strides(res.strides, sim.strides, 0.15, res.curves, sim.curves)
        pairs.append(ev.pairs)
        tp, fp, fn = tp + ev.tp, fp + ev.fp, fn + ev.fn
    return pd.concat(pairs, ignore_index=True), tp, fp, fn


def _line(label: str, p: pd.DataFrame, tp: int, fp: int, fn: int) -> str:
    def err(c: str) -> np.ndarray:
        return (p[f"{c}_det"] - p[f"{c}_ref"]).to_numpy(dtype=float)

    rel_len = err("stride_length") / p["stride_length_ref"].to_numpy(dtype=float)
    rel_vel = err("eversion_velocity_peak") / p["eversion_velocity_peak_ref"].to_numpy(dtype=float)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    stairs = p["activity_ref"].isin(["stairs_up", "stairs_down"]).to_numpy()
    elev = np.abs(err("elevation_change"))
    elev_txt = (
        f"elev |err| on stairs median {np.median(elev[stairs]) * 100:.1f} cm, "
        f"95% {np.quantile(elev[stairs], 0.95) * 100:.1f} cm; "
        if stairs.any()
        else ""
    )
    return (
        f"{label:28s} F1 {f1:.3f} ({tp}/{fp}/{fn}); IC |err| median {np.median(np.abs(err('ic'))) * 1000:.1f} ms "
        f"(bias {np.median(err('ic')) * 1000:+.1f}); FC |err| median {np.median(np.abs(err('fc'))) * 1000:.1f} ms "
        f"(bias {np.median(err('fc')) * 1000:+.1f}); stride length |err| median {np.median(np.abs(rel_len)) * 100:.2f}% "
        f"(bias {np.median(rel_len) * 100:+.2f}%); {elev_txt}activity {np.mean(p['activity_det'] == p['activity_ref']) * 100:.1f}%; "
        f"eversion curve RMSE median {np.nanmedian(p['curve_rmse']):.2f} deg (90% {np.nanquantile(p['curve_rmse'], 0.9):.2f}); "
        f"excursion |err| median {np.median(np.abs(err('eversion_excursion'))):.2f} deg; "
        f"peak velocity |err| median {np.median(np.abs(rel_vel)) * 100:.1f}%"
    )


IC_TARGET_RUN_MS = 5.0  # issue 5: median |IC error| in running at >= 200 Hz
EXCURSION_TARGET_DEG = 1.5  # issue 5: eversion excursion error of a stride


def _event_line(label: str, p: pd.DataFrame, rate: float, running: bool) -> str:
    """IC error median / 95th percentile (per stair direction on stairs) and the share of strides whose
    eversion excursion error exceeds the target, with the running IC target where it applies."""
    ic = (p["ic_det"] - p["ic_ref"]).to_numpy(dtype=float) * 1000
    exc = np.abs((p["eversion_excursion_det"] - p["eversion_excursion_ref"]).to_numpy(dtype=float))
    parts = [
        f"IC |err| median {np.median(np.abs(ic)):.1f} ms, 95% {np.quantile(np.abs(ic), 0.95):.1f} ms"
    ]
    if running and rate >= 200.0:
        ok = np.median(np.abs(ic)) <= IC_TARGET_RUN_MS
        parts[0] += f" (target <= {IC_TARGET_RUN_MS:.0f} ms median: {'met' if ok else 'MISSED'})"
    for act in ("stairs_up", "stairs_down"):
        sel = (p["activity_ref"] == act).to_numpy()
        if sel.any():
            d = ic[sel]
            parts.append(
                f"{act} IC err median {np.median(d):+.1f} ms, |err| median {np.median(np.abs(d)):.1f}, "
                f"95% {np.quantile(np.abs(d), 0.95):.1f}, max {np.abs(d).max():.1f} ms (n {sel.sum()})"
            )
    parts.append(
        f"excursion |err| 95% {np.quantile(exc, 0.95):.2f} deg, > {EXCURSION_TARGET_DEG} deg in "
        f"{np.mean(exc > EXCURSION_TARGET_DEG) * 100:.0f}% of strides"
    )
    return f"{'':28s} " + "; ".join(parts)


def simulated(quick: bool = False) -> None:
    print(
        "== simulated sessions (random mounting on both feet, noise, bias, scale, quantisation) =="
    )
    seeds = [1, 2] if quick else [1, 2, 3, 4]
    rates = [100.0, 200.0] if quick else [100.0, 200.0, 400.0]
    t0 = time.perf_counter()
    conditions = []
    for rate in rates:
        conditions += [
            (f"walk {rate:.0f} Hz", rate, SimConfig.walk(strides=20, rate_hz=rate)),
            (f"stairs {rate:.0f} Hz", rate, SimConfig.stairs(flights=1, rate_hz=rate)),
        ]
    # running at every rate in both modes: the IC target applies per foot strike and rate
    for strike in ("rearfoot", "forefoot"):
        for rate in (100.0, 200.0, 400.0):
            cfg = SimConfig.run(strides=20, rate_hz=rate, strike=strike)
            conditions.append((f"run {strike} {rate:.0f} Hz", rate, cfg))
    conditions += [
        ("walk clipped 8 g/500 dps", 200.0, SimConfig.walk(strides=20, rate_hz=200.0, acc_range_g=8.0, gyr_range_dps=500.0)),
        ("mixed clinic visit 200 Hz", 200.0, SimConfig.mixed(rate_hz=200.0)),
    ]  # fmt: skip
    running: dict[str, pd.DataFrame] = {}
    for label, rate, cfg in conditions:
        p, tp, fp, fn = _evaluate(cfg.with_(mounting="random"), seeds)
        print(_line(label, p, tp, fp, fn))
        print(_event_line(label, p, rate, label.startswith("run")))
        if label.startswith("run"):
            running[label] = p
    _running_summary(running)
    print(f"(simulated part took {time.perf_counter() - t0:.0f} s)")


def _running_summary(running: dict[str, pd.DataFrame]) -> None:
    """Running IC against the issue's target per foot strike and rate, and the 100 Hz excursion figure."""
    print(
        f"running IC |err| median per foot strike and rate (target <= {IC_TARGET_RUN_MS:.0f} ms at >= 200 Hz), "
        f"and strides with eversion excursion error > {EXCURSION_TARGET_DEG} deg:"
    )
    for strike in ("rearfoot", "forefoot"):
        parts = []
        for rate in (100, 200, 400):
            p = running[f"run {strike} {rate} Hz"]
            ic = np.median(np.abs(p["ic_det"] - p["ic_ref"])) * 1000
            exc = np.abs(p["eversion_excursion_det"] - p["eversion_excursion_ref"]).to_numpy(
                dtype=float
            )
            verdict = (
                ("met" if ic <= IC_TARGET_RUN_MS else "MISSED") if rate >= 200 else "no target"
            )
            parts.append(
                f"{rate} Hz {ic:.1f} ms ({verdict}), excursion > {EXCURSION_TARGET_DEG} deg "
                f"{np.mean(exc > EXCURSION_TARGET_DEG) * 100:.0f}%"
            )
        print(f"  {strike:9s} " + "; ".join(parts))


if __name__ == "__main__":
    simulated(quick="--quick" in sys.argv)
