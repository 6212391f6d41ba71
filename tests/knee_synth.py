"""Synthetic thigh/shank/pelvis IMU data with known knee and pelvis angles, for the knee tests.

A small forward model independent of the analysis: segment orientations are built from prescribed joint angles
(hip flexion/adduction, knee flexion/abduction/rotation in the Grood & Suntay sense, pelvic obliquity), positions
from segment lengths, and each sensor reads the angular rate and specific force of its segment through a random
mounting rotation. Truth angles are computed with imu_gait.anatomy from the true segment orientations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from imu_gait.anatomy import knee_angles, pelvic_drop, side_sign
from imu_gait.session import ImuData, Session

G = np.array([0.0, 0.0, 9.80665])


@dataclass
class Truth:
    t: np.ndarray
    knee: dict  # side -> (n, 3) flexion, abduction, rotation (deg, minus standing)
    drop: dict  # stance side -> (n,) pelvic drop (deg, minus standing)
    strides: pd.DataFrame  # side, stride, activity, ic, fc, end
    mountings: dict  # placement -> sensor->segment rotation


def _bump(frac: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (frac - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / width) ** 2)


def _envelope(t: np.ndarray, t0: float, t1: float, ramp: float = 0.4) -> np.ndarray:
    up = np.clip((t - t0) / ramp, 0, 1)
    down = np.clip((t1 - t) / ramp, 0, 1)
    e = np.minimum(up, down)
    return e * e * (3 - 2 * e)


def _sensor(t, R_seg, pos, M, rng, gyr_noise, acc_noise, gyr_bias):
    """Gyro (deg/s) and accelerometer (m/s^2) of a sensor with orientation R_seg @ M at position pos."""
    Rs = R_seg @ M
    rate = 1.0 / (t[1] - t[0])
    r = Rotation.from_matrix(Rs)
    mid = (r[:-1].inv() * r[1:]).as_rotvec() * rate  # body rate at interval midpoints
    w = np.vstack([mid[:1], 0.5 * (mid[1:] + mid[:-1]), mid[-1:]])
    gyr = np.degrees(w) + gyr_bias + rng.normal(0, gyr_noise, (t.size, 3))
    acc_g = np.gradient(np.gradient(pos, t, axis=0), t, axis=0)
    acc = np.einsum("nji,nj->ni", Rs, acc_g + G) + rng.normal(0, acc_noise, (t.size, 3))
    return acc, gyr


def _euler(seq: str, angles: np.ndarray) -> np.ndarray:
    return Rotation.from_euler(seq, angles, degrees=True).as_matrix()


def synth_session(
    activity: str = "walk",
    rate_hz: float = 100.0,
    n_strides: int = 20,
    stride_time: float = 1.1,
    seed: int = 0,
    knee_rotation: float = 8.0,
    valgus: float = 4.0,
    pelvis: bool = True,
    mounting: str = "random",
    gyr_noise: float = 0.3,
    acc_noise: float = 0.05,
    stand_s: float = 3.0,
    squat_reps: int = 0,
    squat_time: float = 2.5,
) -> tuple[Session, Truth]:
    """A session: stand, then ``activity`` (walk, run or squat) for ``n_strides`` cycles, then stand; with
    ``squat_reps``, a segment of left single-leg squats follows (then stand again)."""
    rng = np.random.default_rng(seed)
    t1 = stand_s + n_strides * stride_time
    sq0 = t1 + 2.0
    sq1 = sq0 + squat_reps * squat_time
    t_end = (sq1 if squat_reps else t1) + stand_s
    t = np.arange(0.0, t_end, 1.0 / rate_hz)
    env = _envelope(t, stand_s, t1)
    env_sq = _envelope(t, sq0, sq1, ramp=0.05) if squat_reps else 0 * t
    heading = 20.0 + 8.0 * np.sin(0.07 * t)
    speed = {"walk": 1.3, "run": 3.0, "squat": 0.0}[activity]
    stance = {"walk": 0.6, "run": 0.38, "squat": 1.0}[activity]
    data, truth_knee, segs = {}, {}, {}
    mountings = {}
    rows = []
    hip_pos = np.zeros((t.size, 3))
    progress = speed * np.cumsum(env) / rate_hz
    hd = np.radians(heading)
    hip_pos[:, 0] = progress * np.cos(hd)
    hip_pos[:, 1] = progress * np.sin(hd)
    hip_pos[:, 2] = 0.9
    for side, offset in (("left", 0.0), ("right", 0.5)):
        s = side_sign(side)
        ph = (t - stand_s) / stride_time - offset
        frac = ph % 1.0
        w = 2 * np.pi * ph
        if activity == "squat":
            cyc = 0.5 - 0.5 * np.cos(w) if side == "left" else 0 * w
            flex = 4 + env * 70 * cyc
            abd = env * valgus * 2 * cyc
            rot = env * knee_rotation * cyc
            hip = env * 45 * cyc
            add = env * 3 * cyc
        else:
            a = 1.0 if activity == "walk" else 1.8
            flex = env * (18 * a * _bump(frac, 0.15, 0.06) + 60 * a * _bump(frac, 0.72, 0.09) + 3)
            abd = env * (valgus * _bump(frac, 0.2, 0.08) - 0.4 * valgus * _bump(frac, 0.7, 0.1))
            rot = env * knee_rotation * _bump(frac, 0.75, 0.1)
            hip = env * (22 * a * np.cos(w) + 5)
            add = env * 4 * np.sin(w)
        if squat_reps and side == "left":
            cyc = env_sq * (0.5 - 0.5 * np.cos(2 * np.pi * (t - sq0) / squat_time))
            flex, abd, rot = flex + 70 * cyc, abd + 2 * valgus * cyc, rot + knee_rotation * cyc
            hip, add = hip + 45 * cyc, add + 3 * cyc
        R_thigh = _euler("ZXY", np.column_stack([heading, s * add, -hip]))
        R_shank = R_thigh @ _euler("YXZ", np.column_stack([flex, s * abd, -s * rot]))
        hip_side = hip_pos + np.einsum("nij,j->ni", _euler("Z", heading[:, None]), [0, 0.09 * s, 0])
        knee_pos = hip_side + np.einsum("nij,j->ni", R_thigh, [0, 0, -0.44])
        segs[side] = (R_thigh, R_shank)
        for seg, R, pos in (
            ("thigh", R_thigh, hip_side + np.einsum("nij,j->ni", R_thigh, [0.06, 0.05 * s, -0.22])),
            (
                "shank",
                R_shank,
                knee_pos + np.einsum("nij,j->ni", R_shank, [0.03, -0.04 * s, -0.15]),
            ),
        ):
            M = Rotation.random(random_state=rng).as_matrix() if mounting == "random" else np.eye(3)
            bias = rng.normal(0, 0.3, 3)
            acc, gyr = _sensor(t, R, pos, M, rng, gyr_noise, acc_noise, bias)
            data[f"{side}_{seg}"] = ImuData(t, acc, gyr)
            mountings[f"{side}_{seg}"] = M
        k = knee_angles(R_thigh, R_shank, side)
        still = t < stand_s - 0.5
        truth_knee[side] = k - k[still].mean(axis=0)
        if activity != "squat":
            ics = stand_s + (np.arange(n_strides) + offset) * stride_time
            for i, ic in enumerate(ics[:-1]):
                if ic + stride_time > t1 - 0.5 or ic < stand_s + 0.5:
                    continue
                rows.append(
                    {
                        "side": side,
                        "stride": i,
                        "activity": activity,
                        "ic": ic,
                        "fc": ic + stance * stride_time,
                        "end": ic + stride_time,
                    }
                )
    drop = {}
    if pelvis:
        phl = (t - stand_s) / stride_time
        obl = env * (5.0 * _bump(phl % 1, 0.12, 0.07) - 5.0 * _bump(phl % 1, 0.62, 0.07))
        tilt = env * 2.0 * np.sin(4 * np.pi * phl)
        yaw = heading + env * 4 * np.sin(2 * np.pi * phl)
        R_pelvis = _euler("ZXY", np.column_stack([yaw, obl, tilt]))
        lateral = env * 0.02 * np.cos(2 * np.pi * (phl - 0.3))
        pos = hip_pos + np.column_stack([-np.sin(hd) * lateral, np.cos(hd) * lateral, 0 * lateral])
        M = Rotation.random(random_state=rng).as_matrix() if mounting == "random" else np.eye(3)
        acc, gyr = _sensor(t, R_pelvis, pos, M, rng, gyr_noise, acc_noise, rng.normal(0, 0.3, 3))
        data["pelvis"] = ImuData(t, acc, gyr)
        mountings["pelvis"] = M
        for side in ("left", "right"):
            d = pelvic_drop(R_pelvis, side)
            drop[side] = d - d[t < stand_s - 0.5].mean()
    events = [{"t": stand_s, "t_end": t1, "label": activity}]
    if squat_reps:
        events.append({"t": sq0 - 0.5, "t_end": sq1 + 0.5, "label": "squat"})
    if activity == "squat":
        events[0]["side"] = "left"
    session = Session(
        data=data,
        sensors={},
        calibration={"static": [0.5, stand_s - 0.5]},
        events=events,
    )
    strides = pd.DataFrame(rows, columns=["side", "stride", "activity", "ic", "fc", "end"])
    return session, Truth(t, truth_knee, drop, strides, mountings)


def rotate_sensors(session: Session, rotations: dict[str, np.ndarray]) -> Session:
    """A copy of ``session`` with the raw data of the given placements rotated (a different mounting)."""
    data = dict(session.data)
    for p, R in rotations.items():
        d = data[p]
        data[p] = ImuData(d.t, d.acc @ R.T, d.gyr @ R.T)
    return Session(data=data, sensors={}, calibration=session.calibration, events=session.events)


def soft_tissue(session: Session, rms_deg: float = 1.0, seed: int = 0, placements=None) -> Session:
    """A copy of ``session`` whose thigh/shank/pelvis sensors wobble on the skin: a small time-varying rotation
    S(t) of each sensor relative to its segment (band-limited 0.5-8 Hz, ``rms_deg`` per axis while moving, its
    amplitude following the segment's angular speed), applied to the gyroscope (S^T w + dS/dt) and the
    accelerometer (S^T a)."""
    from scipy.signal import butter, sosfiltfilt

    rng = np.random.default_rng(seed)
    data = dict(session.data)
    for p in placements or [p for p in data if not p.endswith("foot")]:
        d = data[p]
        rate = 1.0 / float(np.median(np.diff(d.t)))
        sos = butter(2, [0.5, min(8.0, 0.4 * rate)], btype="bandpass", fs=rate, output="sos")
        a = sosfiltfilt(sos, rng.normal(size=(d.t.size, 3)), axis=0)
        # wobble grows with the segment's motion (none while standing still)
        speed = sosfiltfilt(butter(2, 1.0, fs=rate, output="sos"), np.linalg.norm(d.gyr, axis=1))
        env = np.clip(speed / np.percentile(speed, 90), 0.0, 1.5)
        a *= env[:, None]
        moving = env > 0.3
        a *= np.radians(rms_deg) / a[moving].std(axis=0)
        S = Rotation.from_rotvec(a)
        w_s = np.gradient(a, d.t, axis=0)  # small-angle rate of the wobble (rad/s)
        gyr = S.inv().apply(d.gyr) + np.degrees(w_s)
        acc = S.inv().apply(d.acc)
        data[p] = ImuData(d.t, acc, gyr)
    return Session(
        data=data,
        sensors=session.sensors,
        calibration=session.calibration,
        events=session.events,
    )
