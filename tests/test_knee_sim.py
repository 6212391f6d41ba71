"""Knee and pelvis accuracy against the project simulator's truth (imu_gait.simulate): random mountings, the
default sensor noise and bias, the simulator's soft-tissue artefact (soft_tissue="typical": sensor rotation and
shift following the knee flexion, ringing after contacts), 100-200 Hz, both sides."""

from __future__ import annotations

import json

import numpy as np
import pytest
from knee_synth import rotate_sensors
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.knee import analyze_knee, calibration_from_dict
from imu_gait.pipeline.knee_eval import knee_errors, squat_errors
from imu_gait.simulate import Activity, SensorNoise, SimConfig, simulate

KNEE = ("left_thigh", "left_shank", "right_thigh", "right_shank", "pelvis")
STA = "typical"


def _strides(sim):
    return sim.strides[["side", "stride", "activity", "ic", "fc", "end"]]


WALK = SimConfig.walk(strides=14, rate_hz=100.0, placements=KNEE)
STAIRS = SimConfig.stairs(flights=1, rate_hz=100.0, placements=KNEE)
RUN = SimConfig.run(strides=14, rate_hz=200.0, placements=KNEE)


@pytest.mark.parametrize(
    ("name", "config", "sta", "valgus_max", "drop_max"),
    [
        # the targets: peak valgus <= 1.5 deg, pelvic drop <= 1 deg per stride
        ("walk", WALK, STA, 1.5, 1.0),
        ("stairs", STAIRS, STA, 1.5, 1.0),
        ("run", RUN, None, 1.5, 1.0),
        ("run+sta", RUN, STA, 1.5, 1.0),
    ],
)
def test_knee_and_pelvis_targets_on_simulated_gait(
    name: str, config: SimConfig, sta: str | None, valgus_max: float, drop_max: float
) -> None:
    sim = simulate(config.with_(soft_tissue=sta), seed=7)
    res = analyze_knee(sim.session, _strides(sim))
    errors = knee_errors(sim, res)
    assert set(errors) == {"left", "right"}
    for side, e in errors.items():
        assert e["strides"] >= 8, (name, side)
        assert e["flexion_rmse"] <= 2.0, (name, side, e)
        assert e["abduction_rmse"] <= 2.0, (name, side, e)
        assert e["valgus_peak_max"] <= valgus_max, (name, side, e)
        assert e["pelvic_drop_max"] <= drop_max, (name, side, e)


def test_squat_and_step_down_repetitions_after_walking_match_truth() -> None:
    config = SimConfig(
        [
            Activity("walk", strides=10),
            Activity("stand", duration=2.0),
            Activity("squat", side="left", reps=3),
            Activity("stand", duration=2.0),
            Activity("squat", side="right", reps=3),
            Activity("stand", duration=2.0),
            Activity("step_down", side="left", reps=3),
            Activity("stand", duration=2.0),
            Activity("step_down", side="right", reps=3),
            Activity("stand", duration=2.0),
        ],
        rate_hz=100.0,
        placements=KNEE,
        soft_tissue=STA,
    )
    sim = simulate(config, seed=8)
    res = analyze_knee(sim.session, _strides(sim))
    err = squat_errors(sim, res)
    assert len(res.squats) == len(sim.squats) == 12
    assert list(res.squats["task"]) == list(sim.squats["task"])
    assert list(res.squats["side"]) == list(sim.squats["side"])
    assert err["flexion_peak_err"].abs().max() <= 2.0
    assert err["abduction_peak_err"].abs().max() <= 1.5


def test_simulated_result_does_not_depend_on_mounting() -> None:
    sim = simulate(SimConfig.walk(strides=10, rate_hz=100.0, placements=KNEE), seed=9)
    rotations = {p: Rotation.random(random_state=10 + i).as_matrix() for i, p in enumerate(KNEE)}
    a = analyze_knee(sim.session, _strides(sim)).stride_columns
    b = analyze_knee(rotate_sensors(sim.session, rotations), _strides(sim)).stride_columns
    cols = [
        "knee_abduction_ic",
        "knee_abduction_peak",
        "knee_flexion_peak_stance",
        "pelvic_drop_peak",
    ]
    assert np.nanmax(np.abs(a[cols].to_numpy() - b[cols].to_numpy())) < 0.1


