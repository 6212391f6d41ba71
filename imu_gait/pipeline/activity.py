"""Activity of each stride (walk, stairs up/down, run, other) from its trajectory, timing and heading change.

Stairs are recognised by the stride's elevation change, as in Ullrich et al. (2021, Sensors 21:6559), but only
when the stride's geometry is that of a staircase; a zero-velocity trajectory that drifts vertically (a sharp
turn, a low sample rate) otherwise turns a level stride into "stairs":

- the climb is at least one riser (``stairs_min_m``, 0.12 m; twice that with a flight phase, whose trajectories
  drift more);
- the slope, elevation change over horizontal stride length, is at least ``STAIRS_MIN_SLOPE``: a stair stride
  crosses one or two treads per riser climbed (riser 0.10-0.22 m, tread 0.22-0.45 m: slope 0.25-1.0), while a
  ramp stays below 1:8 (0.125);
- the horizontal length is at most ``STAIRS_MAX_LENGTH_M``: two treads of a long-tread staircase plus the
  approach (twice that with a flight phase, for stairs taken two at a time);
- the stride's heading changes by less than ``TURN_MIN_DEG`` (when the heading change is given): a turn's
  trajectory is the least reliable of a walk (the foot pivots in stance, so its zero-velocity instant is not
  still), and straight or gently curved flights turn far less per stride. Spiral staircases (45-60 deg per
  stride) are therefore labelled walk.

A stance shorter than ``run_max_duty`` of the stride (a flight phase) marks running.
"""

from __future__ import annotations

import numpy as np

from imu_gait.anatomy import heading_pitch_roll

# elevation / horizontal length of a stair stride (stairs 0.25-1.0, ramps below 0.125)
STAIRS_MIN_SLOPE = 0.2
# m, horizontal length of a walking stair stride (two treads of 0.45 m plus the approach)
STAIRS_MAX_LENGTH_M = 1.2
# deg, heading change of a stride above which it is a turn, not a stair stride
TURN_MIN_DEG = 30.0


def classify_activity(
    stride_time: np.ndarray,
    stance_time: np.ndarray,
    stride_length: np.ndarray,
    elevation_change: np.ndarray,
    heading_change: np.ndarray | None = None,
    stairs_min_m: float = 0.12,
    run_max_duty: float = 0.5,
) -> np.ndarray:
    """Activity of each stride (object array of names in :data:`imu_gait.columns.ACTIVITIES`).

    ``stride_time``, ``stance_time`` (s), ``stride_length`` (horizontal, m), ``elevation_change`` (m, up +) and
    optionally ``heading_change`` (deg, :func:`stride_heading_change`), one entry per stride. ``run``: stance
    below ``run_max_duty`` of the stride; ``stairs_up``/``stairs_down``: the stair geometry of the module
    docstring; ``other``: implausible (no trajectory, horizontal length above 3.5 m or more than 0.8 m climbed);
    else ``walk``.
    """
    out = np.full(np.size(stride_time), "walk", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        run = stance_time / stride_time < run_max_duty
        # strides with a flight phase drift more vertically and may take two steps at a time
        factor = np.where(run, 2.0, 1.0)
        climb = np.abs(elevation_change)
        stairs = (
            (climb >= factor * stairs_min_m)
            & (climb >= STAIRS_MIN_SLOPE * stride_length)
            & (stride_length <= factor * STAIRS_MAX_LENGTH_M)
        )
        if heading_change is not None:
            stairs &= np.abs(heading_change) < TURN_MIN_DEG
    out[run] = "run"
    out[stairs & (elevation_change > 0)] = "stairs_up"
    out[stairs & (elevation_change < 0)] = "stairs_down"
    bad = (
        ~np.isfinite(stride_length)
        | ~np.isfinite(elevation_change)
        | (stride_length > 3.5)
        | (climb > 0.8)
    )
    out[bad] = "other"
    return out


def stride_heading_change(R_int: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Heading change (deg, left turn positive) of each stride from sample ``start[k]`` to ``stop[k]``
    (mid-stance to mid-stance, integer indices), from the integrated gyroscope ``R_int`` (n, 3, 3), foot frame
    -> any fixed frame.

    The rotation between the two mid-stances, seen from the first (where the foot is flat, so its z is nearly
    vertical): its heading in a heading-pitch-roll decomposition. Gyro drift over one stride is a fraction of a
    degree, far below a turn's tens of degrees.
    """
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    if start.size == 0:
        return np.empty(0)
    rel = np.einsum("kji,kjl->kil", R_int[start], R_int[stop])
    return heading_pitch_roll(rel)[..., 0]
