"""Raw notification log: torn tails, CRC damage, append after a crash, and a writer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from imu_gait.errors import FormatError
from imu_gait.rawlog import MAGIC, RawLogWriter, encode_frame, read_raw_log
from imu_gait.session import load_session

CHAR = "15172001-4947-11e9-8646-d663bd873d93"


def write_log(path: Path, n: int = 20) -> list[bytes]:
    payloads = [bytes([i]) * (5 + 7 * i % 40) for i in range(n)]
    with RawLogWriter(path) as w:
        for i, p in enumerate(payloads):
            w.write(0.01 * i, CHAR, p)
    return payloads


def test_round_trip(tmp_path: Path) -> None:
    payloads = write_log(tmp_path / "a.frames")
    log = read_raw_log(tmp_path / "a.frames")
    assert [f.payload for f in log.frames] == payloads
    assert [f.characteristic for f in log.frames] == [CHAR] * len(payloads)
    np.testing.assert_allclose(log.times, 0.01 * np.arange(len(payloads)))
    assert log.dropped_bytes == 0 and log.problem == ""


def test_torn_last_frame_at_every_offset(tmp_path: Path) -> None:
    path = tmp_path / "a.frames"
    payloads = write_log(path)
    buf = path.read_bytes()
    last = len(encode_frame(0.19, CHAR, payloads[-1]))
    start = len(buf) - last
    for cut in range(start, len(buf)):
        path.write_bytes(buf[:cut])
        log = read_raw_log(path)
        assert [f.payload for f in log.frames] == payloads[:-1], cut
        assert log.dropped_bytes == cut - start
        assert ("torn" in log.problem) == (cut > start)


def test_crc_damage_keeps_frames_before_it(tmp_path: Path) -> None:
    path = tmp_path / "a.frames"
    payloads = write_log(path)
    buf = bytearray(path.read_bytes())
    offset = len(MAGIC) + sum(len(encode_frame(0.0, CHAR, p)) for p in payloads[:12])
    buf[offset + 30] ^= 0xFF  # inside frame 12 (header + first payload byte)
    path.write_bytes(bytes(buf))
    log = read_raw_log(path)
    assert [f.payload for f in log.frames] == payloads[:12]
    assert "CRC mismatch" in log.problem
    assert log.dropped_bytes == len(buf) - offset


def test_reopen_for_append_cuts_the_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "a.frames"
    payloads = write_log(path)
    buf = path.read_bytes()
    path.write_bytes(buf[:-5])  # the last frame is torn
    with RawLogWriter(path) as w:
        w.write(9.0, CHAR, b"after the crash")
    log = read_raw_log(path)
    assert [f.payload for f in log.frames] == [*payloads[:-1], b"after the crash"]
    assert log.dropped_bytes == 0


def test_foreign_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.frames"
    path.write_bytes(b"PK\x03\x04 not a log")
    with pytest.raises(FormatError, match="not an imu-gait raw frame log"):
        read_raw_log(path)
    with pytest.raises(FormatError):
        RawLogWriter(path)


def test_torn_magic_is_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "x.frames"
    path.write_bytes(MAGIC[:3])
    log = read_raw_log(path)
    assert log.frames == [] and log.dropped_bytes == 3


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from pathlib import Path
    from imu_gait.rawlog import RawLogWriter
    from imu_gait.session import ImuData, Session, save_session

    out = Path(sys.argv[1])
    w = RawLogWriter(out / "raw.frames")
    rng = np.random.default_rng(int(sys.argv[2]))
    k = 0
    while True:
        for _ in range(50):
            w.write(k * 0.01, "15172001-4947-11e9-8646-d663bd873d93", rng.bytes(int(rng.integers(1, 200))))
            k += 1
        w.flush()
        n = 2000 + k
        t = np.arange(n) / 100.0
        data = ImuData(t, np.tile([0, 0, 9.81], (n, 1)), np.zeros((n, 3)))
        save_session(Session(data={"left_foot": data}, subject="kill-test"), out / f"s{k:06d}")
        print(k, flush=True)
    """
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_writer_leaves_folders_that_open(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), str(seed)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # one complete round is on disk
        time.sleep(float(rng.uniform(0.05, 0.6)))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    sessions = sorted(p for p in tmp_path.iterdir() if p.name.startswith("s"))
    assert sessions
    for s in sessions:  # every folder that is visible under its name is complete
        assert load_session(s).subject == "kill-test"
    log = read_raw_log(tmp_path / "raw.frames")
    assert len(log.frames) >= 50
    assert np.all(np.diff(log.times) > 0)
    assert log.dropped_bytes < 300  # at most one torn frame
