"""The recorder against emulated sensors of every family, through bleak's public API on a real BLE stack.

Each scenario runs the real Recorder and real virtual sensors on a fresh virtual radio in its own event loop; the
sensors know the truth (what they sent, when, on which clock), the session folder on disk is what is checked.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import firmware_protocols
from imu_gait.ble.recorder import Recorder, SensorSpec
from imu_gait.emulator.bleak_backend import bumble_backends, close_central
from imu_gait.emulator.peripheral import Knobs, VirtualSensor
from imu_gait.emulator.server import SensorServer
from imu_gait.emulator.source import synthetic_imu
from imu_gait.session import PLACEMENTS, Session, load_session

FAMILIES = list(firmware_protocols.FAMILIES)
WITH_DEVICE_TIME = {"diy", "movesense", "polar", "dot"}
TIME_RESOLUTION = {"movesense": 1e-3}  # s; Movesense stamps packets in whole milliseconds


@dataclass
class Run:
    session: Session
    meta: dict
    sensors: dict[str, VirtualSensor]
    recorder: Recorder
    stop_true: float  # loop time when the recording was asked to stop


def record(
    tmp: Path,
    families: dict[str, str],
    knobs: dict[str, Knobs] | Knobs | None = None,
    duration: float = 3.0,
    targets: dict[str, str] | None = None,
    rate_hz: float = 200.0,
    find_timeout: float = 5.0,
    stall_timeout: float = 5.0,
    noise: bool = False,
    streamed_s: float | None = None,
) -> Run:
    """Record ``families`` for ``duration`` s; with ``streamed_s``, stop as soon as every sensor has streamed that
    long (``duration`` is then only a cap): the sensors then send the same notifications however long connecting
    took (a loaded machine connects slowly), so a seeded loss pattern is the same in every run."""

    async def run() -> Run:
        sources = {p: synthetic_imu(p, 10.0) for p in families}
        if noise:  # sensor noise: compressed (Polar) frames hold tens of samples, not hundreds of identical ones
            rng = np.random.default_rng(0)
            for d in sources.values():
                d.acc += rng.normal(0.0, 0.02, d.acc.shape)  # m/s^2
                d.gyr += rng.normal(0.0, 0.3, d.gyr.shape)  # deg/s
        server = SensorServer(
            sources,
            {p: firmware_protocols.FAMILIES[f] for p, f in families.items()},
            knobs,
        )
        sensors = await server.start()
        specs = [SensorSpec(p, (targets or {}).get(p, sensors[p].name)) for p in families]
        rec = Recorder(
            specs,
            str(tmp / "rec"),
            rate_hz=rate_hz,
            backends=bumble_backends(server.link),
            find_timeout=find_timeout,
            stall_timeout=stall_timeout,
        )
        loop = asyncio.get_running_loop()
        stop_true = loop.time() + duration
        task = asyncio.create_task(rec.run(duration))
        while streamed_s is not None and not task.done():
            firsts = [s.truth.first_sample_true for s in sensors.values()]
            if all(f is not None and loop.time() - f >= streamed_s for f in firsts):
                stop_true = loop.time()
                rec.stop()
                break
            await asyncio.sleep(0.02)
        await task
        await server.close()
        await close_central(server.link)
        meta = json.loads((tmp / "rec" / "session.json").read_text())
        return Run(load_session(tmp / "rec"), meta, sensors, rec, stop_true)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def all_families(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One sensor of every family, 200 Hz requested, 30 ms bursts with jitter, no loss."""
    families = dict(zip(PLACEMENTS, FAMILIES, strict=False))
    assert len(families) == len(FAMILIES), "one placement per family"
    return record(
        tmp_path_factory.mktemp("families"), families, Knobs(jitter_ms=2.0, seed=1), duration=3.0
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_streams_and_decodes(all_families: Run, family: str) -> None:
    placement = PLACEMENTS[FAMILIES.index(family)]
    run = all_families
    assert placement in run.session.data, (
        f"{family}: no data ({run.recorder.sensors[placement].message})"
    )
    data = run.session.data[placement]
    info = run.meta["sensors"][placement]
    sensor = run.sensors[placement]
    assert info["family"] == family
    assert info["decode_errors"] == 0
    nominal = info["rate_hz"]
    assert data.rate_hz == pytest.approx(nominal, rel=0.03)
    # every sample that left the sensor early enough to arrive before the stop is in the session
    delivered = sensor.truth.samples_sent - sensor.truth.samples_lost
    late = sum(len(d) for t, d, lost in sensor.truth.log if t > run.stop_true - 0.3 and not lost)
    assert delivered - late - 3 <= len(data) <= delivered, (family, len(data), delivered, late)
    if family in WITH_DEVICE_TIME:
        assert data.t_device is not None
        sent = sensor.truth.delivered_device_times(until=run.stop_true - 0.3)
        missing = np.setdiff1d(np.round(sent, 6), np.round(data.t_device, 6))
        assert missing.size == 0, f"{family}: {missing.size} delivered samples missing"
        # decoded values are the source signal at the sample instants, to the codec's value and time resolution
        t_true = np.asarray(sensor.clock.true(data.t_device))
        want_acc, want_gyr = sensor.source.at(t_true)
        res = TIME_RESOLUTION.get(family, 1e-6)
        late_acc, late_gyr = sensor.source.at(t_true + res)
        early_acc, early_gyr = sensor.source.at(t_true - res)
        slack_acc = np.maximum(np.abs(late_acc - want_acc), np.abs(early_acc - want_acc))
        slack_gyr = np.maximum(np.abs(late_gyr - want_gyr), np.abs(early_gyr - want_gyr))
        assert np.all(np.abs(data.acc - want_acc) <= 0.02 + slack_acc)
        assert np.all(np.abs(data.gyr - want_gyr) <= 0.1 + slack_gyr)


def test_loss_is_counted_exactly_where_the_family_has_counters(tmp_path: Path) -> None:
    families = {"left_foot": "diy", "right_foot": "dot", "left_shank": "movesense"}
    knobs = {
        "left_foot": Knobs(loss=0.15, seed=4, jitter_ms=1.0),
        "right_foot": Knobs(loss=0.05, seed=5),
        "left_shank": Knobs(loss=0.05, seed=6, jitter_ms=1.0),
    }
    # stop after 3.5 s of streaming, not after 3 s of recording: a loaded machine that connected slowly once made
    # the diy stream too short to lose 2 notifications (its seeded losses are its 16th and 28th notification)
    run = record(tmp_path, families, knobs, duration=30.0, rate_hz=200.0, streamed_s=3.5)
    for placement, family in families.items():
        truth = run.sensors[placement].truth
        info = run.meta["sensors"][placement]
        units = _payloads(truth)
        # a loss is detectable between two payloads that were recorded
        got = set(np.round(run.session.data[placement].t_device, 6))
        recorded = [
            i for i, (d, lost, *_) in enumerate(units) if not lost and round(d[0], 6) in got
        ]
        between = units[recorded[0] : recorded[-1]]
        lost_payloads = sum(1 for _, lost, *_ in between if lost)
        lost_samples = sum(len(d) for d, lost, *_ in between if lost)
        # for a failure message: the loss pattern, decode errors, stream starts
        pattern = " ".join(parts for _, _, parts, _ in between)
        pattern += f" errors={info['decode_errors']} streams={truth.streams}"
        assert lost_payloads >= 2, (
            "the scenario must actually lose notifications",
            family,
            pattern,
        )
        if family in (
            "diy",
            "movesense",
        ):  # diy: packet counter; movesense: whole payloads missing in time
            assert info["lost_packets"] == lost_payloads, (family, info, pattern)
        if family == "movesense":  # the scenario loses first parts and continuations
            assert "x." in pattern and ".x" in pattern, pattern
        # device time steps reveal the missing samples
        assert info["lost_samples"] == lost_samples, (family, info, pattern)
        # every sample of every payload that arrived whole is in the session, unless it came after the stop
        sent = sum(len(d) for d, *_ in units)
        lost_all = sum(len(d) for d, lost, *_ in units if lost)
        assert len(run.session.data[placement]) == sent - lost_all - _in_flight(run, placement)


def _payloads(truth) -> list[tuple[np.ndarray, bool, str, float]]:
    """The sensor's notifications grouped into what decodes together: (device times of the samples, lost on air,
    one '.' (arrived) or 'x' (lost) per notification, true send time of the last). The sensor's log gives a split
    payload's samples to its last part (Movesense DATA + DATA_PART2); the earlier parts carry none of their own,
    and losing any part loses the payload. Other families (no pairing) have one notification per entry."""
    out, lost, parts = [], False, ""
    for t, d, gone in truth.log:
        lost, parts = lost or gone, parts + ("x" if gone else ".")
        if len(d):
            out.append((d, lost, parts, t))
            lost, parts = False, ""
    return out


def _in_flight(run: Run, placement: str) -> int:
    """Samples of payloads that arrived whole that the recorder did not keep (arrived after it stopped
    listening)."""
    got = set(np.round(run.session.data[placement].t_device, 6))
    sent = [d for d, lost, *_ in _payloads(run.sensors[placement].truth) if not lost]
    return int(sum(1 for t in np.round(np.concatenate(sent), 6) if t not in got))


def test_link_drop_reconnects_marks_the_gap_and_keeps_everything_before(tmp_path: Path) -> None:
    knobs = {
        "left_foot": Knobs(drop_at_s=1.0, drop_silence_s=0.3, seed=2),
        "right_foot": Knobs(seed=3),
    }
    run = record(tmp_path, {"left_foot": "diy", "right_foot": "diy"}, knobs, duration=3.5)
    sensor = run.sensors["left_foot"]
    info = run.meta["sensors"]["left_foot"]
    assert sensor.truth.streams == 2  # the recorder restarted the stream after reconnecting
    assert info["reconnects"] == 1
    assert len(info["gaps"]) == 1
    gap_start, gap_end = info["gaps"][0]
    drop = sensor.truth.drops[0] - run.recorder.t0  # session clock (both clocks are monotonic)
    assert gap_start <= drop + 0.05 and gap_end >= drop
    assert info["reconnect_s"][0] < 2.0
    gap_events = [e for e in run.meta["events"] if e["label"] == "gap"]
    assert gap_events == [
        {"t": gap_start, "t_end": gap_end, "label": "gap", "placement": "left_foot"}
    ]
    data = run.session.data["left_foot"]
    before = sensor.truth.delivered_device_times(until=sensor.truth.drops[0])
    assert np.isin(
        np.round(before, 6), np.round(data.t_device, 6)
    ).all()  # nothing before the drop lost
    assert np.sum(data.t > gap_end) > 100  # and the stream went on after it
    assert (
        "right_foot" not in run.meta["sensors"]["right_foot"].get("gaps", [])
        and not run.meta["sensors"]["right_foot"]["gaps"]
    )


def test_time_sync_maps_drifting_device_clocks_to_the_session_clock(tmp_path: Path) -> None:
    """DIY sends each sample as soon as its batch is full; Polar holds samples back to pair its acc and gyro
    frames (the recorder fits the clock to each frame's own stamp): both must land on the same clock."""
    knobs = {
        "left_foot": Knobs(drift_ppm=100.0, offset_s=12.0, jitter_ms=2.0, seed=5),
        "right_foot": Knobs(drift_ppm=-100.0, offset_s=3000.0, jitter_ms=2.0, seed=6),
        "left_shank": Knobs(drift_ppm=60.0, offset_s=500.0, jitter_ms=2.0, seed=7),
    }
    families = {"left_foot": "diy", "right_foot": "diy", "left_shank": "polar"}
    run = record(tmp_path, families, knobs, duration=5.0, noise=True)
    medians = []
    for placement in families:
        data = run.session.data[placement]
        sensor = run.sensors[placement]
        err = data.t - (np.asarray(sensor.clock.true(data.t_device)) - run.recorder.t0)
        medians.append(float(np.median(err)))
        # the drift is removed: no trend over the recording, and never ahead of the truth
        assert np.percentile(err, 95) - np.percentile(err, 5) < 2e-3
        assert err.min() > -1e-3
        # offset: bounded by the 5 ms phase lattice of 95 ms packets on a 30 ms interval (+ stack latency)
        assert np.median(err) < 9e-3, placement
    assert max(medians) - min(medians) < 8e-3


def test_a_sensor_that_is_not_there_gives_a_clear_message(tmp_path: Path) -> None:
    run = record(
        tmp_path,
        {"left_foot": "diy", "right_foot": "diy"},
        duration=1.5,
        targets={"right_foot": "NO-SUCH-SENSOR"},
        find_timeout=0.5,
    )
    state = run.recorder.sensors["right_foot"]
    assert "'NO-SUCH-SENSOR' not found within 0.5 s" in state.problem
    assert "right_foot" not in run.meta["sensors"]
    assert run.meta["recorder"]["missing"] == ["right_foot"]
    assert len(run.session.data["left_foot"]) > 100  # the other sensor recorded regardless


def test_an_unsupported_device_is_refused_by_name(tmp_path: Path) -> None:
    async def run() -> Recorder:
        server = SensorServer(
            {"left_foot": synthetic_imu("left_foot", 5.0)}, {"left_foot": firmware_protocols.diy}
        )
        await server.start()
        odd = VirtualSensor(
            server.link,
            firmware_protocols.diy,
            "right_foot",
            synthetic_imu("right_foot", 5.0),
            name="Gizmo right_foot",
        )
        await odd.start()
        rec = Recorder(
            [SensorSpec("right_foot", "Gizmo right_foot")],
            str(tmp_path / "rec"),
            backends=bumble_backends(server.link),
        )
        await rec.run(1.0)
        await odd.close()
        await server.close()
        await close_central(server.link)
        return rec

    rec = asyncio.run(run())
    state = rec.sensors["right_foot"]
    assert state.state == "failed"
    assert "not a supported sensor" in state.problem
    assert "not a supported sensor" in "\n".join(
        f.payload.decode() for f in _events(tmp_path / "rec" / "raw" / "right_foot.frames")
    )


def _events(path: Path) -> list:
    from imu_gait.rawlog import KIND_EVENT, read_raw_log

    return [f for f in read_raw_log(path).frames if f.kind == KIND_EVENT]


@pytest.mark.slow
def test_six_mixed_sensors_for_a_minute_with_loss_drift_and_a_drop(tmp_path: Path) -> None:
    """The issue's end-to-end scenario (benchmarks/bench_recorder.py prints the same figures)."""
    families = {
        "left_foot": "diy",
        "right_foot": "movesense",
        "left_shank": "polar",
        "right_shank": "dot",
        "left_thigh": "witmotion",
        "right_thigh": "metawear",
    }
    knobs = {
        p: Knobs(
            jitter_ms=2.0,
            loss=0.005,
            drift_ppm=-100.0 + 40.0 * i,
            offset_s=50.0 * i,
            drop_at_s=30.0 if p == "left_foot" else None,
            seed=20 + i,
        )
        for i, p in enumerate(families)
    }
    run = record(tmp_path, families, knobs, duration=60.0)
    info = run.meta["sensors"]
    assert info["left_foot"]["reconnect_s"][0] < 2.0 and len(info["left_foot"]["gaps"]) == 1
    medians = {}
    for placement, family in families.items():
        truth, data = run.sensors[placement].truth, run.session.data[placement]
        if family in (
            "diy",
            "dot",
            "movesense",
        ):  # every delivered sample is there, every loss is counted
            units = _payloads(truth)
            sent = [d for d, lost, _, t in units if not lost and t < run.stop_true - 0.3]
            assert np.isin(np.round(np.concatenate(sent), 6), np.round(data.t_device, 6)).all()
            assert info[placement]["lost_samples"] == sum(len(d) for d, lost, *_ in units if lost)
        if family in WITH_DEVICE_TIME:
            err = data.t - (
                np.asarray(run.sensors[placement].clock.true(data.t_device)) - run.recorder.t0
            )
            medians[placement] = float(np.median(err))
    # every family with a device clock (Polar too, although its decoder holds samples back) within a few ms
    assert max(medians.values()) - min(medians.values()) < 3e-3, medians


def test_malformed_notifications_are_counted_and_everything_else_is_kept(tmp_path: Path) -> None:
    from firmware_protocols import diy

    run = record(tmp_path, {"left_foot": "diy"}, Knobs(corrupt=0.1, seed=9), duration=3.0)
    truth = run.sensors["left_foot"].truth
    info = run.meta["sensors"]["left_foot"]
    assert truth.corrupted >= 2
    assert info["decode_errors"] == truth.corrupted  # each one a clear ProtocolError, none a crash
    from imu_gait.rawlog import KIND_NOTIFICATION, read_raw_log

    raw = read_raw_log(tmp_path / "rec" / "raw" / "left_foot.frames")
    data_frames = [
        f for f in raw.frames if f.kind == KIND_NOTIFICATION and f.characteristic == diy.DATA
    ]
    malformed = [f for f in data_frames if len(f.payload) != 8 + 12 * f.payload[1]]
    assert len(malformed) == truth.corrupted  # the raw log keeps the malformed packets as they came
    # every intact packet's samples are in the session
    data = run.session.data["left_foot"]
    assert len(data) == sum(len(b) for b in _intact_blocks(raw))


def _intact_blocks(raw) -> list:
    from firmware_protocols import ProtocolError, diy
    from imu_gait.rawlog import KIND_NOTIFICATION

    decoder, out = diy.Decoder(diy.choose_config(200)), []
    for f in raw.frames:
        if f.kind == KIND_NOTIFICATION:
            try:
                out.extend(decoder.feed(f.characteristic, f.payload))
            except ProtocolError:
                pass
    return out


def test_a_sensor_that_connects_but_never_streams_is_retried_with_a_message(tmp_path: Path) -> None:
    run = record(tmp_path, {"left_foot": "diy"}, Knobs(mute=True), duration=3.0, stall_timeout=1.0)
    state = run.recorder.sensors["left_foot"]
    events = "\n".join(
        f.payload.decode() for f in _events(tmp_path / "rec" / "raw" / "left_foot.frames")
    )
    assert "stalled no data for 1 s; reconnecting" in events
    assert events.count("connecting") >= 2  # it tried again
    assert len(run.session.data["left_foot"]) == 0  # listed, opens, holds no samples
    assert state.samples == 0
