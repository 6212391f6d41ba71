"""The two-terminal flow as users run it: `imu-gait emulate` in one process, `imu-gait scan/record` in others.

The recorder reaches the emulated sensors over HCI on TCP (loopback); it is killed with SIGKILL at a random moment
to check that the session folder opens with all data up to the last second.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from imu_gait.rawlog import KIND_NOTIFICATION, read_raw_log
from imu_gait.session import load_session

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "imu_gait", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, *extra: str) -> None:
        self.port = _free_port()
        self.proc = _popen(
            "emulate",
            "--hci",
            f"tcp-server:127.0.0.1:{self.port}",
            "--duration",
            "300",
            "--seed",
            "1",
            *extra,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True
        ).start()
        self.sensors: list[list[str]] = []
        deadline = time.monotonic() + 30
        while len(self.sensors) < 2 and time.monotonic() < deadline:
            try:
                fields = lines.get(timeout=1.0).split()  # the name (middle) may contain spaces
                self.sensors.append([fields[0], " ".join(fields[1:-2]), fields[-2], fields[-1]])
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
        if len(self.sensors) < 2:
            self.proc.kill()
            raise RuntimeError(f"emulator did not start: {self.proc.stderr.read()}")
        self.started = time.monotonic()  # just after the sources started playing from their t = 0

    @property
    def ble(self) -> str:
        return f"tcp-client:127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    yield emu
    emu.stop()


def test_emulate_prints_placement_name_address_family_per_sensor(emulator: Emulator) -> None:
    assert [s[0] for s in emulator.sensors] == ["left_foot", "right_foot"]
    for placement, name, address, family in emulator.sensors:
        assert placement in name
        assert len(address.split(":")) == 6
        assert family == "diy"


def test_scan_lists_the_emulated_sensors(emulator: Emulator) -> None:
    out = _cli("scan", "--timeout", "1", "--ble", emulator.ble)
    assert out.returncode == 0, out.stderr
    for _, name, address, family in emulator.sensors:
        assert name in out.stdout and address in out.stdout and family in out.stdout


def test_record_by_name_and_address_then_ctrl_c_finalizes(
    emulator: Emulator, tmp_path: Path
) -> None:
    (_, left_name, _, _), (_, _, right_address, _) = emulator.sensors
    out_dir = tmp_path / "walk"
    proc = _popen(
        "record", "-s", f"left_foot={left_name}", "-s", f"right_foot={right_address}",
        "-o", str(out_dir), "--rate", "200", "--ble", emulator.ble, "--no-live",
    )  # fmt: skip
    _wait_for_parts(out_dir, ["left_foot", "right_foot"], proc)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "left_foot: streaming" in stderr
    assert f"session: {out_dir}" in stdout
    meta = json.loads((out_dir / "session.json").read_text())
    assert meta["recorder"]["finalized"] is True
    for placement in ("left_foot", "right_foot"):
        assert (out_dir / f"{placement}.parquet").is_file()
        assert not (out_dir / f"{placement}.parts").exists()
    info = _cli("info", str(out_dir), "--json")
    assert info.returncode == 0, info.stderr
    report = json.loads(info.stdout)
    for placement in ("left_foot", "right_foot"):
        sensor = report["sensors"][placement]
        assert sensor["samples"] > 250
        assert sensor["rate_hz"] == pytest.approx(200.0, rel=0.02)


def test_kill_9_at_a_random_moment_leaves_a_session_that_opens(
    emulator: Emulator, tmp_path: Path
) -> None:
    out_dir = tmp_path / "killed"
    proc = _popen(
        "record", "-s", f"left_foot={emulator.sensors[0][1]}", "-s", f"right_foot={emulator.sensors[1][1]}",
        "-o", str(out_dir), "--rate", "200", "--ble", emulator.ble, "--no-live",
    )  # fmt: skip
    _wait_for_parts(out_dir, ["left_foot", "right_foot"], proc)
    delay = random.uniform(0.2, 2.5)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    info = _cli("info", str(out_dir), "--json")
    assert info.returncode == 0, f"killed after {delay:.2f} s: {info.stderr}"
    report = json.loads(info.stdout)
    session = load_session(out_dir)
    for placement in ("left_foot", "right_foot"):
        assert report["sensors"][placement]["samples"] > 50
        raw = read_raw_log(out_dir / "raw" / f"{placement}.frames")
        last_arrival = max(f.t for f in raw.frames if f.kind == KIND_NOTIFICATION)
        data = session.data[placement]
        assert np.all(np.diff(data.t) > 0)
        # decoded samples reach to within a second of the last notification that reached the disk
        assert data.t[-1] >= last_arrival - 1.0, f"killed after {delay:.2f} s"


def test_emulate_refuses_a_non_loopback_address() -> None:
    out = _cli("emulate", "--hci", "tcp-server:0.0.0.0:9100", "--duration", "1")
    assert out.returncode == 2
    assert "not a loopback address" in out.stderr


def test_record_needs_named_sensors() -> None:
    out = _cli("record", "-o", "unused", "--duration", "1")
    assert out.returncode == 2
    assert "-s PLACEMENT=NAME_OR_ADDRESS" in out.stderr


def _wait_for_parts(
    folder: Path, placements: list[str], proc: subprocess.Popen, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(any((folder / f"{p}.parts").glob("*.parquet")) for p in placements):
            return
        if proc.poll() is not None:
            raise AssertionError(f"recorder exited early: {proc.stderr.read()}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no data within {timeout} s: {proc.stderr.read() if proc.stderr else ''}")
