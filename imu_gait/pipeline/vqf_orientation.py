"""Segment-sensor orientation with VQF (6D, no magnetometer), on a uniform clock.

Laidig & Seel (2023), "VQF: Highly accurate IMU orientation estimation with bias estimation and magnetic
disturbance rejection", Information Fusion 91:187, doi:10.1016/j.inffus.2022.10.014. The offline variant
(acausal, forward and backward) with rest and motion gyroscope-bias estimation is used.

Output rotation matrices map sensor-frame vectors to a ground frame with z up and an arbitrary heading (each
sensor has its own heading, which also drifts slowly: the knee module aligns thigh and shank headings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import Akima1DInterpolator
from scipy.spatial.transform import Rotation
from vqf import offlineVQF

from imu_gait.pipeline.signal import uniform_grid
from imu_gait.session import ImuData

# The accelerometer time constant trades two inclination errors: linear acceleration leaking in (short tau)
# against integrated gyroscope scale and bias errors (long tau). A slower correction than VQF's default 3 s
# suits thigh and shank; the knee step feeds the accelerations moved to the knee centre, which removes most of
# the swing's centripetal part. 10 s had been chosen while the knee-axis fit was biased in running; with the
# unbiased fit, 6 s gives the smallest worst case over simulated walking, stairs and running (100 and 200 Hz,
# with and without soft-tissue artefact, two seeds): running peak-valgus error max 1.62 -> 1.16 deg, stairs
# pelvic drop 0.81 -> 0.72 deg, flexion RMSE max 1.35 -> 1.29 deg (walking flexion RMSE 0.77 -> 0.95 deg).
DEFAULT_PARAMS: dict = {"tauAcc": 6.0}
LOSSY_FRACTION = 0.002  # above this fraction of lost samples a sensor counts as lossy
LOSSY_TAU_ACC = 3.0
MIN_STILL_SAMPLES = 10  # standing samples needed to take the gyroscope bias from them
NO_BIAS_ESTIMATION = {"motionBiasEstEnabled": False, "restBiasEstEnabled": False}
BIAS_SERIES_HZ = 20.0  # a recording's bias estimate is kept at this rate (it changes over seconds)


def bias_series(
    orientations: Mapping[str, Orientation],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per sensor the gyroscope bias VQF estimated (t s, bias (k, 3) deg/s), at ``BIAS_SERIES_HZ``: for
    ``orientations_on_grid(bias_series=...)`` on windows of the same recording."""
    out = {}
    for name, o in orientations.items():
        step = max(round(o.rate_hz / BIAS_SERIES_HZ), 1)
        idx = np.unique(np.r_[np.arange(0, o.t.size, step), o.t.size - 1])
        out[name] = (o.t[idx], o.bias[idx])
    return out


@dataclass(frozen=True)
class Orientation:
    """Orientation of one sensor on a uniform clock.

    ``t`` (n,) s; ``R`` (n, 3, 3) sensor -> ground (z up, arbitrary heading); ``acc`` (n, 3) m/s^2 and ``gyr``
    (n, 3) deg/s resampled onto ``t``; ``rest`` (n,) rest detected; ``bias`` (n, 3) estimated gyro bias, deg/s.
    """

    t: np.ndarray
    R: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    rest: np.ndarray
    bias: np.ndarray

    @property
    def rate_hz(self) -> float:
        return float(1.0 / (self.t[1] - self.t[0]))


