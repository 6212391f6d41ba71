"""Soft-tissue artefact (STA): the motion of a skin-mounted sensor relative to the bone it is strapped over.

The sensor's pose on its segment becomes ``R_seg @ S(t) @ M`` and ``p_seg + R_seg @ (r + d(t))`` (``M`` the
mounting, ``r`` the nominal site) with a small rotation ``S(t)`` (a rotation vector in the segment frame) and a
small displacement ``d(t)``, each the sum of

(a) a component following the knee flexion (thigh and shank): the skin, and the sensor with it, is pulled along by
    the muscles and slides over the bone as the knee bends. Magnitudes: thigh skin markers move up to 10-30 mm
    relative to the femur, shank markers much less (Cappozzo et al. 1996, Clin Biomech 11:90; Leardini et al.
    2005, Gait Posture 21:212); the artefact of a marker cluster is mostly a rigid movement of the cluster, with
    rotations of a few degrees, largest about the segment's long axis, and the thigh's artefact is the largest
    and correlates with the knee flexion (Camomilla et al. 2017, J Biomech 62:1 and the studies reviewed there).
    The presets use a few degrees and several mm per 90 deg of flexion (thigh), about half on the shank.
(b) a damped oscillation excited at each foot contact of the same leg (both legs for the pelvis sensor): the
    "wobbling mass" of the thigh and calf muscles ringing at 10-20 Hz after impact and decaying within ~0.1 s,
    larger in running than in walking (Camomilla 2017; wobbling-mass resonances of the leg soft tissue at
    10-20 Hz). Its onset is smooth (C2), so the ideal gyroscope and accelerometer stay consistent with the pose.
(c) the small translation of (a) and (b) (mm).

Each sensor draws its own coefficients (a random scale of 0.5-1.5 and a random sign per axis, a random wobble
axis), so two sensors, or two strappings of the same sensor, do not share an artefact. The artefact is zero in the
standing calibration pose (flexion relative to the standing reference). The truth (angles, segment poses) stays
the bone's; only the sensor's pose and its signals carry the artefact (``SimResult.sensor_pose``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from imu_gait.anatomy import knee_angles
from imu_gait.simulate.body import placement_kind
from imu_gait.simulate.smooth import smoothstep5

# contact-excited wobble: amplitude factor by the contact's activity (walking = 1)
ACTIVITY_WOBBLE = {"walk": 1.0, "stairs_up": 0.6, "stairs_down": 1.2, "stand": 0.4}
N_RINGING = 3  # contacts whose ringing may still overlap a sample


@dataclass(frozen=True)
class SegmentArtefact:
    """STA magnitudes of one segment kind. Rotations in deg about the segment's x (anterior), y (left), z (up)
    axes, displacements in mm along them."""

    rotation_per_90: tuple[float, float, float] = (0.0, 0.0, 0.0)  # deg per 90 deg of knee flexion
    shift_per_90: tuple[float, float, float] = (0.0, 0.0, 0.0)  # mm per 90 deg of knee flexion
    wobble_deg: float = 0.0  # peak rotation of the contact-excited ringing in walking
    wobble_mm: float = 0.0  # peak displacement of the ringing in walking
    run_factor: float = 2.5  # ringing amplitude in running relative to walking
    freq_hz: float = 15.0
    decay_s: float = 0.03  # time constant of the ringing's exponential decay


@dataclass(frozen=True)
class SoftTissue:
    """The STA model's magnitudes per segment kind (see the module docstring)."""

    thigh: SegmentArtefact = field(default_factory=SegmentArtefact)
    shank: SegmentArtefact = field(default_factory=SegmentArtefact)
    pelvis: SegmentArtefact = field(default_factory=SegmentArtefact)

    @classmethod
    def typical(cls) -> SoftTissue:
        """Mid-range magnitudes for an IMU strapped on the lateral thigh and shank and over the sacrum."""
        return cls(
            thigh=SegmentArtefact((1.5, 1.0, 4.0), (3.0, 2.0, 8.0), 0.5, 1.0, 2.5, 14.0, 0.035),
            shank=SegmentArtefact((0.8, 0.5, 2.0), (1.0, 1.0, 3.0), 0.3, 0.6, 2.5, 18.0, 0.03),
            pelvis=SegmentArtefact((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.15, 0.5, 2.0, 12.0, 0.04),
        )

    @classmethod
    def strong(cls) -> SoftTissue:
        """Twice the typical magnitudes: a loose strap, or a subject with much soft tissue."""
        return cls.typical().scaled(2.0)

    def scaled(self, k: float) -> SoftTissue:
        def sc(a: SegmentArtefact) -> SegmentArtefact:
            return replace(
                a,
                rotation_per_90=tuple(k * v for v in a.rotation_per_90),  # type: ignore[arg-type]
                shift_per_90=tuple(k * v for v in a.shift_per_90),  # type: ignore[arg-type]
                wobble_deg=k * a.wobble_deg,
                wobble_mm=k * a.wobble_mm,
            )

        return SoftTissue(sc(self.thigh), sc(self.shank), sc(self.pelvis))


PRESETS = {"typical": SoftTissue.typical, "strong": SoftTissue.strong}


def resolve(spec: str | SoftTissue | None) -> SoftTissue | None:
    """A SoftTissue from a config value: None or "none" (off), "typical", "strong", or a SoftTissue."""
    if spec is None or spec == "none":
        return None
    if isinstance(spec, SoftTissue):
        return spec
    if spec in PRESETS:
        return PRESETS[spec]()
    raise ValueError(
        f"soft_tissue must be None, 'none', {', '.join(map(repr, PRESETS))} or a SoftTissue"
    )


def rotvec_matrix(v: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) of rotation vectors v (n, 3) in rad (Rodrigues)."""
    th = np.linalg.norm(v, axis=1)
    small = th < 1e-8
    safe = np.where(small, 1.0, th)
    a = np.where(small, 1.0 - th**2 / 6.0, np.sin(th) / safe)
    b = np.where(small, 0.5 - th**2 / 24.0, (1.0 - np.cos(th)) / safe**2)
    K = np.zeros((v.shape[0], 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    return np.eye(3) + a[:, None, None] * K + b[:, None, None] * (K @ K)


def ringing(tau: np.ndarray, freq_hz: float, decay_s: float) -> np.ndarray:
    """Unit damped oscillation after a contact at tau = 0 (s): sin(2 pi f tau) exp(-tau / decay) with a C2 onset
    over the first quarter period; 0 before the contact."""
    tau = np.asarray(tau, dtype=float)
    pos = np.maximum(tau, 0.0)
    onset = smoothstep5(pos * 4.0 * freq_hz)
    return np.where(
        tau > 0.0, onset * np.exp(-pos / decay_s) * np.sin(2 * np.pi * freq_hz * pos), 0.0
    )


@dataclass
class SensorArtefact:
    """The drawn artefact of one sensor: knee-flexion coefficients, ringing direction and the contacts."""

    placement: str
    side: str | None
    rot_per_deg: np.ndarray  # rad of rotation vector per deg of knee flexion (3,)
    shift_per_deg: np.ndarray  # m per deg of knee flexion (3,)
    wobble_axis: np.ndarray  # rad at unit ringing (3,)
    wobble_shift: np.ndarray  # m at unit ringing (3,)
    freq_hz: float
    decay_s: float
    contact_t: np.ndarray  # contact times (s), sorted
    contact_amp: np.ndarray  # amplitude factor per contact

    def to_dict(self) -> dict:
        return {
            "rotation_deg_per_90deg_flexion": np.round(
                np.degrees(self.rot_per_deg) * 90.0, 4
            ).tolist(),
            "shift_mm_per_90deg_flexion": np.round(self.shift_per_deg * 90e3, 4).tolist(),
            "wobble_rotation_deg": np.round(np.degrees(self.wobble_axis), 4).tolist(),
            "wobble_shift_mm": np.round(self.wobble_shift * 1e3, 4).tolist(),
            "wobble_freq_hz": round(self.freq_hz, 3),
            "wobble_decay_s": round(self.decay_s, 4),
        }


class SoftTissueMotion:
    """Per-sensor artefacts of one simulated session: ``offset(placement, t, poses)`` gives S(t) and d(t)."""

    def __init__(
        self,
        model: SoftTissue,
        placements: tuple[str, ...],
        plan,
        flexion_ref: dict[str, float],
        rng: np.random.Generator,
    ) -> None:
        self.flexion_ref = flexion_ref
        self.sensors: dict[str, SensorArtefact] = {}
        for placement in placements:
            kind, side = placement_kind(placement)
            if kind == "foot":
                continue
            a: SegmentArtefact = getattr(model, kind)
            sign = rng.choice([-1.0, 1.0], size=(2, 3))
            scale = rng.uniform(0.5, 1.5, size=(2, 3))
            rot = np.radians(np.asarray(a.rotation_per_90)) / 90.0 * sign[0] * scale[0]
            shift = np.asarray(a.shift_per_90) * 1e-3 / 90.0 * sign[1] * scale[1]
            u = rng.standard_normal((2, 3))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            times, amps = [], []
            for s in ("left", "right") if side is None else (side,):
                for c in plan.contacts[s]:
                    if c.t_ic <= 0:
                        continue
                    f = (
                        a.run_factor
                        if c.activity == "run"
                        else ACTIVITY_WOBBLE.get(c.activity, 1.0)
                    )
                    times.append(c.t_ic)
                    amps.append(f * rng.uniform(0.8, 1.2))
            order = np.argsort(times)
            self.sensors[placement] = SensorArtefact(
                placement,
                side,
                rot,
                shift,
                np.radians(a.wobble_deg) * u[0],
                a.wobble_mm * 1e-3 * u[1],
                a.freq_hz * rng.uniform(0.9, 1.1),
                a.decay_s,
                np.asarray(times, dtype=float)[order],
                np.asarray(amps, dtype=float)[order],
            )

    def needs(self, placement: str) -> tuple[str, ...]:
        """The segments whose poses ``offset`` needs for this placement."""
        art = self.sensors.get(placement)
        if (
            art is None
            or art.side is None
            or not (art.rot_per_deg.any() or art.shift_per_deg.any())
        ):
            return (placement,)
        return (placement, f"{art.side}_thigh", f"{art.side}_shank")

    def offset(
        self, placement: str, t: np.ndarray, poses: dict
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(S (n,3,3) sensor site rotation in the segment frame, d (n,3) displacement m in the segment frame) at
        times t, from the model's poses at t (see ``needs``); None for a sensor without artefact."""
        art = self.sensors.get(placement)
        if art is None:
            return None
        n = t.size
        v = np.zeros((n, 3))
        d = np.zeros((n, 3))
        if art.side is not None and (art.rot_per_deg.any() or art.shift_per_deg.any()):
            Rt, Rs = poses[f"{art.side}_thigh"][0], poses[f"{art.side}_shank"][0]
            flex = knee_angles(Rt, Rs, art.side)[:, 0] - self.flexion_ref[art.side]
            v += flex[:, None] * art.rot_per_deg
            d += flex[:, None] * art.shift_per_deg
        if art.contact_t.size:
            i = np.searchsorted(art.contact_t, t, side="right") - 1
            ring = np.zeros(n)
            for back in range(N_RINGING):
                j = i - back
                ok = j >= 0
                jj = np.maximum(j, 0)
                ring += np.where(
                    ok,
                    art.contact_amp[jj] * ringing(t - art.contact_t[jj], art.freq_hz, art.decay_s),
                    0.0,
                )
            v += ring[:, None] * art.wobble_axis
            d += ring[:, None] * art.wobble_shift
        return rotvec_matrix(v), d

    def to_dict(self) -> dict:
        return {p: a.to_dict() for p, a in self.sensors.items()}
