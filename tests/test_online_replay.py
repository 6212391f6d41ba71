"""Online analysis and replay give the strides of offline analysis (issue 8): walking, stairs and running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.online import OnlineAnalyzer
from imu_gait.replay import analyzer_for, replay, sample_arrivals
from imu_gait.simulate import SimConfig, save, simulate

FEET = ["left_foot", "right_foot"]
TIMES = ["ic", "fc", "end", "stride_time", "stance_time", "swing_time"]
LENGTHS = ["stride_length", "elevation_change"]
ANGLES = ["eversion_ic", "eversion_peak", "eversion_excursion"]

SCENARIOS = {
    "walk": lambda: SimConfig.walk(strides=20, placements=tuple(FEET)),
    "stairs": lambda: SimConfig.stairs(flights=1, placements=tuple(FEET)),
    "run": lambda: SimConfig.run(strides=20, placements=tuple(FEET)),
}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request):
    session = simulate(SCENARIOS[request.param](), seed=3).session
    return request.param, session, analyze(session).strides


def _by_side(df: pd.DataFrame, side: str) -> pd.DataFrame:
    return df[df["side"] == side].sort_values("ic").reset_index(drop=True)


def _compare(offline: pd.DataFrame, online: pd.DataFrame) -> pd.DataFrame:
    """Stride by stride (per side, in time order; the counts must agree): largest event (s), length (m) and
    eversion angle (deg) differences, whether the activity agrees, and whether the stride begins a walking
    bout (one of the first two strides after a pause or turn)."""
    parts = []
    for side in ("left", "right"):
        a, b = _by_side(offline, side), _by_side(online, side)
        assert len(a) == len(b), f"{side}: {len(a)} offline vs {len(b)} online strides"
        cont = np.r_[False, np.isclose(a["ic"].to_numpy()[1:], a["end"].to_numpy()[:-1])]
        parts.append(
            pd.DataFrame(
                {
                    "dt": np.abs(a[TIMES] - b[TIMES]).to_numpy().max(axis=1),
                    "dl": np.abs(a[LENGTHS] - b[LENGTHS]).to_numpy().max(axis=1),
                    "da": np.abs(a[ANGLES] - b[ANGLES]).to_numpy().max(axis=1),
                    "same_activity": (a["activity"] == b["activity"]).to_numpy(),
                    "bout_start": ~cont | ~np.r_[False, cont[:-1]],
                }
            )
        )
    d = pd.concat(parts, ignore_index=True)
    d["within"] = (d["dt"] <= 0.005) & (d["dl"] <= 0.01) & (d["da"] <= 0.5)
    return d


def test_replay_at_max_speed_gives_the_strides_of_analyze(scenario) -> None:
    """With the session's calibration (``--calibration session``) the strides are ``analyze``'s: the same
    count and activities, every stride within 5 ms, 1 cm, 0.5 deg."""
    name, session, offline = scenario
    analyzer = analyzer_for(session, calibration="session")
    emitted = []
    replay(session, analyzer, source="samples", on_update=emitted.append)
    online = analyzer.strides
    assert len([u for u in emitted if u.final]) == len(online)
    assert len(offline) >= 16, f"{name}: the scenario should have strides to compare"
    d = _compare(offline, online)
    assert d["same_activity"].all()
    assert d["within"].all()
    # every stride's eversion curve came with it (101 points)
    curves = analyzer.curves
    assert len(curves) == 101 * len(online)
    assert set(curves["variable"]) == {"eversion"}


def test_replay_as_live_calibrates_from_the_first_seconds(scenario) -> None:
    """As live (calibration from the first 20 s), the alignment differs from the whole session's (on stairs,
    whose calibration period holds the way up and a turn and the session also the way down, by about 2 deg).
    The events do not depend on such small differences: every stride's events within 5 ms. The eversion angles
    on stairs carry the alignment difference (up to about 2 deg; shares within tolerance printed by
    benchmarks/bench_online.py)."""
    name, session, offline = scenario
    analyzer = analyzer_for(session)
    replay(session, analyzer, source="samples")
    assert all(f.calibration["period_s"][1] >= 19.9 for f in analyzer.feet.values())
    d = _compare(offline, analyzer.strides)
    assert (d["dt"] <= 0.005).all()
    assert d["within"].mean() >= {"walk": 1.0, "stairs": 0.6, "run": 1.0}[name]
    assert d["same_activity"].mean() >= 0.9


def test_with_the_same_alignment_online_is_the_offline_computation(scenario) -> None:
    """The one designed difference is where the alignment comes from: given the calibration period's alignment,
    offline analysis of the whole session gives the online strides (same events, lengths, angles)."""
    name, session, _ = scenario
    analyzer = analyzer_for(session)
    replay(session, analyzer, source="samples")
    online = analyzer.strides
    mounting = {f.placement: f.alignment.R for f in analyzer.feet.values()}
    offline = analyze(session, mounting=mounting).strides
    for side in ("left", "right"):
        a, b = _by_side(offline, side), _by_side(online, side)
        assert len(a) == len(b) > 5, (name, side)
    d = _compare(offline, online)
    assert d["same_activity"].all()
    assert (d.loc[~d["bout_start"], ["dt", "dl", "da"]].to_numpy() <= [0.001, 0.002, 0.1]).all()


def test_result_does_not_depend_on_how_samples_are_cut_into_blocks(scenario) -> None:
    _, session, _ = scenario
    small = analyzer_for(session)
    for a in sample_arrivals(session, block_s=0.01):
        small.feed(a.placement, a.t, a.acc, a.gyr)
    small.finish()
    big = analyzer_for(session)
    for a in sample_arrivals(session, block_s=0.7):
        big.feed(a.placement, a.t, a.acc, a.gyr)
    big.finish()
    pd.testing.assert_frame_equal(small.strides, big.strides)
    pd.testing.assert_frame_equal(small.curves, big.curves)


def test_strides_are_emitted_while_walking_not_at_the_end() -> None:
    session = simulate(SCENARIOS["walk"](), seed=5).session
    analyzer = analyzer_for(session)
    emitted_at = []
    for a in sample_arrivals(session):
        for u in analyzer.feed(a.placement, a.t, a.acc, a.gyr):
            emitted_at.append((u.row["end"], a.t_arrival))
    analyzer.finish()
    assert len(emitted_at) >= 0.8 * len(analyzer.strides)
    delays = np.array([arr - end for end, arr in emitted_at])
    after_calibration = delays[np.array([end for end, _ in emitted_at]) > analyzer.warmup_s + 3]
    # a stride is final once the mid-stance after the next stride is fixed (it needs the mid-swing after it):
    # about two strides after its end IC
    assert after_calibration.size >= 5
    assert np.median(after_calibration) < 3.0
    assert after_calibration.min() > 0


def test_pronation_part_comes_early_and_equals_the_final_row(scenario) -> None:
    """Each stride's timing, pronation and activity are emitted once its end IC is known (final=False). With
    the foot still at mid-stance (walking, stairs) the pronation equals the final row's; a running stance takes
    its gravity from the stride up to the next mid-stance, seen only partly then: within a few hundredths of a
    degree. Its stride length and speed come blank or provisional (test below)."""
    name, session, _ = scenario
    # a shorter calibration: more strides streamed after it
    analyzer = analyzer_for(session, warmup_s=8.0)
    early, final = {}, {}
    for a in sample_arrivals(session):
        for u in analyzer.feed(a.placement, a.t, a.acc, a.gyr):
            key = (u.side, u.row["stride"])
            if u.final:
                final[key] = (u, a.t_arrival)
            else:
                early.setdefault(key, []).append((u, a.t_arrival))
    for u in analyzer.finish():
        final[(u.side, u.row["stride"])] = (u, np.inf)
    assert len(early) >= {"walk": 8, "stairs": 8, "run": 8}[name]
    cols = ["ic", "fc", "end", "stride_time", "stance_time", "eversion_ic", "eversion_peak"]
    cols += ["eversion_excursion", "time_to_peak_eversion"]
    tol = 1e-4 if name != "run" else 0.2
    agree = []
    for key, ups in early.items():
        f, t_final = final[key]
        assert np.isfinite(f.row["stride_length"])
        for u, t in ups:
            agree.append(u.row["activity"] == f.row["activity"])
            # (the eversion windows of a foot result are filtered as one block padded to the longest: 1e-5 deg)
            assert [u.row[c] for c in cols] == pytest.approx([f.row[c] for c in cols], abs=tol)
            np.testing.assert_allclose(u.curves["value"], f.curves["value"], atol=tol)
            # after the end IC (its impact window), before the final row (the next mid-stance)
            assert u.row["end"] + 0.2 < t < t_final
        # at most two early updates: the pronation part, then the provisional stride length
        assert len(ups) <= 2 and all(np.isfinite(u.row["stride_length"]) for u, _ in ups[1:])
    assert np.mean(agree) >= 0.9
    # after the calibration period (strides before it come when it is done)
    firsts = [ups[0] for ups in early.values()]
    delays = [t - u.row["end"] for u, t in firsts if u.row["end"] > analyzer.warmup_s + 1]
    # issue 8: within 0.3 s of the stride's end (data time here; the processing adds about 0.05 s)
    assert np.median(delays) < 0.3


def _first_lengths_and_finals(session) -> tuple[dict, dict]:
    """Replay ``session`` at max speed with its own calibration: per (side, stride) the first update carrying
    a stride length, and the final update."""
    first, final = {}, {}

    def seen(u) -> None:
        key = (u.side, u.row["stride"])
        if np.isfinite(u.row["stride_length"]) and key not in first:
            first[key] = u
        if u.final:
            final[key] = u

    replay(session, analyzer_for(session, calibration="session"), source="samples", on_update=seen)
    return first, final


@pytest.mark.parametrize("rate", [100.0, 200.0])
@pytest.mark.parametrize("name", ["walk", "slow", "stairs", "run"])
def test_provisional_stride_length_comes_within_the_stance_and_is_as_good_as_the_final(
    name, rate
) -> None:
    """Live, a stride's length, speed and elevation change come provisionally once the foot rests after its
    end IC (walking, stairs) or its stance is over (running), from the trajectory to the stillest sample seen so
    far, and finally when the next mid-stance is fixed (about 1 s later). The provisional values come within
    0.3 s of the end IC for most strides and are about as close to the simulated truth as the final ones."""
    cfg = {
        "walk": SimConfig.walk(strides=16, placements=tuple(FEET), rate_hz=rate),
        "slow": SimConfig.walk(strides=12, speed=0.7, placements=tuple(FEET), rate_hz=rate),
        "stairs": SimConfig.stairs(flights=1, placements=tuple(FEET), rate_hz=rate),
        "run": SimConfig.run(strides=16, placements=tuple(FEET), rate_hz=rate),
    }[name]
    sim = simulate(cfg, seed=5)
    first, final = _first_lengths_and_finals(sim.session)
    assert set(first) == set(final) and len(final) >= 20
    end = max(d.t[-1] for d in sim.session.data.values()) - 1.0  # strides emitted while streaming
    early = [u for u in first.values() if not u.final and u.data_t < end]
    streamed = [u for u in final.values() if u.data_t < end]
    assert len(early) >= 0.85 * len(streamed)
    delays = np.array([u.data_t - u.row["end"] for u in early])
    assert np.percentile(delays, 90) < 0.3
    truth = sim.strides
    err = {"early": [], "final": []}
    for key, u in first.items():
        if u.final:
            continue
        t = truth[truth["side"] == u.side]
        j = int(np.argmin(np.abs(t["ic"].to_numpy() - u.row["ic"])))
        if abs(t["ic"].iloc[j] - u.row["ic"]) > 0.05:
            continue
        ref = t[["stride_length", "elevation_change"]].iloc[j].to_numpy()
        for label, row in (("early", u.row), ("final", final[key].row)):
            err[label].append(np.abs([row["stride_length"], row["elevation_change"]] - ref))
    e, f = np.array(err["early"]), np.array(err["final"])
    assert len(e) >= 0.8 * len(early)
    # length and elevation (m): median and 90th percentile no worse than the final's plus 2 cm and 4 cm; in
    # running the provisional elevation takes the tilt at the stillest moment of a stance without rest, which
    # the foot's own acceleration leans (simulated: 4-7 cm median vs the final's 2-4 cm; the length is better)
    slack = np.array([0.02, 0.05 if name == "run" else 0.02])
    assert np.all(np.median(e, axis=0) <= np.median(f, axis=0) + slack)
    assert np.all(np.percentile(e, 90, axis=0) <= np.percentile(f, 90, axis=0) + 2 * slack)


def test_memory_is_bounded_by_the_window() -> None:
    session = simulate(SCENARIOS["walk"](), seed=5).session
    analyzer = OnlineAnalyzer(session.sensors, static=session.calibration["static"], window_s=8.0)
    spans = []
    for a in sample_arrivals(session):
        analyzer.feed(a.placement, a.t, a.acc, a.gyr)
        for foot in analyzer.feet.values():
            if foot.alignment is not None and foot.buf.t.size:
                spans.append(foot.buf.t[-1] - foot.buf.t[0])
    assert spans and max(spans) <= 8.0 + 0.2


def test_replay_command_writes_the_strides_of_analyze(tmp_path: Path) -> None:
    result = simulate(SCENARIOS["walk"](), seed=7)
    folder = save(result, tmp_path / "walk")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "imu_gait", "replay", str(folder), "--speed", "max"),
            *("-o", str(out)),  # the default calibration is analyze's
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "replayed from samples: 40 strides" in proc.stdout
    strides = pd.read_csv(out / "strides.csv")
    curves = pd.read_csv(out / "curves.csv")
    offline = analyze(result.session).strides
    assert len(strides) == len(offline)
    assert list(strides.columns) == list(offline.columns)
    assert np.abs(strides["ic"].to_numpy() - offline["ic"].to_numpy()).max() < 0.001
    assert np.abs(strides["eversion_peak"] - offline["eversion_peak"]).max() < 0.01
    assert set(curves["pct"]) == set(np.linspace(0, 100, 101))
    # one line per stride in non-interactive output
    assert proc.stdout.count(" ic ") == len(strides)


def test_replay_command_rejects_a_bad_speed(tmp_path: Path) -> None:
    folder = save(
        simulate(SimConfig.walk(strides=3, placements=tuple(FEET)), seed=1), tmp_path / "s"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "replay", str(folder), "--speed", "fast"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--speed 'fast'" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "replay", str(folder), "--source", "raw"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no raw frame log" in proc.stderr


def test_knee_and_pelvis_columns_online_agree_with_analyze() -> None:
    """Thigh, shank and pelvis sensors: their calibration from the calibration period, then a window per
    stride."""
    session = simulate(SimConfig.walk(strides=16), seed=4).session  # all seven placements
    offline = analyze(session).strides
    analyzer = analyzer_for(session, warmup_s=12.0)  # more strides streamed after the calibration
    updates = []
    replay(session, analyzer, source="samples", on_update=updates.append)
    online = analyzer.strides
    assert set(analyzer.knee_calibration) == {"left", "right"}
    # the foot part of each stride comes first (for the live view), then provisional knee/pelvis columns from
    # a window ending at the newest sample, then the final row KNEE_TAIL_S later
    early, provisional = {}, {}
    for u in updates:
        key = (u.side, u.row["stride"])
        if not u.final and key not in early:
            early[key] = u
        elif not u.final and np.isfinite(u.row.get("knee_abduction_peak", np.nan)):
            provisional.setdefault(key, u)
    finals = {(u.side, u.row["stride"]): u for u in updates if u.final}
    assert len(finals) == len(online) and set(early) <= set(finals)
    assert len(early) >= len(finals) - 2  # all but those emitted at the end of the data
    for key, u in early.items():
        assert np.isnan(u.row.get("knee_abduction_peak", np.nan))
        assert u.row["eversion_peak"] == pytest.approx(finals[key].row["eversion_peak"], abs=1e-4)
    # after the calibration period (strides emitted as they complete) the foot part is seconds earlier
    calibrated = max(f.calibration["period_s"][1] for f in analyzer.feet.values())
    streamed = [k for k, u in early.items() if u.data_t > calibrated + 0.5 + 3.0]
    assert len(streamed) >= 4
    assert all(finals[k].data_t - early[k].data_t >= 0.9 for k in streamed)
    knee = [
        "knee_abduction_ic",
        "knee_abduction_peak",
        "knee_frontal_excursion",
        "pelvic_drop_peak",
    ]
    for k in streamed:
        p, f = provisional[k], finals[k]
        assert p.data_t - early[k].data_t < 0.1 and f.data_t - p.data_t > 2.0
        assert [p.row[c] for c in knee] == pytest.approx([f.row[c] for c in knee], abs=1.0)
    assert analyzer.pelvis_calibration is not None
    cols = ["knee_abduction_ic", "knee_abduction_peak", "knee_frontal_excursion"]
    for side in ("left", "right"):
        a, b = _by_side(offline, side), _by_side(online, side)
        assert len(a) == len(b) >= 12
        assert b[[*cols, "pelvic_drop_peak"]].notna().all().all()
        assert np.abs(a[cols] - b[cols]).to_numpy().max() <= 0.8
        assert np.abs(a["knee_flexion_peak_stance"] - b["knee_flexion_peak_stance"]).max() <= 2.5
        assert np.abs(a["pelvic_drop_peak"] - b["pelvic_drop_peak"]).max() <= 1.0
        # knee curves came with each stride
        c = analyzer.curves
        assert set(c.loc[c["side"] == side, "variable"]) == {
            "eversion",
            "knee_abduction",
            "knee_flexion",
        }


def test_a_knee_sensor_filtered_as_lossy_is_so_in_every_window() -> None:
    """A running thigh sensor that lost 0.3 % of its samples, all within 10 s: the whole session counts as
    lossy (cubic bridging of gaps, a faster inclination correction), but a 30 s knee window elsewhere holds no
    loss; deciding per window put the replayed peak stance flexion up to 1.6 deg off analyze's. The stream's
    decision now holds in every window."""
    from imu_gait.session import ImuData

    session = simulate(SimConfig.run(strides=70, rate_hz=100.0), seed=6).session
    d = session.data["right_thigh"]
    keep = np.ones(d.t.size, dtype=bool)
    at = np.searchsorted(d.t, 35.0)
    keep[at : at + 1000 : 50] = False  # 20 single samples within 10 s
    session.data["right_thigh"] = ImuData(d.t[keep], d.acc[keep], d.gyr[keep])
    offline = analyze(session).strides
    analyzer = analyzer_for(session, calibration="session")
    assert analyzer.knee_lossy["right_thigh"] and not analyzer.knee_lossy["right_shank"]
    replay(session, analyzer, source="samples")
    a, b = _by_side(offline, "right"), _by_side(analyzer.strides, "right")
    assert len(a) == len(b) >= 60
    cols = ["knee_abduction_ic", "knee_abduction_peak", "knee_flexion_peak_stance"]
    assert np.abs(a[cols] - b[cols]).to_numpy().max() <= 0.5


def test_without_knee_sensors_no_knee_columns_are_invented() -> None:
    session = simulate(SimConfig.walk(strides=12, placements=tuple(FEET)), seed=4).session
    analyzer = analyzer_for(session)
    replay(session, analyzer, source="samples")
    online = analyzer.strides
    assert len(online) >= 16
    assert online[["knee_abduction_peak", "pelvic_drop_peak"]].isna().all().all()


def test_a_standing_window_marked_while_recording_calibrates_the_live_analysis() -> None:
    """`record` passes the standing calibration marked live (open while the subject stands, then closed) to
    the online analyzer: its foot calibration then takes gravity and the eversion zero from that window; a
    window marked after the live calibration is reported, not used."""
    session = simulate(SimConfig.walk(strides=12, placements=tuple(FEET)), seed=6).session
    t0, t1 = session.calibration["static"]

    def run(marks: dict[float, list[float]], warmup_s: float = 20.0) -> OnlineAnalyzer:
        analyzer = OnlineAnalyzer(session.sensors, warmup_s=warmup_s)
        pending = dict(sorted(marks.items()))
        for a in sample_arrivals(session):
            for at in [k for k in pending if a.t_arrival >= k]:
                analyzer.set_static(pending.pop(at))
            analyzer.feed(a.placement, a.t, a.acc, a.gyr)
        analyzer.finish()
        return analyzer

    marked = run({t0 + 0.1: [t0, float("inf")], t1 + 0.1: [t0, t1]})
    plain = run({})
    for p in FEET:
        assert marked.feet[p].calibration["eversion_zero"]["source"] == "static calibration"
        assert plain.feet[p].calibration["eversion_zero"]["source"] != "static calibration"
    late = run({t1 + 3.0: [t0, t1]}, warmup_s=t1 + 1.0)
    assert all(
        late.feet[p].calibration["eversion_zero"]["source"] != "static calibration" for p in FEET
    )
    assert any("marked after the live calibration" in w for w in late.warnings)


def test_provisional_stride_length_on_the_real_walk() -> None:
    """The real walk (a foot that rests later after contact than the simulated one, 0.2-0.4 s): each streamed
    stride's provisional length comes once the foot rests, and stays close to the final row's."""
    from test_strides_real import make_session, read_gaitmap_walk

    first, final = _first_lengths_and_finals(make_session(read_gaitmap_walk()))
    early = {k: u for k, u in first.items() if not u.final}
    assert len(early) >= 55 and set(early) <= set(final)
    delays = np.array([u.data_t - u.row["end"] for u in early.values()])
    # the foot rests 0.21-0.39 s after contact here: most but not all within 0.3 s
    assert np.median(delays) < 0.3 and np.percentile(delays, 95) < 0.45
    d = np.array(
        [
            [u.row[c] - final[k].row[c] for c in ("stride_length", "elevation_change")]
            for k, u in early.items()
        ]
    )
    assert np.all(np.median(np.abs(d), axis=0) < 0.025)
    assert np.all(np.percentile(np.abs(d), 90, axis=0) < 0.06)


def test_replaying_the_mixed_demo_session_gives_analyzes_strides() -> None:
    """The shipped 4-minute demo visit (7 sensors at 100 Hz, soft-tissue artefact, 0.1 % lost samples; walk,
    turns, stairs, running, squats, step-downs), replayed at max speed with its own calibration: the strides of
    ``analyze`` within 5 ms, 1 cm and 0.5 deg, knee and pelvis columns included (issue 8)."""
    from imu_gait.session import load_session

    session = load_session(Path(__file__).resolve().parents[1] / "recordings" / "demo_pre")
    offline = analyze(session).strides
    analyzer = analyzer_for(session, calibration="session")
    replay(session, analyzer, source="auto")
    d = _compare(offline, analyzer.strides)
    assert len(d) >= 190 and d["within"].all()
    knee = [
        "knee_abduction_ic",
        "knee_abduction_peak",
        "knee_frontal_excursion",
        "knee_flexion_peak_stance",
        "pelvic_drop_peak",
    ]
    for side in ("left", "right"):
        a, b = _by_side(offline, side), _by_side(analyzer.strides, side)
        assert a[knee].notna().sum().min() >= 40
        assert np.nanmax(np.abs(a[knee] - b[knee]).to_numpy()) <= 0.5


@pytest.mark.parametrize(("every", "lossy"), [(20, True), (100, False)])
def test_live_the_losses_so_far_decide_whether_a_knee_sensor_is_lossy(every, lossy) -> None:
    """Live, no whole session is known: a knee sensor counts as lossy from the samples it has lost so far, the
    same share :func:`imu_gait.pipeline.vqf_orientation.is_lossy` uses (0.2 %), not from one window's."""
    from imu_gait.session import SensorInfo

    info = SensorInfo(rate_hz=100.0)
    an = OnlineAnalyzer({"left_thigh": info, "left_shank": info}, knee=True)
    t = np.arange(0.0, 60.0, 0.01)
    acc = np.tile([0.0, 0.0, 9.81], (t.size, 1))
    gyr = np.zeros((t.size, 3))
    keep = np.ones(t.size, dtype=bool)
    keep[1000:1600:every] = False  # 30 (0.5 %) or 6 (0.1 %) of 6000 samples, all within 6 s
    for i in range(0, t.size, 100):  # 1 s blocks
        sl = slice(i, i + 100)
        an.feed("left_thigh", t[sl][keep[sl]], acc[sl][keep[sl]], gyr[sl][keep[sl]])
        an.feed("left_shank", t[sl], acc[sl], gyr[sl])
    assert an._lossy() == {"left_thigh": lossy, "left_shank": False}
