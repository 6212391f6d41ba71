"""`imu-gait finalize`'s recovery (imu_gait.ble.recover) gives what a clean stop would have written.

A real recording of emulated sensors (a Polar sensor whose decoder holds samples back and whose link drops once,
and a DIY sensor with lost notifications) is copied the moment before the recorder finalizes, as a crash would
leave it (parts, raw logs, a session.json that says "finalized": false, the marks log with a segment still open);
the copy is finalized from its raw logs and compared with the recorder's own finalization.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import firmware_protocols
from imu_gait.ble.marks import Command
from imu_gait.ble.recorder import Recorder, SensorSpec
from imu_gait.ble.recover import finalize_folder
from imu_gait.emulator.bleak_backend import bumble_backends, close_central
from imu_gait.emulator.peripheral import Knobs
from imu_gait.emulator.server import SensorServer
from imu_gait.emulator.source import synthetic_imu
from imu_gait.errors import UsageError
from imu_gait.session import load_session

FAMILIES = {"left_shank": "polar", "right_foot": "diy"}


class _SnapshotRecorder(Recorder):
    """Copies its folder as a crash would leave it, then finalizes normally."""

    snapshot: Path

    def _finalize(self) -> None:
        self._write_checkpoint(self._decode_all(), json.loads(json.dumps(self.store.meta)))
        shutil.copytree(self.store.folder, self.snapshot)
        super()._finalize()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("recover")
    clean, crashed = base / "clean", base / "crashed"
    knobs = {
        "left_shank": Knobs(
            jitter_ms=2.0, drift_ppm=80.0, offset_s=400.0, drop_at_s=1.0, drop_silence_s=0.3, seed=3
        ),
        "right_foot": Knobs(jitter_ms=2.0, loss=0.05, drift_ppm=-60.0, seed=4),
    }

    async def run() -> None:
        rng = np.random.default_rng(0)
        sources = {p: synthetic_imu(p, 10.0) for p in FAMILIES}
        for d in sources.values():  # sensor noise: Polar's delta frames then hold tens of samples
            d.acc += rng.normal(0.0, 0.02, d.acc.shape)
            d.gyr += rng.normal(0.0, 0.3, d.gyr.shape)
        server = SensorServer(
            sources, {p: firmware_protocols.FAMILIES[f] for p, f in FAMILIES.items()}, knobs
        )
        sensors = await server.start()
        rec = _SnapshotRecorder(
            [SensorSpec(p, sensors[p].name) for p in FAMILIES],
            str(clean),
            rate_hz=200.0,
            backends=bumble_backends(server.link),
        )
        rec.snapshot = crashed
        task = asyncio.create_task(rec.run(3.5))
        while not rec.all_streaming():
            await asyncio.sleep(0.02)
        rec.mark(Command("calibrate"))
        await asyncio.sleep(0.5)
        rec.mark(Command("calibrate"))
        rec.mark(Command("segment", "walk"))  # open when the copy is taken
        await task
        await server.close()
        await close_central(server.link)

    asyncio.run(run())
    return clean, crashed


def test_finalize_from_the_raw_logs_equals_the_recorders_own_finalization(recorded) -> None:
    clean_dir, crashed_dir = recorded
    before = json.loads((crashed_dir / "session.json").read_text())
    assert before["recorder"]["finalized"] is False
    report = finalize_folder(crashed_dir)
    clean, crashed = load_session(clean_dir), load_session(crashed_dir)
    assert set(crashed.data) == set(FAMILIES)
    for p in FAMILIES:
        assert len(crashed.data[p]) > 300
        np.testing.assert_array_equal(crashed.data[p].t, clean.data[p].t)
        np.testing.assert_array_equal(crashed.data[p].acc, clean.data[p].acc)
        np.testing.assert_array_equal(crashed.data[p].gyr, clean.data[p].gyr)
        assert report.sensors[p].samples == len(clean.data[p])
        assert report.sensors[p].source == "raw log"
        assert crashed.sensors[p].gaps == clean.sensors[p].gaps
    # the Polar link dropped once: the recovered gap is the recorder's, to the bit
    assert len(clean.sensors["left_shank"].gaps) == 1
    assert report.sensors["left_shank"].segments == 2
    gap_events = [e for e in crashed.events if e["label"] == "gap"]
    assert gap_events == [e for e in clean.events if e["label"] == "gap"]
    # marks: the calibration as made, the walk segment (open at the copy) ends with the data
    assert crashed.calibration == clean.calibration
    t0, t1 = crashed.calibration["static"]
    assert (
        0.5 <= t1 - t0 < 1.0
    )  # marked around an asyncio.sleep(0.5), which the loaded loop may prolong
    (walk,) = [e for e in crashed.events if e["label"] == "walk"]
    assert walk["t_end"] == pytest.approx(max(d.t[-1] for d in crashed.data.values()), abs=1e-3)
    assert report.closed_at_end == ["segment walk"]
    meta = json.loads((crashed_dir / "session.json").read_text())
    assert meta["recorder"]["finalized"] is True
    assert not list(crashed_dir.glob("*.parts")) and not list(crashed_dir.glob(".*.tmp"))
    with pytest.raises(UsageError, match="already finalized"):
        finalize_folder(crashed_dir)


def test_finalize_refuses_a_folder_that_is_not_a_live_recording(tmp_path: Path) -> None:
    from imu_gait.errors import SessionError

    (tmp_path / "s").mkdir()
    with pytest.raises(SessionError, match="not a live recording"):
        finalize_folder(tmp_path / "s")
    with pytest.raises(UsageError, match="no such folder"):
        finalize_folder(tmp_path / "missing")


def test_a_raw_log_that_cannot_be_described_is_reported_and_its_parts_kept(
    recorded, tmp_path
) -> None:
    """No session.json and a raw log without the recorder's config events (an older recorder): the family and
    rate are unknown, so nothing is decoded, nothing is deleted, and the error says why."""
    from imu_gait.errors import SessionError
    from imu_gait.rawlog import KIND_EVENT, RawLogWriter, read_raw_log

    clean_dir, _ = recorded
    folder = tmp_path / "old"
    (folder / "right_foot.parts").mkdir(parents=True)
    part = folder / "right_foot.parts" / "000000.parquet"
    shutil.copy(clean_dir / "right_foot.parquet", part)
    with RawLogWriter(folder / "raw" / "right_foot.frames") as w:
        for f in read_raw_log(clean_dir / "raw" / "right_foot.frames").frames:
            if not (f.kind == KIND_EVENT and f.payload.startswith(b"config ")):
                w.write(f.t, f.characteristic, f.payload, f.kind)
    with pytest.raises(SessionError, match="family and rate unknown"):
        finalize_folder(folder)
    assert part.is_file() and not (folder / "session.json").exists()
