"""Single-leg squat repetitions: detection on a known signal and end to end against the truth, and unmarked
single-leg task bouts."""

from __future__ import annotations

import dataclasses

import numpy as np
from knee_synth import synth_session

from imu_gait.pipeline.knee import analyze_knee
from imu_gait.pipeline.squats import (
    consistent_repetitions,
    detect_task_segments,
    find_repetitions,
    squat_table,
)
from imu_gait.plots.knee import squats_figure
from imu_gait.simulate import SimConfig, simulate


def test_find_repetitions_on_a_known_flexion_signal() -> None:
    t = np.arange(0, 15, 0.01)
    cyc = np.where((t > 2) & (t < 12), 0.5 - 0.5 * np.cos(2 * np.pi * (t - 2) / 2.5), 0.0)
    flex = 5 + 60 * cyc
    reps = find_repetitions(t, flex)
    assert len(reps) == 4
    for k, (start, peak, end) in enumerate(reps):
        assert abs(peak - (2 + 1.25 + 2.5 * k)) < 0.02
        assert start < peak < end
    abd = 2 * cyc
    table = squat_table(t, {"left": flex}, {"left": abd}, [{"t": 1, "t_end": 13, "label": "squat"}])
    assert list(table["rep"]) == [0, 1, 2, 3]
    assert np.allclose(table["knee_flexion_peak"], 65, atol=0.01)
    assert np.allclose(table["knee_abduction_peak"], 2, atol=0.01)


def test_squat_reps_after_walking_match_truth() -> None:
    session, truth = synth_session("walk", n_strides=12, seed=11, squat_reps=4, pelvis=False)
    res = analyze_knee(session, truth.strides)
    sq = res.squats
    assert len(sq) == 4
    assert set(sq["side"]) == {"left"}
    k = truth.knee["left"]
    for r in sq.itertuples():
        sel = (truth.t >= r.start) & (truth.t <= r.end)
        assert abs(r.knee_flexion_peak - k[sel, 0].max()) < 2.0
        assert abs(r.knee_abduction_peak - k[sel, 1].max()) < 2.5


def test_excursions_unlike_the_repetitions_are_left_out() -> None:
    t = np.arange(0, 20, 0.01)
    flex = 5 + 60 * np.where((t > 4) & (t < 14), 0.5 - 0.5 * np.cos(2 * np.pi * (t - 4) / 2.5), 0.0)
    # stepping onto the box before the task: a short, deep excursion
    flex += 95 * np.exp(-0.5 * ((t - 2.0) / 0.12) ** 2)
    # stepping off afterwards: short and shallow
    flex += 30 * np.exp(-0.5 * ((t - 16.5) / 0.15) ** 2)
    found = find_repetitions(t, flex)
    kept = consistent_repetitions(found, t, flex)
    assert len(found) == 6
    assert len(kept) == 4
    assert all(4 < peak < 14 for _, peak, _ in kept)


def _reps_signal(t: np.ndarray, t0: float, n: int, period: float, depth: float) -> np.ndarray:
    """``n`` smooth bends of ``depth`` deg from ``t0``, one per ``period`` s, 0 elsewhere."""
    ph = (t - t0) / period
    return np.where((ph > 0) & (ph < n), depth * (0.5 - 0.5 * np.cos(2 * np.pi * ph)), 0.0)


def test_unmarked_single_leg_bends_are_told_from_other_knee_movements() -> None:
    t = np.arange(0.0, 30.0, 0.01)
    bend = _reps_signal(t, 5.0, 5, 3.0, 55.0)
    work = 5.0 + bend
    squat_lean = 0.4 * bend  # the knee moves ahead of the ankle, the thigh takes the larger part
    straight = np.full(t.size, 4.0)

    found = detect_task_segments(
        t, {"left": work, "right": straight}, [], {"left": squat_lean, "right": 0 * t}
    )
    assert [(task, side) for task, _, _, side in found] == [("single_leg", "left")]
    _, t0, t1, _ = found[0]
    assert 3.9 <= t0 < 5.0 and 20.0 < t1 <= 21.1
    # the free leg held up behind, bending a little along: still the left leg's task
    held = 75.0 + 0.5 * bend
    assert len(detect_task_segments(t, {"left": work, "right": held}, [])) == 1
    # hamstring curls: the shank swings alone (its lean equals the flexion)
    assert detect_task_segments(t, {"left": work, "right": straight}, [], {"left": bend}) == []
    # a knee raised in front: the shank hangs, no lean
    assert detect_task_segments(t, {"left": work, "right": straight}, [], {"left": 0 * t}) == []
    # both knees bending from standing (sit-to-stand, squats on two legs)
    assert detect_task_segments(t, {"left": work, "right": 3.0 + 0.9 * bend}, []) == []
    # inside strides or a marked segment: not sought
    # a few strides between the bends split the bout: the three after them remain one
    split = detect_task_segments(t, {"left": work, "right": straight}, [(10.0, 11.0)])
    assert len(split) == 1 and 11.0 <= split[0][1] < 11.5 and split[0][2] == t1
    assert detect_task_segments(t, {"left": work, "right": straight}, [(0.0, 30.0)]) == []
    # two bends are no bout
    two = 5.0 + _reps_signal(t, 5.0, 2, 3.0, 55.0)
    assert detect_task_segments(t, {"left": two, "right": straight}, []) == []


def test_unmarked_squats_and_step_downs_are_found_as_the_marked_ones() -> None:
    """A simulated session of single-leg squats and step-downs with its marks removed gives the same
    repetitions (task ``single_leg``) as with them; walking, stairs and running sessions give none."""
    knee = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    sim = simulate(
        SimConfig.squats(reps=5, step_downs=True, rate_hz=100.0, placements=knee).with_(
            soft_tissue="typical"
        ),
        seed=1,
    )
    marked = analyze_knee(sim.session, None).squats
    bare = dataclasses.replace(
        sim.session,
        events=[
            e for e in sim.session.events or [] if e.get("label") not in ("squat", "step_down")
        ],
    )
    res = analyze_knee(bare, None)
    found = res.squats
    assert len(marked) == len(sim.squats) == 20
    assert len(found) == 20 and set(found["task"]) == {"single_leg"}
    cols = ["side", "start", "end", "knee_flexion_peak", "knee_abduction_peak"]
    a = marked.sort_values("start")[cols].reset_index(drop=True)
    b = found.sort_values("start")[cols].reset_index(drop=True)
    assert (a["side"] == b["side"]).all()
    assert np.abs(a[cols[1:]].to_numpy() - b[cols[1:]].to_numpy()).max() < 1e-9
    # squats and step-downs of a leg are both "single_leg": repetitions are numbered on, not restarted
    assert all(sorted(g) == list(range(10)) for _, g in found.groupby("side")["rep"])
    fig = squats_figure(found)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4 and all("unmarked squat or step-down" in x for x in titles)
    bouts = res.quality["tasks_detected"]
    assert [x["side"] for x in bouts] == ["left", "right", "left", "right"]
    assert any("unmarked single-leg" in w for w in res.quality["warnings"])
    for cfg in (
        SimConfig.walk(strides=20, placements=knee),
        SimConfig.stairs(flights=1, placements=knee),
        SimConfig.run(strides=20, placements=knee),
    ):
        sim = simulate(cfg.with_(soft_tissue="typical"), seed=2)
        res = analyze_knee(
            sim.session, sim.strides[["side", "stride", "activity", "ic", "fc", "end"]]
        )
        assert res.squats.empty and "tasks_detected" not in res.quality
