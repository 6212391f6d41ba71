"""Anatomical angles from segment orientations: the one place where side-dependent signs are decided.

Conventions (DESIGN.md section 3): the ground frame has z up; every segment frame, in upright standing, has
x anterior, y left, z up (proximal), for both sides. A segment orientation ``R`` is a rotation matrix (or a stack
of them, shape (n, 3, 3)) mapping segment-frame vectors to the ground frame: ``v_ground = R @ v_segment``.

Signs are anatomical and the same on both sides:

- eversion positive (medial edge of the foot down);
- knee flexion positive, knee abduction (valgus) positive, knee internal rotation positive;
- pelvic drop positive when the pelvis drops on the side opposite the stance leg.

Every function returns degrees. The angles are raw: the zero offset of the standing calibration is removed by the
caller.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

Side = Literal["left", "right"]


def side_sign(side: Side) -> float:
    """+1 for the left side, -1 for the right: the medial direction is -y on the left and +y on the right."""
    if side == "left":
        return 1.0
    if side == "right":
        return -1.0
    raise ValueError(f"side must be 'left' or 'right', got {side!r}")


def _as_rot(R: np.ndarray) -> Rotation:
    return Rotation.from_matrix(np.asarray(R, dtype=np.float64))


def heading_pitch_roll(R: np.ndarray) -> np.ndarray:
    """Intrinsic z-y'-x'' angles (heading, pitch, roll) in degrees, shape (..., 3).

    Roll is the last rotation, about the segment's own long (x, anterior) axis, so it stays meaningful while the
    segment pitches (valid for |pitch| < 90 deg). Pitch is positive when x tilts down (toe down for the foot).
    """
    return _as_rot(R).as_euler("ZYX", degrees=True)


def foot_eversion(R_foot: np.ndarray, side: Side) -> np.ndarray:
    """Foot eversion (deg, positive = medial edge down) from the foot's orientation in the ground frame.

    The roll of a heading-pitch-roll decomposition (DESIGN.md section 6). A positive roll about +x lifts +y: on
    the left foot +y is lateral, so lateral up = medial down = eversion; on the right foot the sign flips.
    """
    return side_sign(side) * heading_pitch_roll(R_foot)[..., 2]


def foot_pitch(R_foot: np.ndarray) -> np.ndarray:
    """Foot sagittal angle (deg), positive = toe up (dorsiflexed foot at initial contact)."""
    return -heading_pitch_roll(R_foot)[..., 1]


def knee_angles(R_thigh: np.ndarray, R_shank: np.ndarray, side: Side) -> np.ndarray:
    """Knee flexion, abduction (valgus) and internal rotation (deg), shape (..., 3), by the Grood & Suntay JCS.

    Grood & Suntay (1983, J Biomech Eng 105:136): flexion about the thigh-fixed mediolateral axis, ab/adduction
    about the floating axis, rotation about the shank-fixed long axis; equivalent to the intrinsic Cardan sequence
    y-x'-z'' of the shank relative to the thigh. A positive angle about x moves the distal shank to +y: lateral on
    the left leg (valgus), medial on the right.
    """
    rel = _as_rot(R_thigh).inv() * _as_rot(R_shank)
    a = rel.as_euler("YXZ", degrees=True)
    s = side_sign(side)
    return np.stack([a[..., 0], s * a[..., 1], -s * a[..., 2]], axis=-1)


def pelvis_obliquity(R_pelvis: np.ndarray) -> np.ndarray:
    """Pelvic obliquity (deg), positive = left side up, by the rotation-obliquity-tilt sequence z-x'-y''
    recommended by Baker (2001, Gait Posture 13:1)."""
    return _as_rot(R_pelvis).as_euler("ZXY", degrees=True)[..., 1]


def pelvic_drop(R_pelvis: np.ndarray, stance_side: Side) -> np.ndarray:
    """Contralateral pelvic drop (deg): positive when the side opposite ``stance_side`` is lower."""
    return side_sign(stance_side) * pelvis_obliquity(R_pelvis)


def rot_x(deg: float | np.ndarray) -> np.ndarray:
    """Rotation matrix (or stack) about x by ``deg`` degrees (right-handed)."""
    return Rotation.from_euler("x", np.atleast_1d(deg), degrees=True).as_matrix().squeeze()


def rot_y(deg: float | np.ndarray) -> np.ndarray:
    """Rotation matrix (or stack) about y by ``deg`` degrees (right-handed)."""
    return Rotation.from_euler("y", np.atleast_1d(deg), degrees=True).as_matrix().squeeze()


def rot_z(deg: float | np.ndarray) -> np.ndarray:
    """Rotation matrix (or stack) about z by ``deg`` degrees (right-handed)."""
    return Rotation.from_euler("z", np.atleast_1d(deg), degrees=True).as_matrix().squeeze()
