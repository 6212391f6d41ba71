"""Clock mapping from notification arrival times: drift, bursts, jitter and impossible early outliers."""

from __future__ import annotations

import numpy as np
import pytest

from imu_gait.pipeline.timesync import fit_clock


def _arrivals(
    rng: np.random.Generator,
    duration: float,
    drift_ppm: float,
    offset: float,
    rate: float = 200.0,
    per_packet: int = 19,
    interval: float = 0.030,
    jitter: float = 0.004,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A BLE stream: device time of each packet's newest sample, true time, and host arrival time."""
    t_dev = offset + np.arange(per_packet - 1, int(duration * rate), per_packet) / rate
    t_true = (t_dev - offset) / (1 + drift_ppm * 1e-6) + 3.0  # sensor started 3 s into the session
    phase = rng.uniform(0, interval)
    next_event = phase + np.ceil((t_true - phase) / interval) * interval
    arrival = next_event + rng.uniform(0, jitter, t_true.size)
    return t_dev, t_true, arrival


@pytest.mark.parametrize("drift_ppm", [-100.0, 0.0, 100.0, 2000.0])
def test_fit_recovers_true_times_under_bursts_and_drift(drift_ppm: float) -> None:
    # 208 Hz in packets of 4 is not commensurate with the 30 ms connection interval: some packets leave
    # right after they are complete, so the envelope of delays reaches ~0
    rng = np.random.default_rng(7)
    t_dev, t_true, arrival = _arrivals(
        rng, 60.0, drift_ppm, offset=1234.5, rate=208.0, per_packet=4
    )
    fit = fit_clock(t_dev, arrival)
    err = fit(t_dev) - t_true
    assert np.max(np.abs(err)) < 1e-3  # within a millisecond everywhere
    assert fit.drift_ppm == pytest.approx(-drift_ppm, abs=20.0)
    assert fit.n_outliers == 0
    # every arrival is on or above the envelope
    assert np.all(arrival - fit(t_dev) >= -1e-9)


def test_naive_first_arrival_is_much_worse_than_the_fit() -> None:
    rng = np.random.default_rng(3)
    t_dev, t_true, arrival = _arrivals(rng, 60.0, 100.0, offset=0.0, rate=208.0, per_packet=4)
    naive = arrival[0] + (t_dev - t_dev[0])
    fit = fit_clock(t_dev, arrival)
    assert (
        np.max(np.abs(naive - t_true)) > 5e-3
    )  # 100 ppm over 60 s plus the first packet's burst delay
    assert np.max(np.abs(fit(t_dev) - t_true)) < 1e-3


def test_impossibly_early_points_are_ignored() -> None:
    rng = np.random.default_rng(11)
    t_dev, t_true, arrival = _arrivals(rng, 30.0, -100.0, offset=50.0, rate=208.0, per_packet=4)
    bad = rng.choice(arrival.size, 5, replace=False)
    arrival = arrival.copy()
    arrival[bad] -= 0.5  # corrupted device timestamps look like arrivals half a second early
    fit = fit_clock(t_dev, arrival)
    assert fit.n_outliers >= 5
    good = np.setdiff1d(np.arange(arrival.size), bad)
    assert np.max(np.abs(fit(t_dev[good]) - t_true[good])) < 1e-3


def test_short_stream_keeps_nominal_rate() -> None:
    t_dev = np.array([10.0, 10.1, 10.2])
    arrival = np.array([0.52, 0.61, 0.75])
    fit = fit_clock(t_dev, arrival)
    assert abs(fit.drift_ppm) < 10  # three noisy points say nothing about drift
    assert fit.offset == pytest.approx(
        0.61 - 10.1, abs=1e-4
    )  # the least-delayed point sets the offset


def test_four_seconds_of_bursts_do_not_invent_drift() -> None:
    rng = np.random.default_rng(2)
    t_dev, t_true, arrival = _arrivals(rng, 4.0, 50.0, offset=7.0)
    fit = fit_clock(t_dev, arrival)
    assert abs(fit.drift_ppm) < 400
    err = fit(t_dev) - t_true
    assert np.max(np.abs(err)) < 6e-3


@pytest.mark.parametrize("seed", range(5))
def test_commensurate_rates_are_bounded_by_the_phase_lattice(seed: int) -> None:
    # 200 Hz packets of 19 (95 ms) against a 30 ms interval: packet-to-event phases sit on a 5 ms lattice, so the
    # least delay can stay up to 5 ms above zero; a constant offset of that size is unobservable from arrivals
    rng = np.random.default_rng(seed)
    t_dev, t_true, arrival = _arrivals(rng, 60.0, 0.0, offset=0.0, jitter=0.0)
    fit = fit_clock(t_dev, arrival)
    err = fit(t_dev) - t_true
    assert np.all(err >= -1e-9)  # never early
    assert np.max(err) < 5e-3 + 1e-6


def test_congestion_episodes_do_not_tilt_the_fit() -> None:
    # seconds-long episodes where every notification is 10-50 ms late (busy host, radio retries)
    rng = np.random.default_rng(8)
    t_dev, t_true, arrival = _arrivals(rng, 60.0, 100.0, offset=3.0, rate=208.0, per_packet=4)
    arrival = arrival.copy()
    for start in (5.0, 17.0, 29.0, 41.0, 55.0):
        late = (t_true > start) & (t_true < start + rng.uniform(1.0, 3.0))
        arrival[late] += rng.uniform(0.01, 0.05)
    fit = fit_clock(t_dev, arrival)
    assert np.max(np.abs(fit(t_dev) - t_true)) < 1e-3
    assert fit.drift_ppm == pytest.approx(-100.0, abs=20.0)
