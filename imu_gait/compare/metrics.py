"""What each compared metric is: unit, plain-language label, role in the pre/post question, symmetry scale.

Roles follow METHODS.md: eversion excursion and peak eversion velocity, knee frontal excursion and peak
abduction, and pelvic drop are the primary outcomes; absolute eversion angles are secondary because they depend
on the static calibration pose (J Athl Train 2012 47(1):83; Ferber 2002 J Orthop Res 20:1139).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """``scale``: "ratio" (positive quantity, SI in % is meaningful) or "signed" (report L - R in units).
    ``aim``: -1 if the strengthening programme aims to reduce it, 0 if no direction is implied."""

    name: str
    unit: str
    label: str
    role: str  # primary | secondary | spatiotemporal | task
    scale: str
    aim: int = 0


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "eversion_excursion",
            "deg",
            "Foot eversion excursion (pronation)",
            "primary",
            "ratio",
            -1,
        ),
        Metric("eversion_velocity_peak", "deg/s", "Peak eversion velocity", "primary", "ratio", -1),
        Metric(
            "knee_frontal_excursion",
            "deg",
            "Knee frontal excursion in stance",
            "primary",
            "ratio",
            -1,
        ),
        Metric(
            "knee_abduction_peak", "deg", "Peak knee abduction (valgus)", "primary", "signed", -1
        ),
        Metric("pelvic_drop_peak", "deg", "Peak pelvic drop", "primary", "signed", -1),
        Metric(
            "eversion_peak", "deg", "Peak eversion (calibration-dependent)", "secondary", "signed"
        ),
        Metric(
            "eversion_ic",
            "deg",
            "Eversion at initial contact (calibration-dependent)",
            "secondary",
            "signed",
        ),
        Metric("time_to_peak_eversion", "% stance", "Time to peak eversion", "secondary", "ratio"),
        Metric(
            "knee_abduction_ic", "deg", "Knee abduction at initial contact", "secondary", "signed"
        ),
        Metric(
            "knee_flexion_peak_stance",
            "deg",
            "Peak knee flexion in early stance",
            "secondary",
            "ratio",
        ),
        Metric("stride_time", "s", "Stride time", "spatiotemporal", "ratio"),
        Metric("stance_time", "s", "Stance time", "spatiotemporal", "ratio"),
        Metric("swing_time", "s", "Swing time", "spatiotemporal", "ratio"),
        Metric("cadence", "steps/min", "Cadence", "spatiotemporal", "ratio"),
        Metric("stride_length", "m", "Stride length", "spatiotemporal", "ratio"),
        Metric("speed", "m/s", "Speed", "spatiotemporal", "ratio"),
        Metric("elevation_change", "m", "Elevation change per stride", "spatiotemporal", "signed"),
    ]
}

SQUAT_METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "knee_abduction_peak", "deg", "Peak knee abduction (valgus)", "primary", "signed", -1
        ),
        Metric("knee_frontal_excursion", "deg", "Knee frontal excursion", "primary", "ratio", -1),
        Metric("knee_flexion_peak", "deg", "Peak knee flexion (squat depth)", "task", "ratio"),
    ]
}

CURVE_VARIABLES: dict[str, str] = {
    "eversion": "Foot eversion (deg, + = eversion)",
    "knee_abduction": "Knee abduction (deg, + = valgus)",
}

GAIT_ACTIVITIES = ("walk", "stairs_up", "stairs_down", "run")
TASKS = ("squat", "step_down", "single_leg")  # single_leg: an unmarked squat or step-down bout
SIDES = ("left", "right")

ACTIVITY_LABELS = {
    "walk": "walking",
    "stairs_up": "stairs up",
    "stairs_down": "stairs down",
    "run": "running",
    "squat": "single-leg squat",
    "step_down": "step-down",
    "single_leg": "single-leg squat or step-down (unmarked)",
}


def metric_info(activity: str, name: str) -> Metric:
    """The Metric for a column in an activity (squat tasks have their own table); unknown names get a default."""
    table = SQUAT_METRICS if activity in TASKS else METRICS
    return table.get(name, Metric(name, "", name.replace("_", " "), "other", "signed"))
