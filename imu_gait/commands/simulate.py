"""`imu-gait simulate -o DIR`: a synthetic session with exact ground truth (truth.csv beside the samples)."""

from __future__ import annotations

import argparse

HELP = "synthetic session (walk, stairs, run, squats or a mix) with ground truth; deterministic per seed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="session folder to create")
    p.add_argument(
        "--activity",
        choices=(
            "walk",
            "stairs",
            "run",
            "mixed",
            "squat",
        ),
        default="walk",
        help="what the subject does after the standing calibration (default walk; squat = single-leg squats "
        "and step-downs; mixed = walk, stairs, run and squats)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=float, metavar="S", help="length of the walk or run, s")
    g.add_argument("--strides", type=int, metavar="N", help="strides per side of the walk or run")
    p.add_argument(
        "--rate", type=float, default=100.0, metavar="HZ", help="sample rate (default 100)"
    )
    p.add_argument("--speed", type=float, metavar="M_S", help="walking or running speed, m/s")
    p.add_argument(
        "--strike", choices=("rearfoot", "forefoot"), default="rearfoot", help="running foot strike"
    )
    p.add_argument(
        "--placements", nargs="+", metavar="P", help="sensor placements (default: all seven)"
    )
    p.add_argument(
        "--mounting", choices=("random", "aligned"), default="random", help="sensor mounting"
    )
    p.add_argument(
        "--noise", action=argparse.BooleanOptionalAction, default=True, help="sensor imperfections"
    )
    p.add_argument(
        "--soft-tissue",
        choices=("none", "typical", "strong"),
        default="none",
        help="thigh, shank and pelvis sensors move on the skin (rotation following the knee flexion, ringing "
        "after foot contacts); the truth stays the bone's (default none)",
    )
    p.add_argument(
        "--drop-rate", type=float, default=0.0, metavar="F", help="fraction of samples lost"
    )
    p.add_argument(
        "--acc-range", type=float, default=16.0, metavar="G", help="accelerometer range, g"
    )
    p.add_argument(
        "--gyr-range", type=float, default=2000.0, metavar="DPS", help="gyroscope range, deg/s"
    )
    p.add_argument(
        "--eversion-excursion", type=float, metavar="DEG", help="walking eversion excursion"
    )
    p.add_argument("--valgus", type=float, metavar="DEG", help="peak knee valgus in walking stance")
    p.add_argument(
        "--pelvic-drop", type=float, metavar="DEG", help="peak contralateral pelvic drop"
    )
    p.add_argument("--subject", default="sim-001", help="subject pseudonym (default sim-001)")
    p.add_argument("--condition", default="", help="condition label, e.g. pre or post")
    p.add_argument("--overwrite", action="store_true", help="replace DIR if it exists")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from imu_gait.errors import UsageError
    from imu_gait.session import PLACEMENTS, check_placement
    from imu_gait.simulate import Activity, GaitParams, SensorNoise, SimConfig, save, simulate

    for p in args.placements or []:
        check_placement(p)
    if not 20.0 <= args.rate <= 2000.0:
        raise UsageError(f"--rate must be within 20..2000 Hz, got {args.rate:g}")
    if args.speed is not None and not 0.3 <= args.speed <= 7.0:
        raise UsageError(f"--speed must be within 0.3..7 m/s, got {args.speed:g}")
    length = {"strides": args.strides, "duration": args.duration}
    if args.activity == "walk":
        acts = [
            Activity("walk", speed=args.speed or 1.3, **_length(length, 20)),
            Activity("stand", duration=2.0),
        ]
    elif args.activity == "run":
        acts = [
            Activity("run", speed=args.speed or 3.5, strike=args.strike, **_length(length, 20)),
            Activity("stand", duration=2.0),
        ]
    elif args.activity == "stairs":
        acts = SimConfig.stairs().activities
    elif args.activity == "squat":
        acts = SimConfig.squats(step_downs=True).activities
    else:
        acts = SimConfig.mixed().activities
    gait = GaitParams()
    changes = {
        "eversion_excursion": args.eversion_excursion,
        "knee_valgus_peak": args.valgus,
        "pelvic_drop": args.pelvic_drop,
    }
    gait = replace(gait, **{k: v for k, v in changes.items() if v is not None})
    noise = replace(SensorNoise(), drop_rate=args.drop_rate) if args.noise else SensorNoise.none()
    config = SimConfig(
        acts,
        rate_hz=args.rate,
        placements=tuple(args.placements) if args.placements else PLACEMENTS,
        gait=gait,
        mounting=args.mounting,
        noise=noise,
        acc_range_g=args.acc_range,
        gyr_range_dps=args.gyr_range,
        quantize=args.noise,
        soft_tissue=args.soft_tissue,
        subject=args.subject,
        condition=args.condition,
    )
    result = simulate(config, seed=args.seed)
    out = save(result, args.output, overwrite=args.overwrite)
    n = result.strides.groupby("side").size().to_dict()
    duration = max(d.duration for d in result.session.data.values())
    print(
        f"{out}: {len(result.session.data)} sensors, {duration:.1f} s at {args.rate:g} Hz, "
        f"strides left {n.get('left', 0)} / right {n.get('right', 0)}, squats {len(result.squats)}; "
        "truth in truth.csv, truth_curves.csv, truth_events.csv"
    )
    return 0


def _length(length: dict, default_strides: int) -> dict:
    if length["strides"] is not None:
        return {"strides": length["strides"]}
    if length["duration"] is not None:
        return {"duration": length["duration"]}
    return {"strides": default_strides}
