"""IMU signals from segment poses: the ideal specific force and angular rate in the sensor's frame, then the
sensor's imperfections (scale, bias and its drift, white noise, impact vibration, saturation, 16-bit quantisation,
clock drift, dropped samples).

Derivatives come from evaluating the kinematic model at t and t +/- h (h = 0.5 ms): the angular rate from the
relative rotation R(t-h)^T R(t+h), the acceleration from the second difference of the sensor's position; both are
second-order accurate (errors ~1e-4 deg/s and ~1e-3 m/s^2 for gait-like motion).
"""

from __future__ import annotations

import numpy as np

from imu_gait.pipeline.signal import GRAVITY
from imu_gait.simulate.config import SensorNoise

H = 5e-4  # s, half-step of the central differences
CHUNK_S = 60.0  # s of samples evaluated at once (bounds memory)


def angular_rate(R_minus: np.ndarray, R_plus: np.ndarray, h: float = H) -> np.ndarray:
    """Body-frame angular rate (rad/s, (n, 3)) from orientations at t - h and t + h (n, 3, 3)."""
    D = np.transpose(R_minus, (0, 2, 1)) @ R_plus
    w = 0.5 * np.stack(
        [D[:, 2, 1] - D[:, 1, 2], D[:, 0, 2] - D[:, 2, 0], D[:, 1, 0] - D[:, 0, 1]], axis=1
    )
    s = np.linalg.norm(w, axis=1)
    angle = np.arcsin(np.clip(s, 0.0, 1.0))
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-300), 1.0)
    return w * (scale / (2.0 * h))[:, None]


IMPACT_DURATION = 0.03  # s, from initial contact to the end of the impact vibration


def impact_acceleration(tau: np.ndarray, peak_acc: np.ndarray | float) -> np.ndarray:
    """Vertical acceleration (m/s^2) of a sensor's vibration after a ground contact at tau = 0 (tau in s): a pulse
    of height ``peak_acc`` 15 ms after contact, 10 ms wide, with two negative lobes. It is the second derivative of
    the displacement -D sin^4(pi tau / T) of the sensor relative to its segment (T = 30 ms, D about 0.2 mm per
    10 g), so it starts smoothly and adds no net velocity or displacement."""
    th = np.pi * np.clip(np.asarray(tau, dtype=float) / IMPACT_DURATION, 0.0, 1.0)
    s2, c2 = np.sin(th) ** 2, np.cos(th) ** 2
    return peak_acc * s2 * (s2 - 3.0 * c2)


