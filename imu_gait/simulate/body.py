"""Body dimensions of the simulated subject and where sensors sit on each segment (segment frames, m).

Segment origins: pelvis = midpoint between the hip joint centres; thigh = hip joint centre; shank = knee joint
centre; foot = the heel's contact point on the sole (the foot's long axis runs along the sole's midline, so the
foot's roll during stance is a rotation about a line through a ground-fixed point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Body:
    """Segment lengths and joint offsets (m) of the simulated subject."""

    thigh_length: float = 0.44  # hip joint centre -> knee joint centre
    shank_length: float = 0.43  # knee joint centre -> ankle joint centre
    hip_half_width: float = 0.085  # pelvis origin -> each hip joint centre, along the pelvis y axis
    ankle_forward: float = 0.06  # heel contact point -> ankle joint centre, along the foot x axis
    ankle_height: float = 0.075  # sole -> ankle joint centre
    mtp_length: float = 0.22  # heel contact point -> the push-off pivot (metatarsal heads and toes)
    standing_knee_bend: float = 4.0  # deg, knee bend in the static standing pose

    def hip_offset(self, side: str) -> np.ndarray:
        """Hip joint centre in the pelvis frame."""
        return np.array([0.0, self.hip_half_width if side == "left" else -self.hip_half_width, 0.0])

    def ankle_offset(self) -> np.ndarray:
        """Ankle joint centre in the foot frame."""
        return np.array([self.ankle_forward, 0.0, self.ankle_height])

    def leg_reach(self, bend_deg: np.ndarray | float) -> np.ndarray:
        """Hip-to-ankle distance (m) for a knee bend (deg, 0 = straight)."""
        a, b = self.thigh_length, self.shank_length
        return np.sqrt(a * a + b * b + 2.0 * a * b * np.cos(np.radians(bend_deg)))


SENSOR_SITES = {
    # placement kind -> site name -> position in the segment frame (y given for the left side; mirrored on right)
    "foot": {
        "instep": (0.13, 0.0, 0.075),
        "heel": (-0.015, 0.0, 0.05),
        "lateral": (0.09, 0.045, 0.03),
    },
    "shank": {"lateral": (0.0, 0.05, -0.2), "anterior": (0.045, 0.0, -0.2)},
    "thigh": {"lateral": (0.0, 0.075, -0.2), "anterior": (0.07, 0.0, -0.22)},
    "pelvis": {"sacrum": (-0.1, 0.0, 0.06)},
}
DEFAULT_SITE = {"foot": "instep", "shank": "lateral", "thigh": "lateral", "pelvis": "sacrum"}


def placement_kind(placement: str) -> tuple[str, str | None]:
    """('foot'|'shank'|'thigh'|'pelvis', side or None) of a placement name."""
    if placement == "pelvis":
        return "pelvis", None
    side, kind = placement.split("_", 1)
    return kind, side


def sensor_position(placement: str, site: str | None = None) -> np.ndarray:
    """Sensor position (m) in its segment's frame for a named site (default per segment kind)."""
    kind, side = placement_kind(placement)
    site = site or DEFAULT_SITE[kind]
    if site not in SENSOR_SITES[kind]:
        raise ValueError(
            f"unknown sensor site {site!r} for {placement}; expected one of {list(SENSOR_SITES[kind])}"
        )
    x, y, z = SENSOR_SITES[kind][site]
    return np.array([x, -y if side == "right" else y, z])