@pytest.mark.parametrize(
    "config", [WALK, SimConfig.run(strides=10, rate_hz=200.0)], ids=["walk", "run"]
)
def test_shank_events_find_every_simulated_stride(config: SimConfig) -> None:
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    sim = simulate(config.with_(placements=legs, soft_tissue=STA), seed=11)
    res = analyze_knee(sim.session, None)
    assert res.quality["strides_source"] == "shank"
    for side in ("left", "right"):
        found = res.strides[res.strides["side"] == side]
        truth = sim.strides[sim.strides["side"] == side]
        ic_err, fc_err = [], []
        for r in truth.itertuples():
            k = int(np.argmin(np.abs(found["ic"].to_numpy() - r.ic)))
            assert abs(found["ic"].iloc[k] - r.ic) < 0.1
            ic_err.append(found["ic"].iloc[k] - r.ic)
            fc_err.append(abs(found["fc"].iloc[k] - r.fc))
        # contact from the impact felt at the shank (the rate minimum alone: 70 ms early in walking,
        # 40 ms in running)
        assert abs(np.median(ic_err)) < 0.025, (side, np.median(ic_err))
        # toe-off from the shank is less sharp (gait initiation strides especially; late in running)
        assert np.median(fc_err) < (0.08 if config is WALK else 0.1)
        assert max(fc_err) < 0.2
    assert res.stride_columns["knee_abduction_peak"].notna().sum() >= 16


def test_squat_only_session_warns_and_stays_within_three_degrees() -> None:
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    sim = simulate(SimConfig.squats(reps=3, rate_hz=100.0, placements=legs), seed=12)
    res = analyze_knee(sim.session, None)
    err = squat_errors(sim, res)
    assert len(res.squats) == 6
    assert err["flexion_peak_err"].abs().max() <= 2.0
    assert err["abduction_peak_err"].abs().max() <= 3.0
    assert any("record some walking" in w for w in res.quality["warnings"])


def test_lost_samples_keep_frontal_plane_metrics_within_targets() -> None:
    config = SimConfig.walk(
        strides=14, rate_hz=100.0, placements=KNEE, noise=SensorNoise(drop_rate=0.02)
    )
    sim = simulate(config, seed=13)
    res = analyze_knee(sim.session, _strides(sim))
    assert all(f > 0.005 for f in res.quality["lost_samples"].values())
    assert any("lost samples" in w for w in res.quality["warnings"])
    for side, e in knee_errors(sim, res).items():
        assert e["abduction_rmse"] <= 2.0, (side, e)
        assert e["valgus_peak_max"] <= 1.5, (side, e)
        assert e["pelvic_drop_max"] <= 1.0, (side, e)
        assert e["flexion_rmse"] <= 5.0, (side, e)


def test_calibration_from_walking_is_reused_for_a_squat_session(tmp_path) -> None:
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    walk = simulate(SimConfig.walk(strides=12, rate_hz=100.0, placements=legs), seed=21)
    res_walk = analyze_knee(walk.session, _strides(walk))
    # through quality.json, as a later analysis would read it
    path = tmp_path / "quality.json"
    path.write_text(json.dumps(res_walk.quality))
    saved = json.loads(path.read_text())["calibration"]
    calibration = {side: calibration_from_dict(d) for side, d in saved.items()}
    # a second session, same strapping (same mountings), only squats
    config = SimConfig.squats(reps=3, rate_hz=100.0, placements=legs, mounting=dict(walk.mounting))
    squats = simulate(config, seed=22)
    own = squat_errors(squats, analyze_knee(squats.session, None))
    reused_result = analyze_knee(squats.session, None, calibration=calibration)
    reused = squat_errors(squats, reused_result)
    assert reused_result.quality["knee"]["left"]["axis_from"].startswith("given")
    assert reused["abduction_peak_err"].abs().max() <= 1.0
    assert reused["flexion_peak_err"].abs().max() <= 2.0
    assert reused["abduction_peak_err"].abs().mean() < own["abduction_peak_err"].abs().mean()
