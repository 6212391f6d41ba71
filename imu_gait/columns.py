"""The column contracts of the analysis outputs (DESIGN.md section 5), defined once for the whole package."""

from __future__ import annotations

ACTIVITIES = ("walk", "stairs_up", "stairs_down", "run", "other")

STRIDE_KEY_COLUMNS = ("side", "stride", "activity", "ic", "fc", "end")

FOOT_COLUMNS = (
    *STRIDE_KEY_COLUMNS,
    "stride_time",
    "stance_time",
    "swing_time",
    "cadence",
    "stride_length",
    "speed",
    "elevation_change",
    "eversion_ic",
    "eversion_peak",
    "eversion_excursion",
    "eversion_velocity_peak",
    "time_to_peak_eversion",
)

KNEE_COLUMNS = (
    "knee_abduction_ic",
    "knee_abduction_peak",
    "knee_frontal_excursion",
    "knee_flexion_peak_stance",
)

PELVIS_COLUMNS = ("pelvic_drop_peak",)

# strides.csv: the contract columns, then extras the analysis adds after them
STRIDE_COLUMNS = (*FOOT_COLUMNS, *KNEE_COLUMNS, *PELVIS_COLUMNS, "quality")
EXTRA_STRIDE_COLUMNS = ("foot_clearance",)

CURVE_COLUMNS = ("side", "stride", "variable", "pct", "value")
CURVE_POINTS = 101  # pct 0..100

SQUAT_COLUMNS = (
    "side",
    "task",
    "rep",
    "start",
    "end",
    "knee_flexion_peak",
    "knee_abduction_peak",
    "knee_frontal_excursion",
)
