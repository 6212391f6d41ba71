"""What to simulate: the activity sequence, the subject's gait parameters, and the sensors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from imu_gait.session import PLACEMENTS
from imu_gait.simulate.body import Body

ActivityKind = Literal[
    "stand", "walk", "turn", "stairs_up", "stairs_down", "run", "squat", "step_down"
]
ACTIVITY_KINDS: tuple[str, ...] = (
    "stand",
    "walk",
    "turn",
    "stairs_up",
    "stairs_down",
    "run",
    "squat",
    "step_down",
)


@dataclass
class Activity:
    """One segment of the session.

    ``kind``: stand, walk, turn (walking on an arc of ``turn_deg`` degrees, positive = to the left), stairs_up,
    stairs_down (step-over-step flights of ``steps`` steps, ``riser`` x ``tread`` m), run (``strike`` rearfoot or
    forefoot), squat (single-leg squats) and step_down (from a box of height ``riser``), both on ``side`` (left,
    right or both) for ``reps`` repetitions. ``strides`` (per side) or ``duration`` (s) sets the length of walks,
    turns and runs; ``duration`` sets the length of standing. ``speed`` (m/s) and ``cadence`` (steps/min) default
    from the activity.
    """

    kind: ActivityKind
    strides: int | None = None
    duration: float | None = None
    speed: float | None = None
    cadence: float | None = None
    turn_deg: float = 180.0
    turn_radius: float = 0.6
    strike: Literal["rearfoot", "forefoot"] = "rearfoot"
    steps: int = 10
    riser: float = 0.17
    tread: float = 0.28
    side: Literal["left", "right", "both"] = "both"
    reps: int = 5

    def __post_init__(self) -> None:
        if self.kind not in ACTIVITY_KINDS:
            raise ValueError(
                f"unknown activity {self.kind!r}; expected one of {', '.join(ACTIVITY_KINDS)}"
            )


@dataclass
class GaitParams:
    """The subject's typical angles (deg, relative to the standing pose) and their stride-to-stride variability.

    Side asymmetry: ``asymmetry`` = (right - left) / mean of the frontal-plane amplitudes (eversion excursion, knee
    valgus peak, pelvic drop), e.g. 0.2 makes the right side 20% larger.
    The values are for level walking; other activities scale the frontal-plane amplitudes by fixed factors
    (running: eversion x1.6, valgus x1.3, drop x1.2; stairs: eversion x0.8-1.1, valgus x1.2-1.3).
    """

    eversion_ic: float = -2.0  # eversion at initial contact (walking; negative = inverted)
    eversion_excursion: float = 6.0  # peak - IC in walking stance
    eversion_peak_time: float = 35.0  # % stance
    eversion_velocity_slope: float = (
        2.0  # initial slope of the eversion rise (1..3): sets the peak velocity
    )
    eversion_toe_off: float = -4.0  # eversion at toe-off
    knee_valgus_peak: float = 4.0  # peak knee abduction in walking stance
    knee_valgus_squat: float = 8.0  # peak knee abduction at the bottom of a single-leg squat
    pelvic_drop: float = 5.0  # peak contralateral drop in walking stance
    toe_out: float = 7.0  # foot progression angle
    step_width: float = 0.10  # m, between the feet's mid-lines
    asymmetry: float = 0.0
    angle_sd: float = 1.5  # stride-to-stride SD of the frontal-plane peaks (deg)
    timing_cv: float = 0.02  # stride-to-stride coefficient of variation of stride time and length

    def side_scale(self, side: str) -> float:
        return 1.0 + (0.5 if side == "right" else -0.5) * self.asymmetry


@dataclass
class SensorNoise:
    """Sensor imperfections. White-noise densities per sqrt(Hz) of the sample rate's Nyquist band."""

    acc_noise: float = 0.0015 * 9.80665  # m/s^2 / sqrt(Hz)
    gyr_noise: float = 0.008  # deg/s / sqrt(Hz)
    acc_bias: float = 0.05  # m/s^2, SD of the constant bias per axis
    gyr_bias: float = 0.5  # deg/s, SD of the constant bias per axis
    gyr_bias_walk: float = 0.002  # deg/s / sqrt(s), bias random walk
    scale: float = 0.01  # SD of the per-axis scale error (fraction)
    clock_drift_ppm: float = 20.0  # SD of each sensor's clock rate error
    drop_rate: float = 0.0  # fraction of samples lost (in bursts of 1-6)
    impact_g: float | None = (
        None  # peak of the impact vibration at initial contact (None: by activity)
    )

    @classmethod
    def none(cls) -> SensorNoise:
        """An ideal sensor: no noise, bias, scale error, drift, drops or impact vibration."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass
class SimConfig:
    """Everything :func:`imu_gait.simulate.simulate` needs.

    ``mounting``: "random" (each sensor uniformly randomly rotated on its segment), "aligned" (sensor axes = segment
    axes), or {placement: 3x3 rotation sensor->segment}. ``sites``: {placement: site name} (see body.SENSOR_SITES).
    ``quantize``: round samples to the 16-bit LSB of the range. ``soft_tissue``: the thigh, shank and pelvis
    sensors move on the skin relative to the bone (see imu_gait.simulate.soft_tissue): None or "none" (off, the
    default), "typical", "strong", or a SoftTissue with its own magnitudes; the truth stays the bone's.
    """

    activities: list[Activity]
    rate_hz: float = 100.0
    placements: tuple[str, ...] = PLACEMENTS
    calibration_s: float = 5.0
    gait: GaitParams = field(default_factory=GaitParams)
    body: Body = field(default_factory=Body)
    mounting: str | dict[str, Any] = "random"
    sites: dict[str, str] = field(default_factory=dict)
    noise: SensorNoise = field(default_factory=SensorNoise)
    acc_range_g: float = 16.0
    gyr_range_dps: float = 2000.0
    quantize: bool = True
    soft_tissue: Any = None
    subject: str = "sim-001"
    condition: str = ""
    created: str = "2026-01-05T09:00:00+00:00"  # fixed, so that a seed always gives identical files

    def __post_init__(self) -> None:
        if not 20.0 <= self.rate_hz <= 2000.0:
            raise ValueError(f"rate_hz must be within 20..2000, got {self.rate_hz}")
        for p in self.placements:
            if p not in PLACEMENTS:
                raise ValueError(f"unknown placement {p!r}")
        from imu_gait.simulate.soft_tissue import resolve

        resolve(self.soft_tissue)  # raises on an unknown preset
        if isinstance(self.mounting, str) and self.mounting not in ("random", "aligned"):
            raise ValueError("mounting must be 'random', 'aligned' or {placement: 3x3 rotation}")
        if isinstance(self.mounting, dict):
            for p, m in self.mounting.items():
                m = np.asarray(m, dtype=float)
                if (
                    m.shape != (3, 3)
                    or not np.allclose(m @ m.T, np.eye(3), atol=1e-6)
                    or np.linalg.det(m) < 0
                ):
                    raise ValueError(f"mounting of {p} is not a 3x3 rotation matrix")

    def with_(self, **changes: Any) -> SimConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def walk(cls, strides: int = 20, speed: float = 1.3, **kw: Any) -> SimConfig:
        """Standing calibration, then level walking for ``strides`` strides per side, then standing."""
        return cls(
            [Activity("walk", strides=strides, speed=speed), Activity("stand", duration=2.0)], **kw
        )

    @classmethod
    def stairs(cls, flights: int = 2, steps: int = 10, **kw: Any) -> SimConfig:
        """Standing calibration, then ``flights`` x (up a flight, turn around on the landing, down)."""
        acts: list[Activity] = []
        for _ in range(flights):
            acts += [
                Activity("stairs_up", steps=steps),
                Activity("stand", duration=1.5),
                Activity("turn", turn_deg=180.0, strides=2, speed=0.8),
                Activity("stand", duration=1.5),
                Activity("stairs_down", steps=steps),
                Activity("stand", duration=1.5),
            ]
        return cls(acts, **kw)

    @classmethod
    def run(
        cls, strides: int = 20, speed: float = 3.5, strike: str = "rearfoot", **kw: Any
    ) -> SimConfig:
        """Standing calibration, then running for ``strides`` strides per side, then standing."""
        return cls(
            [
                Activity("run", strides=strides, speed=speed, strike=strike),
                Activity("stand", duration=2.0),
            ],  # type: ignore[arg-type]
            **kw,
        )

    @classmethod
    def squats(cls, reps: int = 5, step_downs: bool = False, **kw: Any) -> SimConfig:
        """Standing calibration, then ``reps`` single-leg squats per side (and step-downs if asked)."""
        acts = [Activity("squat", side="left", reps=reps), Activity("stand", duration=2.0)]
        acts += [Activity("squat", side="right", reps=reps), Activity("stand", duration=2.0)]
        if step_downs:
            acts += [Activity("step_down", side="left", reps=reps), Activity("stand", duration=2.0)]
            acts += [
                Activity("step_down", side="right", reps=reps),
                Activity("stand", duration=2.0),
            ]
        return cls(acts, **kw)

    @classmethod
    def mixed(cls, walk_strides: int = 20, run_strides: int = 15, **kw: Any) -> SimConfig:
        """Walk, turn, walk back, stairs up and down, run, and single-leg squats: a clinic visit."""
        acts = [
            Activity("walk", strides=walk_strides, speed=1.3),
            Activity("turn", turn_deg=180.0, strides=2, speed=0.9),
            Activity("walk", strides=walk_strides, speed=1.3),
            Activity("stand", duration=2.0),
            Activity("stairs_up", steps=10),
            Activity("stand", duration=1.5),
            Activity("turn", turn_deg=180.0, strides=2, speed=0.8),
            Activity("stand", duration=1.5),
            Activity("stairs_down", steps=10),
            Activity("stand", duration=2.0),
            Activity("run", strides=run_strides, speed=3.3),
            Activity("stand", duration=3.0),
            Activity("squat", side="left", reps=5),
            Activity("stand", duration=2.0),
            Activity("squat", side="right", reps=5),
            Activity("stand", duration=2.0),
        ]
        return cls(acts, **kw)
