"""Initial contact from a shank sensor alone (imu_gait.pipeline.shank_events): a leg that brakes in the air before
the foot lands and a foot that lands still moving and is stopped by the ground, on synthetic signals with a known
contact, and on the project simulator's running (with its soft-tissue artefact)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.knee import analyze_knee
from imu_gait.pipeline.shank_events import shank_events
from imu_gait.simulate import SimConfig, simulate

# one stride of the shank's swing rate (deg/s, forward positive), contact at phase 0 and at the period
# (s, deg/s knots). Walking: the swing brakes to a minimum 90 ms before contact, then the rate rises again a
# little until the heel lands. Running: the shank swings back before contact at a steady -200 deg/s (no
# minimum in the air); the ground then turns it back faster, to -410 deg/s 60 ms after contact.
BRAKING = (
    1.1,
    [
        (0.0, -50), (0.05, -200), (0.12, -120), (0.3, -50), (0.5, -100), (0.6, -250), (0.68, 0),
        (0.82, 550), (0.95, 150), (1.01, 50), (1.06, 90), (1.1, -50),
    ],
)  # fmt: skip
GROUND_STOPPED = (
    0.72,
    [
        (0.0, -200), (0.03, -300), (0.06, -410), (0.12, -330), (0.2, -150), (0.28, -300), (0.32, -400),
        (0.4, -200), (0.46, 300), (0.52, 740), (0.6, 500), (0.64, 100), (0.67, -170), (0.72, -200),
    ],
)  # fmt: skip

# stair ascent: after the foot is placed on the step the shank turns forward while the knee extends (a stance
# peak of 120 deg/s), then push-off and the swing (peak 270 deg/s)
STAIR_ASCENT = (
    1.3,
    [
        (0.0, 0), (0.1, 40), (0.25, 120), (0.4, 0), (0.55, -50), (0.62, -300), (0.7, -100),
        (0.85, 270), (0.98, 80), (1.05, 40), (1.15, 60), (1.3, 0),
    ],
)  # fmt: skip


def _burst(
    t: np.ndarray, t0: float, amp: float, freq: float = 40.0, tau: float = 0.012
) -> np.ndarray:
    """A damped oscillation starting at t0 (zero before), m/s^2."""
    s = t - t0
    s = np.clip(s, 0.0, None)
    return amp * np.sin(2 * np.pi * freq * s) * np.exp(-s / tau)


def _shank(template, rate_hz: float, strides: int = 10):
    """Swing rate, accelerometer (in a sensor frame turned arbitrarily on the shank) and the true contact times.

    Each contact is a shock along the shank (tibial shock, 40 m/s^2) with a smaller one across it (20 m/s^2);
    60 ms before each contact a transient as large as the shock but across the shank (a swing transient, e.g.
    terminal knee extension) must not be taken for it."""
    period, knots = template
    phase, rate = np.array(knots, dtype=float).T
    cycle = PchipInterpolator(phase, rate)
    # ends before the next mid-swing peak, so every peak has its contact
    t = np.arange(0.0, (strides + 0.4) * period, 1.0 / rate_hz)
    swing = cycle(np.mod(t, period))
    contacts = np.arange(1, strides + 1) * period
    acc = np.zeros((t.size, 3))
    acc[:, 2] = 9.81
    for tc in contacts:
        acc[:, 2] += _burst(t, tc, 40.0)
        acc[:, 0] += _burst(t, tc, 20.0) + _burst(t, tc - 0.06, 40.0, freq=25.0)
    # shank axes (x forward, z along the shank) -> sensor axes
    to_sensor = Rotation.from_euler("xyz", [70.0, -40.0, 150.0], degrees=True).as_matrix().T
    return t, swing, acc @ to_sensor.T, contacts


@pytest.mark.parametrize("rate_hz", [100.0, 200.0])
@pytest.mark.parametrize("template", [BRAKING, GROUND_STOPPED], ids=["braking", "ground_stopped"])
def test_contact_is_the_shock_whether_the_leg_brakes_before_it_or_the_ground_stops_it(
    template, rate_hz: float
) -> None:
    t, swing, acc, contacts = _shank(template, rate_hz)
    _, ic, _ = shank_events(t, swing, acc=acc)
    found = ic[np.isfinite(ic)]
    assert found.size == contacts.size
    err = np.array([found[np.argmin(np.abs(found - c))] - c for c in contacts])
    # the onset is timed to half a sample (the second difference reacts one sample early)
    assert np.abs(err).max() <= 0.6 / rate_hz + 1e-9, err


def test_without_an_accelerometer_contact_is_where_the_swing_braking_ends() -> None:
    # no shock to time it: the end of the swing's braking, before the contact in both cases (not the
    # ground-stopped leg's rate minimum, 60 ms after it)
    for template in (BRAKING, GROUND_STOPPED):
        t, swing, _, contacts = _shank(template, 200.0)
        _, ic, _ = shank_events(t, swing)
        err = np.array([ic[np.nanargmin(np.abs(ic - c))] - c for c in contacts])
        assert np.all((err > -0.12) & (err < 0.005)), err


@pytest.mark.parametrize(
    ("strike", "rate_hz", "median_max", "p90_max"),
    [("rearfoot", 100.0, 0.02, 0.035), ("forefoot", 200.0, 0.01, 0.02)],
)
def test_simulated_running_contact_from_the_shanks(
    strike: str, rate_hz: float, median_max: float, p90_max: float
) -> None:
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    config = SimConfig.run(strides=10, rate_hz=rate_hz, strike=strike, placements=legs)
    sim = simulate(config.with_(soft_tissue="typical"), seed=23)
    res = analyze_knee(sim.session, None)
    assert res.quality["strides_source"] == "shank"
    for side in ("left", "right"):
        found = res.strides[res.strides["side"] == side]["ic"].to_numpy()
        truth = sim.strides[sim.strides["side"] == side]["ic"].to_numpy()
        err = np.array([found[np.argmin(np.abs(found - ic))] - ic for ic in truth])
        assert abs(np.median(err)) < median_max, (side, err)
        assert np.percentile(np.abs(err), 90) < p90_max, (side, err)


def test_simulated_stair_ascent_contact_from_the_shanks_at_100_hz() -> None:
    """Before the foot lands on the step the leg slows its lift: a sharp dip of the acceleration along the shank
    that was taken for the contact shock, 65-95 ms early, in these seeds."""
    legs = ("left_thigh", "left_shank", "right_thigh", "right_shank")
    err = []
    for seed in (1, 5, 6, 9):
        sim = simulate(
            SimConfig.stairs(flights=1, rate_hz=100.0, placements=legs).with_(
                soft_tissue="typical"
            ),
            seed=seed,
        )
        res = analyze_knee(sim.session, None)
        assert res.quality["strides_source"] == "shank"
        for side in ("left", "right"):
            found = res.strides[res.strides["side"] == side]["ic"].to_numpy()
            truth = sim.strides[
                (sim.strides["side"] == side) & (sim.strides["activity"] == "stairs_up")
            ]
            err += [found[np.argmin(np.abs(found - ic))] - ic for ic in truth["ic"]]
    err = np.abs(np.array(err))
    assert len(err) >= 24
    assert np.max(err) < 0.04, np.round(np.sort(err)[-5:], 3)


def test_a_stance_peak_of_the_shank_rate_is_no_swing() -> None:
    t, swing, acc, contacts = _shank(STAIR_ASCENT, 100.0)
    mid_swing, ic, _ = shank_events(t, swing, acc=acc)
    # one mid-swing per stride, each 0.85 s into it; none 0.25 s after a contact
    assert mid_swing.size == contacts.size
    assert np.allclose(np.mod(mid_swing, STAIR_ASCENT[0]), 0.85, atol=0.02)
    err = np.array([ic[np.nanargmin(np.abs(ic - c))] - c for c in contacts])
    assert np.abs(err).max() <= 0.006, err
