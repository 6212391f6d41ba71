"""What the virtual sensors stream: a session's samples per placement, or a short built-in synthetic signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imu_gait.pipeline.signal import GRAVITY
from imu_gait.session import ImuData, Session, check_placement, load_session

DEMO_SESSION = Path(__file__).resolve().parents[2] / "recordings" / "demo_pre"
DEFAULT_PLACEMENTS = ("left_foot", "right_foot")


def synthetic_imu(placement: str, duration_s: float = 20.0, rate_hz: float = 400.0) -> ImuData:
    """A plausible walking-like signal: 2 s standing still, then 1 Hz strides (deg/s and m/s^2, sensor frame z up).

    Not a gait model (see ``imu-gait simulate`` for that): a smooth, non-trivial signal whose shape lets a test
    recognise it after a trip through BLE. Left and right are half a stride apart.
    """
    check_placement(placement)
    t = np.arange(0.0, duration_s, 1.0 / rate_hz)
    phase = 2 * np.pi * (t - 2.0) + (np.pi if placement.startswith("right") else 0.0)
    walking = (t >= 2.0).astype(float)
    amp = {"foot": 300.0, "shank": 200.0, "thigh": 120.0}.get(placement.split("_")[-1], 40.0)
    gyr = np.column_stack(
        [
            0.15 * amp * np.sin(2 * phase) * walking,
            amp * np.sin(phase) * walking,
            0.1 * amp * np.cos(phase) * walking,
        ]
    )
    acc = np.column_stack(
        [
            4.0 * np.sin(phase + 0.5) * walking,
            1.0 * np.sin(2 * phase) * walking,
            GRAVITY + 6.0 * np.sin(2 * phase + 1.0) * walking,
        ]
    )
    return ImuData(t, acc, gyr)


def synthetic_session(
    placements: tuple[str, ...] = DEFAULT_PLACEMENTS, duration_s: float = 20.0
) -> Session:
    return Session(
        data={p: synthetic_imu(p, duration_s) for p in placements},
        subject="synthetic",
        source={"format": "imu-gait emulate built-in synthetic signal"},
    )


def default_session() -> Session:
    """recordings/demo_pre when it is there, else the synthetic signal."""
    if (DEMO_SESSION / "session.json").is_file():
        return load_session(DEMO_SESSION)
    return synthetic_session()
