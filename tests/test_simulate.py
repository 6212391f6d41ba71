"""The gait simulator: its signals are consistent with its own kinematics, and its truth with the definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from imu_gait.anatomy import foot_eversion, knee_angles, pelvic_drop
from imu_gait.pipeline.signal import GRAVITY, find_gaps
from imu_gait.session import PLACEMENTS
from imu_gait.simulate import Activity, SensorNoise, SimConfig, simulate
from imu_gait.simulate.kinematics import HEEL_SLIDE_S

STRIDE_COLUMNS = (
    "side, stride, activity, ic, fc, end, stride_time, stance_time, swing_time, cadence, stride_length, speed, "
    "elevation_change, eversion_ic, eversion_peak, eversion_excursion, eversion_velocity_peak, "
    "time_to_peak_eversion, knee_abduction_ic, knee_abduction_peak, knee_frontal_excursion, "
    "knee_flexion_peak_stance, pelvic_drop_peak, quality"
).split(", ")


def ideal(config: SimConfig) -> SimConfig:
    return config.with_(
        noise=SensorNoise.none(), quantize=False, acc_range_g=1000.0, gyr_range_dps=1e5
    )


@pytest.fixture(scope="module")
def walk_1k():
    """Noise-free walking at 1000 Hz, random mountings."""
    return simulate(ideal(SimConfig.walk(strides=4, rate_hz=1000.0)), seed=3)


@pytest.fixture(scope="module")
def walk():
    return simulate(SimConfig.walk(strides=8), seed=5)


@pytest.fixture(scope="module")
def mixed():
    return simulate(ideal(SimConfig.mixed(walk_strides=3, run_strides=4)), seed=7)


def integrate_gyro(t: np.ndarray, gyr_dps: np.ndarray, R0: np.ndarray) -> np.ndarray:
    """Orientations (n, 3, 3) from body-frame angular rates by RK4 on the quaternion, rates interpolated cubically."""
    w = CubicSpline(t, np.radians(gyr_dps), axis=0)
    q = Rotation.from_matrix(R0).as_quat(scalar_first=True)
    out = [q]

    def dq(q, om):
        w_, x, y, z = q
        p, r, s = om
        return 0.5 * np.array(
            [
                -x * p - y * r - z * s,
                w_ * p + y * s - z * r,
                w_ * r - x * s + z * p,
                w_ * s + x * r - y * p,
            ]
        )

    for k in range(t.size - 1):
        h = t[k + 1] - t[k]
        om0, om1, om2 = w(t[k]), w(t[k] + h / 2), w(t[k + 1])
        k1 = dq(q, om0)
        k2 = dq(q + h / 2 * k1, om1)
        k3 = dq(q + h / 2 * k2, om1)
        k4 = dq(q + h * k3, om2)
        q = q + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        q /= np.linalg.norm(q)
        out.append(q)
    return Rotation.from_quat(np.array(out), scalar_first=True).as_matrix()


def angle_between(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    return np.degrees(Rotation.from_matrix(np.transpose(Ra, (0, 2, 1)) @ Rb).magnitude())


@pytest.mark.parametrize(
    "placement", ["left_foot", "right_foot", "left_shank", "right_thigh", "pelvis"]
)
def test_integrated_gyro_reproduces_orientation_over_a_stride(walk_1k, placement):
    stride = walk_1k.strides[walk_1k.strides.side == "left"].iloc[1]
    d = walk_1k.session.data[placement]
    sel = (d.t >= stride.ic) & (d.t <= stride.end)
    t = d.t[sel]
    _, R_true, _ = walk_1k.sensor_pose(placement, t)
    R_int = integrate_gyro(t, d.gyr[sel], R_true[0])
    err = angle_between(R_int, R_true)
    assert err.max() < 0.1
    # and the sensor really rotates a lot in a stride, so the test is not trivial
    assert angle_between(R_true[:1], R_true).max() > (20.0 if placement != "pelvis" else 3.0)


def test_still_accelerometer_reads_gravity(walk_1k):
    a, b = walk_1k.session.calibration["static"]
    for placement in PLACEMENTS:
        d = walk_1k.session.data[placement]
        sel = (d.t > a) & (d.t < b)
        _, R, _ = walk_1k.sensor_pose(placement, d.t[sel])
        expected = np.einsum("nji,j->ni", R, np.array([0.0, 0.0, GRAVITY]))
        assert np.abs(d.acc[sel] - expected).max() < 1e-6
        assert np.abs(np.linalg.norm(d.acc[sel], axis=1) - GRAVITY).max() < 1e-6
        assert np.abs(d.gyr[sel]).max() < 1e-6


@pytest.mark.parametrize("side", ["left", "right"])
def test_foot_is_still_in_foot_flat_and_touches_the_ground(mixed, side):
    foot = mixed.model.feet[side]
    body = mixed.config.body
    n_checked = 0
    for c in mixed.plan.contacts[side][1:-1]:
        floor = c.pos[2]
        if c.t_ho - c.t_ff > 0.02:
            t = np.linspace(c.t_ff, c.t_ho, 40)
            _, o, *_ = foot.evaluate(t)
            assert np.abs(o - c.pos).max() < 1e-12
            n_checked += 1
        # heel (or forefoot) on the floor at initial contact, metatarsal heads on the floor at toe-off; a running
        # touchdown lands the sole on the floor still moving down at touchdown_vz, and the sole compresses by
        # touchdown_vz * T / 2 while the ground stops it
        R, o, *_ = foot.evaluate(np.array([c.t_ic, c.t_fc]))
        contact = o[0] if c.pitch_ic >= 0 else o[0] + R[0] @ [body.mtp_length, 0, 0]
        sink = 0.0
        if c.touchdown_vz > 0 and c.t_ff > c.t_ic:
            sink = c.touchdown_vz * min(HEEL_SLIDE_S, 0.5 * (c.t_ff - c.t_ic)) / 2.0
            assert 0.002 < sink < 0.01
        assert contact[2] == pytest.approx(floor + sink, abs=1e-9)
        assert (o[1] + R[1] @ [body.mtp_length, 0, 0])[2] == pytest.approx(floor, abs=1e-9)
    assert n_checked > 10


def test_stride_length_and_elevation_are_the_foot_displacement(mixed):
    ev = mixed.events.set_index(["side", "stride"])
    for row in mixed.strides.itertuples():
        side = row.side
        t_here = ev.loc[(side, row.stride), "mid_stance"]
        cs = [c for c in mixed.plan.contacts[side] if c.t_ic > row.ic - 1e-9]
        nxt = cs[1]
        t_next = 0.5 * (max(nxt.t_ff, nxt.t_ic) + min(nxt.t_ho, nxt.t_ic + 2.0))
        _, _, p = mixed.segment_pose(f"{side}_foot", np.array([t_here, t_next]))
        assert row.stride_length == pytest.approx(np.hypot(*(p[1, :2] - p[0, :2])), abs=1e-9)
        assert row.elevation_change == pytest.approx(p[1, 2] - p[0, 2], abs=1e-9)
        assert row.speed == pytest.approx(row.stride_length / row.stride_time)
    up = mixed.strides[mixed.strides.activity == "stairs_up"]
    down = mixed.strides[mixed.strides.activity == "stairs_down"]
    riser = 0.17
    assert len(up) >= 6 and len(down) >= 6
    # step over step: two risers per stride, except a last step-to onto the landing
    for strides, sign in ((up, 1.0), (down, -1.0)):
        rise = sign * strides.elevation_change.to_numpy()
        assert np.isclose(rise, 2 * riser).sum() >= 6
        assert (np.isclose(rise, 2 * riser) | np.isclose(rise, riser)).all()


def test_segments_stay_connected(mixed):
    b = mixed.config.body
    t = np.linspace(0.0, mixed.plan.t_end, 3000)
    poses = mixed.model.evaluate(t)
    Rp, P = poses["pelvis"]
    for side in ("left", "right"):
        Rt, H = poses[f"{side}_thigh"]
        Rs, K = poses[f"{side}_shank"]
        Rf, origin = poses[f"{side}_foot"]
        assert np.abs(P + Rp @ b.hip_offset(side) - H).max() < 1e-12  # pelvis carries the hip
        assert np.abs(H - b.thigh_length * Rt[:, :, 2] - K).max() < 1e-12  # thigh ends at the knee
        ankle_from_shank = K - b.shank_length * Rs[:, :, 2]
        assert (
            np.abs(ankle_from_shank - (origin + Rf @ b.ankle_offset())).max() < 1e-9
        )  # shank ends at the ankle
        for R in (Rt, Rs, Rf):
            assert np.abs(R @ np.transpose(R, (0, 2, 1)) - np.eye(3)).max() < 1e-9


def _lateral(side: str) -> np.ndarray:
    return np.array([0.0, 1.0, 0.0]) if side == "left" else np.array([0.0, -1.0, 0.0])


@pytest.mark.parametrize("side", ["left", "right"])
def test_positive_eversion_lowers_the_medial_edge(walk, side):
    rows = walk.strides[walk.strides.side == side]
    checked = 0
    for row in rows.itertuples():
        for t, ev in (
            (row.ic + row.time_to_peak_eversion / 100.0 * row.stance_time, row.eversion_peak),
            (row.ic, row.eversion_ic),
        ):
            if abs(ev) < 1.0:
                continue
            _, R, o = walk.segment_pose(f"{side}_foot", np.array([t]))
            medial = o[0] + R[0] @ (np.array([0.1, 0.0, 0.0]) - 0.04 * _lateral(side))
            lateral = o[0] + R[0] @ (np.array([0.1, 0.0, 0.0]) + 0.04 * _lateral(side))
            assert np.sign(medial[2] - lateral[2]) == -np.sign(
                ev
            )  # eversion > 0 <=> medial edge lower
            # and the truth value is the anatomical angle relative to standing
            ref = walk.reference[f"eversion_{side}"]
            assert float(foot_eversion(R, side)[0] - ref) == pytest.approx(ev, abs=1e-6)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("side", ["left", "right"])
def test_positive_valgus_puts_the_ankle_lateral_of_the_knee(walk, side):
    curves = walk.curves[(walk.curves.side == side) & (walk.curves.variable == "knee_abduction")]
    checked = 0
    for row in walk.strides[walk.strides.side == side].itertuples():
        c = curves[curves.stride == row.stride]
        i = int(np.argmax(c.value.to_numpy()))
        t = np.array([row.ic, row.ic + c.pct.to_numpy()[i] / 100.0 * row.stance_time])
        poses = walk.model.evaluate(t, segments=(f"{side}_thigh", f"{side}_shank"))
        Rt, _ = poses[f"{side}_thigh"]
        Rs, _K = poses[f"{side}_shank"]
        ankle_in_thigh = np.einsum("nji,nj->ni", Rt, -walk.config.body.shank_length * Rs[:, :, 2])
        lateral_offset = ankle_in_thigh @ _lateral(side)
        valgus = knee_angles(Rt, Rs, side)[:, 1] - walk.reference[f"knee_{side}"][1]
        assert valgus[1] == pytest.approx(row.knee_abduction_peak, abs=1e-6)
        assert row.knee_abduction_peak > 1.0
        assert lateral_offset[1] > lateral_offset[0] + 0.005  # valgus moved the ankle laterally (m)
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("side", ["left", "right"])
def test_positive_pelvic_drop_lowers_the_other_hip(walk, side):
    other = "right" if side == "left" else "left"
    b = walk.config.body
    for row in walk.strides[walk.strides.side == side].itertuples():
        t = np.linspace(row.ic, row.fc, 101)
        _, Rp, _ = walk.segment_pose("pelvis", t)
        drop = pelvic_drop(Rp, side) - walk.reference[f"drop_{side}"]
        i = int(np.argmax(drop))
        assert drop[i] == pytest.approx(row.pelvic_drop_peak, abs=0.05)
        assert row.pelvic_drop_peak > 1.0
        hip_z = {s: (Rp[i] @ b.hip_offset(s))[2] for s in ("left", "right")}
        assert hip_z[other] < hip_z[side] - 0.001


def test_truth_tables_follow_the_contracts(walk):
    s = walk.strides
    assert list(s.columns) == STRIDE_COLUMNS
    assert set(s.side) == {"left", "right"} and (s.groupby("side").size() == 8).all()
    assert set(s.activity) == {"walk"} and set(s.quality) == {"ok"}
    assert np.allclose(s.end - s.ic, s.stride_time) and np.allclose(
        s.stance_time + s.swing_time, s.stride_time
    )
    assert np.allclose(s.eversion_excursion, s.eversion_peak - s.eversion_ic)
    assert np.allclose(s.knee_frontal_excursion, s.knee_abduction_peak - s.knee_abduction_ic)
    # normal gait at 1.3 m/s: stance ~60% of the stride, cadence ~110 steps/min
    assert 0.55 < (s.stance_time / s.stride_time).mean() < 0.7
    assert 95 < s.cadence.mean() < 125 and 1.1 < s.speed.median() < 1.5
    # the configured subject: eversion excursion ~6 deg, peak at ~35% stance; knee stance flexion 10-35 deg
    assert abs(s.eversion_excursion.mean() - 6.0) < 2.0 and 0.5 < s.eversion_excursion.std() < 3.5
    assert 25 < s.time_to_peak_eversion.mean() < 45 and s.eversion_velocity_peak.min() > 10
    assert 10 < s.knee_flexion_peak_stance.mean() < 35
    c = walk.curves
    assert list(c.columns) == ["side", "stride", "variable", "pct", "value"]
    assert set(c.variable) == {"eversion", "knee_abduction", "knee_flexion"}
    per = c.groupby(["side", "stride", "variable"]).pct
    assert (per.count() == 101).all() and (per.min() == 0).all() and (per.max() == 100).all()
    flex = c[c.variable == "knee_flexion"].groupby(["side", "stride"]).value.max()
    steady = flex.drop(index=[0, 7], level="stride")  # not the first and the stopping stride
    assert (steady > 50).all() and (steady < 72).all()  # swing knee flexion
    e = walk.events
    assert ((e.ic < e.mid_stance) & (e.mid_stance < e.fc) & (e.fc < e.end)).all()


def test_activities_are_labelled_and_timed(mixed):
    labels = [e["label"] for e in mixed.session.events]
    for label in ("stand", "walk", "turn", "stairs_up", "stairs_down", "run", "squat"):
        assert label in labels
    for e in mixed.session.events:
        assert e["t_end"] > e["t"]
    s = mixed.strides
    run = s[s.activity == "run"]
    walk = s[s.activity == "walk"]
    assert (
        (run.stance_time / run.stride_time).max()
        < 0.45
        < (walk.stance_time / walk.stride_time).min()
    )
    assert run.speed.max() > 2.5
    # every stride lies inside an event of its activity
    for row in s.itertuples():
        spans = [e for e in mixed.session.events if e["label"] in (row.activity, "turn")]
        assert any(e["t"] <= row.ic and row.end <= e["t_end"] + 1e-6 for e in spans)
    q = mixed.squats
    assert list(q.columns) == [
        "side",
        "task",
        "rep",
        "start",
        "end",
        "knee_flexion_peak",
        "knee_abduction_peak",
        "knee_frontal_excursion",
    ]
    assert (q.groupby("side").size() == 5).all()
    assert q.knee_flexion_peak.between(35, 85).all() and (q.knee_abduction_peak > 2).all()


def test_same_seed_same_session_other_seed_other_session():
    config = SimConfig.walk(strides=2, rate_hz=50.0)
    a, b, c = simulate(config, seed=11), simulate(config, seed=11), simulate(config, seed=12)
    for p in PLACEMENTS:
        assert np.array_equal(a.session.data[p].acc, b.session.data[p].acc)
        assert np.array_equal(a.session.data[p].t, b.session.data[p].t)
        assert not np.array_equal(a.session.data[p].acc, c.session.data[p].acc)
    assert a.strides.equals(b.strides) and not a.strides.equals(c.strides)


def test_mountings_are_random_rotations_or_as_given():
    given = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_matrix()
    r = simulate(SimConfig.walk(strides=1, rate_hz=50.0, mounting={"left_foot": given}), seed=1)
    assert np.allclose(r.mounting["left_foot"], given)
    others = [r.mounting[p] for p in PLACEMENTS if p != "left_foot"]
    for m in others:
        assert np.allclose(m @ m.T, np.eye(3)) and np.linalg.det(m) == pytest.approx(1.0)
    angles = [
        angle_between(a[None], b[None])[0] for i, a in enumerate(others) for b in others[i + 1 :]
    ]
    assert min(angles) > 1.0
    aligned = simulate(SimConfig.walk(strides=1, rate_hz=50.0, mounting="aligned"), seed=1)
    assert all(np.allclose(m, np.eye(3)) for m in aligned.mounting.values())


def test_sensor_imperfections():
    noise = SensorNoise(drop_rate=0.01, clock_drift_ppm=50.0)
    config = SimConfig(
        [Activity("run", strides=8, speed=4.0)], rate_hz=200.0, noise=noise, acc_range_g=16.0
    )
    r = simulate(config, seed=2)
    foot = r.session.data["left_foot"]
    fs = 16.0 * GRAVITY
    lsb = fs / 32768.0
    assert np.abs(foot.acc).max() == pytest.approx(
        fs, rel=1e-3
    )  # heel strikes of running saturate +/-16 g
    assert np.allclose(foot.acc / lsb, np.round(foot.acc / lsb), atol=1e-6)  # 16-bit quantisation
    n_expected = int(np.ceil(r.plan.t_end * 200.0))
    assert 0.97 * n_expected < len(foot) < 0.995 * n_expected  # ~1% dropped
    assert len(find_gaps(foot.t, 200.0)) > 5
    drift = r.sensor_errors["left_foot"]["clock_drift_ppm"]
    assert foot.t[-1] / (foot.seq[-1] / 200.0) - 1.0 == pytest.approx(drift * 1e-6, abs=1e-9)
    a, b = r.session.calibration["static"]
    still = (foot.t > a) & (foot.t < b)
    g = np.linalg.norm(foot.acc[still], axis=1)
    assert (
        9.5 < g.mean() < 10.1 and 0.005 < g.std() < 0.2
    )  # noise, scale and bias, but still gravity
    wide = simulate(config.with_(acc_range_g=200.0), seed=2).session.data["left_foot"]
    # the impact really exceeds 16 g (~19 g)
    assert np.linalg.norm(wide.acc, axis=1).max() > 1.1 * fs


def test_step_down_taps_the_floor_from_the_box():
    config = ideal(
        SimConfig([Activity("step_down", side="right", reps=3, riser=0.15)], rate_hz=50.0)
    )
    r = simulate(config, seed=4)
    reps = r.squats
    assert list(reps.task) == ["step_down"] * 3 and set(reps.side) == {"right"}
    assert reps.knee_flexion_peak.between(40, 90).all() and (reps.knee_abduction_peak > 2).all()
    labels = [e["label"] for e in r.session.events]
    assert "step_down" in labels and "stairs_up" not in labels
    for rep in reps.itertuples():
        t = np.array([rep.start, 0.5 * (rep.start + rep.end)])
        _, _, o = r.segment_pose("left_foot", t)  # the free foot
        heel = o[:, 2]
        _, _, os_ = r.segment_pose("right_foot", t)
        assert os_[0, 2] == pytest.approx(0.15, abs=1e-9)  # the stance foot stands on the box
        assert heel[0] > 0.15 and abs(heel[1]) < 0.02  # the free heel comes down to the floor


def test_gait_parameters_steer_the_truth():
    from dataclasses import replace

    from imu_gait.simulate import GaitParams

    def truth(**changes):
        gait = replace(GaitParams(angle_sd=0.8), **changes)
        config = SimConfig.walk(strides=8, rate_hz=50.0, placements=("pelvis",), gait=gait)
        return simulate(config, seed=21).strides

    base = truth()
    big = truth(
        eversion_excursion=10.0, knee_valgus_peak=7.0, pelvic_drop=8.0, eversion_peak_time=25.0
    )
    assert big.eversion_excursion.mean() - base.eversion_excursion.mean() == pytest.approx(
        4.0, abs=1.0
    )
    assert big.knee_abduction_peak.mean() - base.knee_abduction_peak.mean() == pytest.approx(
        3.0, abs=1.0
    )
    assert big.pelvic_drop_peak.mean() - base.pelvic_drop_peak.mean() == pytest.approx(3.0, abs=1.0)
    assert big.time_to_peak_eversion.mean() < base.time_to_peak_eversion.mean() - 5.0
    lopsided = truth(asymmetry=0.5)
    by_side = lopsided.groupby("side").eversion_excursion.mean()
    assert by_side["right"] / by_side["left"] == pytest.approx(1.25 / 0.75, rel=0.25)
    # stride-to-stride variability follows angle_sd
    noisy = truth(angle_sd=3.0)
    assert noisy.eversion_excursion.std() > 2.0 * base.eversion_excursion.std()