def ideal_signals(
    model,
    t: np.ndarray,
    sensors: dict[str, tuple[np.ndarray, np.ndarray, list]],
    soft_tissue=None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Noise-free {placement: (acc m/s^2, gyr deg/s)} in each sensor's frame at times t (s).

    ``sensors``: {placement: (mounting 3x3 sensor -> segment, position in the segment frame (m), impacts)} with
    impacts a list of (contact times, peak accelerations m/s^2) of vibrations added along the vertical.
    ``soft_tissue``: a soft_tissue.SoftTissueMotion moving each sensor on its segment (None: rigidly fixed).
    """
    out = {p: (np.empty((t.size, 3)), np.empty((t.size, 3))) for p in sensors}
    step = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    n_chunk = max(1, int(CHUNK_S / step))
    segments = set(sensors)
    if soft_tissue is not None:
        for p in sensors:
            segments.update(soft_tissue.needs(p))
    for i0 in range(0, t.size, n_chunk):
        tc = t[i0 : i0 + n_chunk]
        times = (tc - H, tc, tc + H)
        poses = [model.evaluate(tt, segments=tuple(segments)) for tt in times]
        for placement, (M, r, impacts) in sensors.items():
            sta = None
            if soft_tissue is not None:
                sta = [
                    soft_tissue.offset(placement, tt, ps)
                    for tt, ps in zip(times, poses, strict=True)
                ]
            a, g = _sensor(tc, [ps[placement] for ps in poses], M, r, impacts, sta)
            out[placement][0][i0 : i0 + tc.size] = a
            out[placement][1][i0 : i0 + tc.size] = g
    return out


def _sensor(t, poses, M, r, impacts, sta=None):
    p0 = poses[1][1]
    # sensor position in the ground frame; subtract p0 first to keep the second difference well conditioned
    if sta is not None and sta[0] is not None:
        # the sensor moves on the segment: displaced by d and rotated by S about its site (segment frame)
        ps = [
            p - p0 + R @ r + np.einsum("nij,nj->ni", R, d)
            for (R, p), (_, d) in zip(poses, sta, strict=True)
        ]
        poses = [(R @ S, p) for (R, p), (S, _) in zip(poses, sta, strict=True)]
    else:
        ps = [p - p0 + R @ r for (R, p) in poses]
    (Rm, _), (R0, _), (Rp, _) = poses
    w_seg = angular_rate(Rm, Rp)
    acc_g = (ps[2] - 2.0 * ps[1] + ps[0]) / (H * H)
    for times, peaks in impacts or []:
        i = np.searchsorted(times, t, side="right") - 1
        valid = i >= 0
        tau = np.where(valid, t - times[np.maximum(i, 0)], -1.0)
        peak = np.where(valid, peaks[np.maximum(i, 0)], 0.0)
        near = valid & (tau < IMPACT_DURATION)
        if near.any():
            acc_g[near, 2] += impact_acceleration(tau[near], peak[near])
    acc_g[:, 2] += GRAVITY
    f_seg = np.einsum("nji,nj->ni", R0, acc_g)  # R0^T acc
    return f_seg @ M, np.degrees(w_seg @ M)


def corrupt(
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    noise: SensorNoise,
    acc_range_g: float,
    gyr_range_dps: float,
    quantize: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Apply scale errors, biases (gyro bias random walk), white noise, saturation and quantisation.

    Returns the corrupted (acc, gyr) and the drawn error parameters."""
    n = acc.shape[0]
    band = np.sqrt(rate_hz / 2.0)
    s_acc = 1.0 + noise.scale * rng.standard_normal(3)
    s_gyr = 1.0 + noise.scale * rng.standard_normal(3)
    b_acc = noise.acc_bias * rng.standard_normal(3)
    b_gyr = noise.gyr_bias * rng.standard_normal(3)
    walk = np.cumsum(rng.standard_normal((n, 3)), axis=0) * (noise.gyr_bias_walk / np.sqrt(rate_hz))
    acc = acc * s_acc + b_acc + noise.acc_noise * band * rng.standard_normal((n, 3))
    gyr = gyr * s_gyr + b_gyr + walk + noise.gyr_noise * band * rng.standard_normal((n, 3))
    acc_fs = acc_range_g * GRAVITY
    acc = np.clip(acc, -acc_fs, acc_fs)
    gyr = np.clip(gyr, -gyr_range_dps, gyr_range_dps)
    if quantize:
        la, lg = acc_fs / 32768.0, gyr_range_dps / 32768.0
        acc = np.clip(np.round(acc / la), -32768, 32767) * la
        gyr = np.clip(np.round(gyr / lg), -32768, 32767) * lg
    params = {
        "acc_scale": s_acc.tolist(),
        "gyr_scale": s_gyr.tolist(),
        "acc_bias": b_acc.tolist(),
        "gyr_bias": b_gyr.tolist(),
    }
    return acc, gyr, params


def drop_mask(n: int, drop_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of kept samples: bursts of 1-6 lost samples, ``drop_rate`` of all samples on average."""
    keep = np.ones(n, dtype=bool)
    if drop_rate <= 0 or n < 10:
        return keep
    n_bursts = rng.poisson(drop_rate * n / 3.5)
    starts = rng.integers(1, n - 1, n_bursts)
    lengths = rng.integers(1, 7, n_bursts)
    for s, L in zip(starts, lengths, strict=True):
        keep[s : min(n - 1, s + L)] = False
    return keep


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed random rotation matrix (from a uniform random unit quaternion)."""
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