def interpolate_imu(
    imu: ImuData, grid: np.ndarray, smooth: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """acc (m/s^2) and gyr (deg/s) of ``imu`` at the times ``grid`` (s): linear, or with ``smooth`` the
    shape-preserving cubic of Akima, which follows fast swing-phase rotation across lost samples much better.
    Values are held beyond the recorded span."""
    g = np.clip(grid, imu.t[0], imu.t[-1])
    if smooth and imu.t.size >= 5:
        return Akima1DInterpolator(imu.t, imu.acc, axis=0)(g), Akima1DInterpolator(
            imu.t, imu.gyr, axis=0
        )(g)
    acc = np.column_stack([np.interp(g, imu.t, imu.acc[:, k]) for k in range(3)])
    gyr = np.column_stack([np.interp(g, imu.t, imu.gyr[:, k]) for k in range(3)])
    return acc, gyr


def lost_fraction(t: np.ndarray) -> float:
    """Fraction of samples missing from the timestamps ``t`` (gaps longer than 1.5 nominal periods)."""
    if t.size < 3:
        return 0.0
    period = float(np.median(np.diff(t)))
    expected = (t[-1] - t[0]) / period + 1.0
    return float(max(0.0, 1.0 - t.size / expected))


def is_lossy(t: np.ndarray) -> bool:
    """Whether a sensor with sample times ``t`` lost enough samples (``LOSSY_FRACTION``) to be filtered as
    lossy (cubic bridging of its gaps, a faster inclination correction)."""
    return lost_fraction(t) > LOSSY_FRACTION


def vqf_orientation(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, params: dict | None = None
) -> Orientation:
    """Offline 6D VQF on uniformly sampled ``acc`` (m/s^2) and ``gyr`` (deg/s) at times ``t`` (s)."""
    t = np.asarray(t, dtype=np.float64)
    if t.size < 2:
        raise ValueError("need at least two samples")
    ts = float(np.median(np.diff(t)))
    acc = np.ascontiguousarray(acc, dtype=np.float64)
    gyr = np.asarray(gyr, dtype=np.float64)
    # VQF integrates gyr[k] over the interval ending at sample k, which puts its output half a sample ahead of
    # instantaneous gyro samples; feeding the interval means (trapezoidal rule) removes that lead.
    gyr_mid = np.vstack([gyr[:1], 0.5 * (gyr[1:] + gyr[:-1])])
    gyr_rad = np.ascontiguousarray(np.deg2rad(gyr_mid), dtype=np.float64)
    out = offlineVQF(gyr_rad, acc, None, ts, params if params is not None else DEFAULT_PARAMS)
    R = Rotation.from_quat(out["quat6D"], scalar_first=True).as_matrix()
    return Orientation(
        t=t,
        R=R,
        acc=acc,
        gyr=gyr,
        rest=np.asarray(out["restDetected"], dtype=bool),
        bias=np.rad2deg(out["bias"]),
    )


def common_grid(imus: list[ImuData], rate_hz: float | None = None) -> np.ndarray:
    """A uniform clock over the time span shared by all ``imus`` (default rate: the highest median rate)."""
    t0 = max(float(d.t[0]) for d in imus)
    t1 = min(float(d.t[-1]) for d in imus)
    if t1 <= t0:
        raise ValueError("the sensors do not overlap in time")
    if rate_hz is None:
        rate_hz = max(float(1.0 / np.median(np.diff(d.t))) for d in imus)
    return uniform_grid(t0, t1, rate_hz)


def orientations_on_grid(
    imus: dict[str, ImuData],
    grid: np.ndarray,
    params: dict | None = None,
    still: np.ndarray | None = None,
    bias: Mapping[str, np.ndarray] | None = None,
    lossy: Mapping[str, bool] | None = None,
    bias_series: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Orientation]:
    """VQF orientation of every sensor in ``imus`` after resampling onto the shared clock ``grid``.

    ``still``: samples known to be at rest (the standing calibration); the mean gyroscope reading there is
    removed as the initial bias estimate, so VQF need not detect rest itself (sway or strap wobble can hide it).
    ``bias``: per sensor a gyroscope bias (deg/s, sensor frame) removed instead when ``still`` holds too few
    samples (a calibration's standing reading, for a window of data without the standing). ``lossy``: per
    sensor whether it counts as lossy (:func:`is_lossy`) instead of deciding from the samples given: a window of
    a stream must be filtered as the whole stream is, or a few lost samples gathered in it switch the filter.
    ``bias_series``: per sensor (t s, bias (k, 3) deg/s) the remaining bias VQF estimated over a whole recording
    (``Orientation.bias``, after the standing bias above), removed here instead of estimated again: the
    offline VQF is exactly VQF without bias estimation on the gyroscope less its smoothed bias estimate, so a
    window of the recording filtered this way has nearly the whole recording's orientation (simulated running
    with wandering gyroscope biases: inclination within 0.2 deg with 20 s before and 10 s after the time of
    interest, 0.15 deg with 40 s and 20 s).
    """
    result = {}
    for name, imu in imus.items():
        # Lost samples (BLE) leave rotation unmeasured; each gap costs some inclination that the filter
        # corrects over its accelerometer time constant. With losses: cubic bridging and the faster
        # default time constant (verified on simulated walking with 2-5 % loss).
        lossy_here = lossy[name] if lossy is not None and name in lossy else is_lossy(imu.t)
        acc, gyr = interpolate_imu(imu, grid, smooth=lossy_here)
        if still is not None and still.sum() >= MIN_STILL_SAMPLES:
            gyr = gyr - gyr[still].mean(axis=0)
        elif bias is not None and bias.get(name) is not None:
            gyr = gyr - bias[name]
        p = params
        if lossy_here and p is None:
            p = {**DEFAULT_PARAMS, "tauAcc": LOSSY_TAU_ACC}
        if bias_series is not None and name in bias_series:
            bt, bv = bias_series[name]
            gyr = gyr - np.column_stack([np.interp(grid, bt, bv[:, k]) for k in range(3)])
            p = {**(p if p is not None else DEFAULT_PARAMS), **NO_BIAS_ESTIMATION}
        result[name] = vqf_orientation(grid, acc, gyr, p)
    return result
