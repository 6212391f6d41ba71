"""Write the shipped simulated sample sessions recordings/demo_pre and recordings/demo_post (deterministic).

One pseudonymous subject, demo-01, with patellofemoral pain, before and after a hip/foot strengthening programme:
all seven sensors at 100 Hz, random mountings (re-attached between the sessions), realistic sensor noise and the
simulator's typical soft-tissue artefact on the thigh, shank and pelvis sensors. Each
session: static standing calibration, level walking with a turn, two flights of stairs up and down, a run and
single-leg squats and forward step-downs from a 15 cm box on each side. After the programme the subject everts less (excursion about 3 deg lower), has
less knee valgus (peak about 3 deg lower) and less contralateral pelvic drop (about 2 deg lower), with the same
stride-to-stride variability, so the difference is real but not obvious stride by stride.

Run from the repository root: .venv/bin/python recordings/make_demo.py [--out recordings]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

SUBJECT = "demo-01"
SEEDS = {"pre": 20261, "post": 20262}


def activities():
    from imu_gait.simulate import Activity

    stairs = []
    for _ in range(2):
        stairs += [
            Activity("stairs_up", steps=10),
            Activity("stand", duration=1.5),
            Activity("turn", turn_deg=180.0, strides=2, speed=0.8),
            Activity("stand", duration=1.5),
            Activity("stairs_down", steps=10),
            Activity("stand", duration=2.0),
        ]
    return [
        Activity("walk", strides=22, speed=1.3),
        Activity("turn", turn_deg=180.0, strides=2, speed=0.9),
        Activity("walk", strides=22, speed=1.3),
        Activity("stand", duration=3.0),
        *stairs,
        Activity("run", strides=30, speed=3.3),
        Activity("stand", duration=3.0),
        Activity("squat", side="left", reps=5),
        Activity("stand", duration=2.0),
        Activity("squat", side="right", reps=5),
        Activity("stand", duration=2.0),
        Activity("step_down", side="left", reps=3, riser=0.15),
        Activity("stand", duration=2.0),
        Activity("step_down", side="right", reps=3, riser=0.15),
        Activity("stand", duration=2.0),
    ]


def config(condition: str):
    from imu_gait.simulate import GaitParams, SensorNoise, SimConfig

    pre = GaitParams(
        eversion_excursion=8.0,
        knee_valgus_peak=6.0,
        knee_valgus_squat=11.0,
        pelvic_drop=6.5,
        asymmetry=0.25,  # the painful right side moves worse
        angle_sd=1.8,
    )
    post = replace(
        pre, eversion_excursion=5.0, knee_valgus_peak=3.0, knee_valgus_squat=7.5, pelvic_drop=4.5
    )
    return SimConfig(
        activities(),
        rate_hz=100.0,
        gait=pre if condition == "pre" else post,
        noise=SensorNoise(drop_rate=0.001),
        soft_tissue="typical",
        subject=SUBJECT,
        condition=condition,
        created="2026-03-02T10:00:00+00:00" if condition == "pre" else "2026-04-13T10:00:00+00:00",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent), help="folder for demo_pre/demo_post"
    )
    args = ap.parse_args()
    from imu_gait.simulate import save, simulate

    for condition in ("pre", "post"):
        result = simulate(config(condition), seed=SEEDS[condition])
        out = save(result, Path(args.out) / f"demo_{condition}", overwrite=True)
        walk = result.strides[result.strides.activity == "walk"]
        print(
            f"{out}: {result.plan.t_end:.0f} s, {len(result.strides)} strides ({len(walk)} walking), "
            f"{len(result.squats)} squats; walking means: eversion excursion {walk.eversion_excursion.mean():.1f}, "
            f"knee abduction peak {walk.knee_abduction_peak.mean():.1f}, pelvic drop {walk.pelvic_drop_peak.mean():.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
