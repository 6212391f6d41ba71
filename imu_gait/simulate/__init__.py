"""Synthetic gait sessions with exact ground truth.

A kinematic model of pelvis, thighs, shanks and feet performs a sequence of activities (standing, level walking,
turns, stairs up and down, running with rear- or forefoot strike, single-leg squats, step-downs from a box); IMU
signals are synthesised for a sensor on any segment, with a random (or given) mounting, noise, bias, scale
errors, an impact pulse at each ground contact, saturation, 16-bit quantisation, clock drift and dropped samples.
The truth follows the project's definitions exactly (imu_gait.anatomy; angles relative to the static standing
calibration at the start of the session).

Public API::

    from imu_gait.simulate import SimConfig, Activity, simulate, save

    result = simulate(SimConfig.walk(strides=30, speed=1.3), seed=1)
    result.session        # imu_gait Session: all requested placements, calibration, events (activity segments)
    result.strides        # truth, columns of strides.csv, every stride of both feet
    result.curves         # truth, curves.csv format: eversion, knee_abduction (stance), knee_flexion (stride)
    result.events         # per stride: side, stride, activity, ic, fc, mid_stance, end (s)
    result.squats         # truth, squats.csv format: single-leg squats and step-downs (empty without them)
    result.mounting       # {placement: 3x3 rotation sensor -> segment}
    result.positions      # {placement: sensor position in the segment frame, m}
    t, R, p = result.segment_pose("left_foot")   # per-sample truth orientation (segment -> ground) and origin
    t, R, p = result.sensor_pose("left_foot")    # the same for the sensor (R: sensor -> ground)
    save(result, "out/sim")  # session folder + truth files inside it (see save)

Scenarios: ``SimConfig.walk``, ``.stairs``, ``.run``, ``.squats``, ``.mixed``, or ``SimConfig([Activity(...),
...], rate_hz=..., placements=..., mounting=..., noise=SensorNoise.none(), gait=GaitParams(...))``.

Segment origins (``segment_pose``): pelvis = between the hip joint centres, thigh = hip joint centre, shank = knee
joint centre, foot = the heel's contact point on the sole (exactly still during foot-flat). A stride's
``stride_length``/``elevation_change`` is the displacement of that point between consecutive foot-flat phases.

Times: the truth (strides, events, segment_pose) is on the true session clock. ``ImuData.t`` of each sensor is
the sensor's own clock (it drifts by ``noise.clock_drift_ppm``); dropped samples are missing from the data and
``seq`` counts every sample taken. Everything is deterministic for a given config and seed.

Soft-tissue artefact: off by default (sensors rigidly fixed to the bone, only the impact pulse); with
``SimConfig(..., soft_tissue="typical")`` the thigh, shank and pelvis sensors move on their segments (rotation and
displacement following the knee flexion, ringing after each foot contact; see soft_tissue.py), their signals follow
the sensor's full motion and ``sensor_pose`` includes it, while the truth stays the bone's.

Known simplifications: the foot is one rigid segment (its roll in stance is the rearfoot eversion). A walking heel
strike lands with the heel sliding forward at 1 m/s, at rest within 40 ms, so the swing need not stop the foot in
the air. A running foot (rear- or forefoot) lands still moving forward (2 m/s) and down (0.7 m/s; typical 0.5-1
m/s) and the ground stops it after contact, within about 25 ms, with a force that rises from zero at contact and
peaks about 12 ms after it; the swing meets it with no deceleration, so with an ideal sensor the foot reads ~2.5 g
in the 30 ms before contact and 9-13 g after it (the impact vibration tops it up to ~15-18 g). The sole compresses by a few mm
meanwhile. Flat landings (stairs, standing) land still. The pelvis height follows from the legs' geometry: in
walking it moves about 4.5 cm up and down (real: 4-5 cm), highest at mid-stance; in running about 8 cm, lowest at
mid-stance. The walking knee flexion (0 = standing) peaks in loading at ~18 deg at ~16% of the stride, is nearly
straight again at ~35% (real: ~40%), reaches ~30 deg at toe-off (real ~35-40) and peaks in swing at ~60 deg at
~80% (real 60-65 deg at 70-75%: the ankle passes under the hip late in the swing, and an earlier swing via point
made the foot read 10-20 g after toe-off, where a real walking foot reads 3-6 g); the running knee lands at ~13-15 deg and peaks at ~43 deg at mid-stance (~16%
of the stride). Before contact a shank sensor reads ~6 g in walking and ~5 g in running. The push-off
plantarflexion rate peaks at toe-off (running and stairs within 1 ms, walking ~2 ms after).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from imu_gait.pipeline.signal import GRAVITY
from imu_gait.session import ImuData, SensorInfo, Session, save_session, write_json_atomic
from imu_gait.simulate.activities import SIDES, Plan, plan_session
from imu_gait.simulate.body import Body, placement_kind, sensor_position
from imu_gait.simulate.config import Activity, GaitParams, SensorNoise, SimConfig
from imu_gait.simulate.imu import corrupt, drop_mask, ideal_signals, random_rotation
from imu_gait.simulate.kinematics import Model
from imu_gait.simulate.soft_tissue import SoftTissue, SoftTissueMotion, resolve
from imu_gait.simulate.truth import squat_truth, standing_reference, stride_truth

__all__ = [
    "Activity",
    "Body",
    "GaitParams",
    "SensorNoise",
    "SimConfig",
    "SimResult",
    "SoftTissue",
    "save",
    "simulate",
]

# impact vibration peak at the foot (in g) by activity; shank, thigh and pelvis feel a fraction of it. In running the
# ground's deceleration of the foot is in the kinematics (9-13 g after contact, see kinematics.FootTrack), so the
# vibration only tops it up: with an ideal sensor the foot peaks at ~18 g (rearfoot) and ~15 g (forefoot) around
# contact, so a +/-16 g sensor clips a few running contacts
IMPACT_G = {
    "walk": 10.0,
    "stairs_up": 3.0,
    "stairs_down": 6.0,
    "run": 18.0,
    "run_forefoot": 4.0,
    "stand": 2.0,
}
IMPACT_FRACTION = {"foot": 1.0, "shank": 0.3, "thigh": 0.15, "pelvis": 0.08}


@dataclass
class SimResult:
    """A simulated session and its truth (see the module docstring)."""

    session: Session
    strides: pd.DataFrame
    curves: pd.DataFrame
    events: pd.DataFrame
    squats: pd.DataFrame
    mounting: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]
    config: SimConfig
    model: Model
    plan: Plan
    reference: dict = field(default_factory=dict)
    sensor_errors: dict[str, dict] = field(default_factory=dict)
    soft_tissue: SoftTissueMotion | None = None

    def segment_pose(
        self, placement: str, t: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Truth (t, R (n,3,3) segment -> ground, origin (n,3) m) of a segment, by default at the nominal sample
        times of the session (true clock)."""
        if t is None:
            t = np.arange(0.0, self.plan.t_end, 1.0 / self.config.rate_hz)
        t = np.asarray(t, dtype=float)
        R, p = self.model.evaluate(t, segments=(placement,))[placement]
        return t, R, p

    def sensor_pose(
        self, placement: str, t: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Truth (t, R (n,3,3) sensor -> ground, position (n,3) m) of a sensor, including its soft-tissue motion
        on the segment when the config has one."""
        if t is None:
            t = np.arange(0.0, self.plan.t_end, 1.0 / self.config.rate_hz)
        t = np.asarray(t, dtype=float)
        sta = self.soft_tissue
        segs = sta.needs(placement) if sta is not None else (placement,)
        poses = self.model.evaluate(t, segments=segs)
        R, p = poses[placement]
        pos = p + R @ self.positions[placement]
        off = sta.offset(placement, t, poses) if sta is not None else None
        if off is not None:
            S, d = off
            pos = pos + np.einsum("nij,nj->ni", R, d)
            R = R @ S
        return t, R @ self.mounting[placement], pos


def _impacts(plan: Plan, placement: str, noise: SensorNoise) -> list[tuple[np.ndarray, np.ndarray]]:
    kind, side = placement_kind(placement)
    frac = IMPACT_FRACTION[kind]
    out = []
    for s in SIDES if side is None else (side,):
        cs = plan.contacts[s]
        times = np.array([c.t_ic for c in cs if c.t_ic > 0])
        if noise.impact_g is not None:
            peaks = np.full(times.size, noise.impact_g * GRAVITY * frac)
        else:
            keys = [
                "run_forefoot" if c.activity == "run" and c.pitch_ic < 0 else c.activity
                for c in cs
                if c.t_ic > 0
            ]
            peaks = np.array([IMPACT_G.get(k, 1.0) * GRAVITY * frac for k in keys])
        if times.size and peaks.any():
            out.append((times, peaks))
    return out


def _mounting(config: SimConfig, placement: str, rng: np.random.Generator) -> np.ndarray:
    if isinstance(config.mounting, dict):
        if placement in config.mounting:
            return np.asarray(config.mounting[placement], dtype=float)
        return random_rotation(rng)
    return random_rotation(rng) if config.mounting == "random" else np.eye(3)


def simulate(config: SimConfig, seed: int = 0) -> SimResult:
    """Simulate a session (deterministic for a given config and seed). See the module docstring."""
    ss = np.random.SeedSequence(seed)
    plan_seed, mount_seed, *sensor_seeds = ss.spawn(2 + len(config.placements))
    (sta_seed,) = ss.spawn(1)  # spawned after the others: without STA every other draw is unchanged
    plan = plan_session(config, np.random.default_rng(plan_seed))
    model = Model(plan, config.body)
    ref = standing_reference(model, plan.calibration)
    sta_model = resolve(config.soft_tissue)
    sta = None
    if sta_model is not None:
        flex_ref = {s: float(ref[f"knee_{s}"][0]) for s in ("left", "right")}
        sta = SoftTissueMotion(
            sta_model, config.placements, plan, flex_ref, np.random.default_rng(sta_seed)
        )
    mount_rng = np.random.default_rng(mount_seed)
    t_true = np.arange(0.0, plan.t_end, 1.0 / config.rate_hz)
    data: dict[str, ImuData] = {}
    sensors: dict[str, SensorInfo] = {}
    mounting: dict[str, np.ndarray] = {}
    positions: dict[str, np.ndarray] = {}
    errors: dict[str, dict] = {}
    sites = {}
    for placement in config.placements:
        M = _mounting(config, placement, mount_rng)
        r = sensor_position(placement, config.sites.get(placement))
        mounting[placement], positions[placement] = M, r
        sites[placement] = (M, r, _impacts(plan, placement, config.noise))
    ideal = ideal_signals(model, t_true, sites, sta)
    for k, placement in enumerate(config.placements):
        rng = np.random.default_rng(sensor_seeds[k])
        acc, gyr = ideal.pop(placement)
        acc, gyr, err = corrupt(
            acc,
            gyr,
            config.rate_hz,
            config.noise,
            config.acc_range_g,
            config.gyr_range_dps,
            config.quantize,
            rng,
        )
        drift = config.noise.clock_drift_ppm * rng.standard_normal() * 1e-6
        keep = drop_mask(t_true.size, config.noise.drop_rate, rng)
        t_dev = t_true * (1.0 + drift)
        seq = np.arange(t_true.size)
        data[placement] = ImuData(t_dev[keep], acc[keep], gyr[keep], seq=seq[keep])
        err.update({"clock_drift_ppm": drift * 1e6, "dropped_samples": int((~keep).sum())})
        errors[placement] = err
        sensors[placement] = SensorInfo(
            family="simulated",
            name=f"sim-{placement.replace('_', '-')}",
            address=f"SIM-{k:02d}",
            rate_hz=float(config.rate_hz),
            acc_range_g=float(config.acc_range_g),
            gyr_range_dps=float(config.gyr_range_dps),
            firmware=f"imu-gait simulate seed {seed}",
        )
    session = Session(
        data=data,
        sensors=sensors,
        subject=config.subject,
        condition=config.condition,
        created=config.created,
        activity="+".join(dict.fromkeys(a.kind for a in config.activities)),
        calibration={"static": [float(plan.calibration[0]), float(plan.calibration[1])]},
        events=[dict(e) for e in plan.segments],
        notes=f"simulated by imu-gait (seed {seed}); truth files beside the samples",
        source={"format": "simulated", "seed": int(seed)},
    )
    strides, curves, events = stride_truth(model, plan, ref)
    squats = squat_truth(model, plan, ref)
    return SimResult(
        session,
        strides,
        curves,
        events,
        squats,
        mounting,
        positions,
        config,
        model,
        plan,
        ref,
        errors,
        sta,
    )


def save(result: SimResult, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the session folder and, inside it, the truth: ``truth.csv`` (strides.csv columns), ``truth_curves.csv``
    (curves.csv format), ``truth_events.csv`` (side, stride, activity, ic, fc, mid_stance, end), ``truth_squats.csv``
    (squats.csv columns) and ``truth.json`` (mountings sensor -> segment, sensor positions, sensor errors, the
    drawn soft-tissue artefact of each sensor or null)."""
    out = save_session(result.session, out_dir, overwrite=overwrite)
    fmt = "%.6g"
    result.strides.to_csv(out / "truth.csv", index=False, float_format=fmt)
    result.curves.to_csv(out / "truth_curves.csv", index=False, float_format=fmt)
    result.events.to_csv(out / "truth_events.csv", index=False, float_format="%.6f")
    result.squats.to_csv(out / "truth_squats.csv", index=False, float_format=fmt)
    info = {
        "seed": result.session.source.get("seed"),
        "mounting": {p: np.round(m, 9).tolist() for p, m in result.mounting.items()},
        "sensor_position_m": {p: np.round(v, 6).tolist() for p, v in result.positions.items()},
        "sensor_errors": result.sensor_errors,
        "soft_tissue": result.soft_tissue.to_dict() if result.soft_tissue is not None else None,
        "reference_angles_deg": {
            k: np.round(np.atleast_1d(v), 6).tolist() for k, v in result.reference.items()
        },
    }
    write_json_atomic(json.loads(json.dumps(info)), out / "truth.json")
    return out
