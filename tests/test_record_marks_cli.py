"""Marks and recovery as users run them: `imu-gait emulate` serving a subject who stands for 12 s and then walks,
`imu-gait record` fed marks on stdin (a pipe, or single keys on a pseudo-terminal with the live view), killed with
SIGKILL, then `imu-gait finalize`, `info` and `analyze` on what it left."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_ble_cli import ROOT, Emulator, _cli, _wait_for_parts

import firmware_protocols
from firmware_protocols import StreamConfig
from imu_gait.rawlog import KIND_NOTIFICATION, encode_frame, read_raw_log
from imu_gait.session import ImuData, Session, load_session, save_session

FEET = ("left_foot", "right_foot")
STAND_S = 12.0  # the served subject stands this long from the emulator's start, then walks


@pytest.fixture(scope="module")
def stand_then_walk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recordings/demo_pre's feet with its standing calibration (0.5-4.5 s) repeated to fill the first 12 s."""
    demo = load_session(ROOT / "recordings" / "demo_pre")
    data = {}
    for p in FEET:
        d = demo.data[p]
        rate = d.rate_hz
        still = (d.t >= 0.5) & (d.t < 4.5)
        walk = d.t >= 4.5
        reps = int(np.ceil(STAND_S * rate / still.sum()))
        acc = np.concatenate([np.tile(d.acc[still], (reps, 1))[: int(STAND_S * rate)], d.acc[walk]])
        gyr = np.concatenate([np.tile(d.gyr[still], (reps, 1))[: int(STAND_S * rate)], d.gyr[walk]])
        data[p] = ImuData(np.arange(len(acc)) / rate, acc, gyr)
    session = Session(data=data, sensors={p: demo.sensors[p] for p in FEET}, subject="S01")
    return save_session(session, tmp_path_factory.mktemp("src") / "stand_then_walk")


@pytest.fixture
def emulator(stand_then_walk: Path) -> Iterator[Emulator]:
    """A fresh emulator per test: its subject stands for the first 12 s of every test, whatever ran before."""
    emu = Emulator("--from", str(stand_then_walk), "--placements", ",".join(FEET))
    yield emu
    emu.stop()


class Recording:
    """`imu-gait record` of both feet with a pipe as stdin; stderr lines collected as they come."""

    def __init__(self, emulator: Emulator, out: Path, *extra: str) -> None:
        self.out = out
        args = [
            "-s",
            f"left_foot={emulator.sensors[0][1]}",
            "-s",
            f"right_foot={emulator.sensors[1][1]}",
        ]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imu_gait", "record", *args, "-o", str(out), "--rate", "100",
             "--ble", emulator.ble, "--no-live", "--no-analysis", *extra],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def finish(self, timeout: float = 30.0) -> str:
        """Wait for the recorder to exit (its stderr stays with the collecting thread); its stdout."""
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5.0)
        return out

    def send(self, line: str) -> float:
        """Write one line to the recorder's stdin; the monotonic time it was written."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return time.monotonic()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if text in line:
                return line
        self.proc.kill()
        raise AssertionError(f"no {text!r} from the recorder: {''.join(self.stderr)}")


def _marks_in_order(meta: dict) -> list[dict]:
    return [e for e in meta["events"] if e["label"] != "gap"]


def test_marks_on_stdin_and_calibrate_first_reach_session_json_and_the_analysis(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "marked"
    rec = Recording(emulator, out, "--calibrate-first", "2")
    rec.wait_for("calibration stop")
    a = rec.send("mark first")
    time.sleep(1.0)
    b = rec.send("mark second")
    rec.send("dance")  # not a mark: said so, recording goes on
    rec.wait_for("mark ignored")
    time.sleep(max(0.0, emulator.started + STAND_S + 0.3 - time.monotonic()))
    rec.send("walk")
    rec.wait_for("mark:", timeout=5.0)
    time.sleep(3.0)
    rec.proc.send_signal(signal.SIGINT)
    stdout = rec.finish()
    assert rec.proc.returncode == 0, "".join(rec.stderr)
    assert "marks: calibration" in stdout

    meta = json.loads((out / "session.json").read_text())
    session = load_session(out)
    t0, t1 = meta["calibration"]["static"]
    assert t1 - t0 == pytest.approx(2.0, abs=1e-3)
    # the calibration starts once both sensors stream: within 0.5 s of the later sensor's first sample
    first = max(session.data[p].t[0] for p in FEET)
    assert first - 0.1 < t0 < first + 0.5
    m1, m2, walk = _marks_in_order(meta)
    assert (m1["note"], m2["note"], walk["label"]) == ("first", "second", "walk")
    # marks keep the spacing of the writes (pipe -> reader thread -> session clock)
    assert abs((m2["t"] - m1["t"]) - (b - a)) < 0.03
    for p in FEET:
        d = session.data[p]
        cal = (d.t >= t0) & (d.t <= t1)
        assert cal.sum() > 150
        assert np.abs(d.gyr[cal]).max() < 5.0  # the subject stood still in the window
        moving = (d.t > walk["t"] + 0.5) & (d.t <= walk["t_end"])
        assert np.sqrt(np.mean(d.gyr[moving] ** 2)) > 30.0  # and walked in the walk segment
    # the walk segment was still open at Ctrl-C: it ends with the recording
    assert walk["t_end"] == pytest.approx(meta["recorder"]["duration_s"], abs=0.5)
    marks_log = [json.loads(x) for x in (out / "marks.jsonl").read_text().splitlines()]
    assert [m["kind"] for m in marks_log] == [
        "calibration_start", "calibration_stop", "marker", "marker", "segment", "end",
    ]  # fmt: skip

    res = _cli("analyze", str(out), "-o", str(tmp_path / "analysis"), timeout=300)
    assert res.returncode == 0, res.stderr
    quality = json.loads((tmp_path / "analysis" / "quality.json").read_text())
    for p in FEET:
        q = quality["sensors"][p]
        assert q["alignment"]["gravity_from"] == "static calibration"
        assert q["eversion_zero"]["source"] == "static calibration"
        assert q["alignment"]["gravity_spread_deg"] < 3.0


def test_finalize_a_recorder_killed_with_sigkill(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    rec = Recording(emulator, out)
    _wait_for_parts(out, list(FEET), rec.proc)
    rec.send("c")
    time.sleep(1.0)
    rec.send("c")
    rec.send("squat left")  # still open when the recorder dies
    rec.wait_for("squat left")
    busy = _cli("finalize", str(out))  # the recorder holds its folder
    assert busy.returncode == 2 and "still at work" in busy.stderr
    time.sleep(0.5)
    os.kill(rec.proc.pid, signal.SIGKILL)
    rec.proc.wait(10)
    before = json.loads((out / "session.json").read_text())
    assert before["recorder"]["finalized"] is False
    # a torn frame at the end of one log, as when the kill lands in the middle of a write
    raw_left = out / "raw" / "left_foot.frames"
    torn_by_kill = read_raw_log(raw_left).dropped_bytes
    with open(raw_left, "ab") as f:
        f.write(encode_frame(99.0, "00000000-0000-0000-0000-000000000001", b"x" * 20)[:13])

    # the same folder as if the recorder had died before writing session.json
    bare = tmp_path / "bare"
    shutil.copytree(out, bare)
    (bare / "session.json").unlink()

    res = _cli("finalize", str(out))
    assert res.returncode == 0, res.stderr
    assert f"torn bytes dropped {torn_by_kill + 13}" in res.stdout
    assert "segment squat open at the crash" in res.stdout
    meta = json.loads((out / "session.json").read_text())
    assert meta["recorder"]["finalized"] is True
    session = load_session(out)
    for p in FEET:
        assert not (out / f"{p}.parts").exists()
        # every sample the raw log holds, decoded again independently of the recovery code path
        raw = read_raw_log(out / "raw" / f"{p}.frames")
        info = meta["sensors"][p]
        config = StreamConfig(info["rate_hz"], info["acc_range_g"], info["gyr_range_dps"])
        decoder = firmware_protocols.FAMILIES[info["family"]].Decoder(config)
        n = sum(
            len(b)
            for f in raw.frames
            if f.kind == KIND_NOTIFICATION
            for b in decoder.feed(f.characteristic, f.payload)
        )
        assert len(session.data[p]) == n > 150
        assert f"{p}: {n} samples" in res.stdout
        assert np.all(np.diff(session.data[p].t) > 0)
    t0, t1 = meta["calibration"]["static"]
    assert t1 - t0 == pytest.approx(1.0, abs=0.05)
    (squat,) = _marks_in_order(meta)
    assert squat["label"] == "squat" and squat["side"] == "left"
    assert squat["t_end"] == pytest.approx(max(session.data[p].t[-1] for p in FEET), abs=1e-3)

    info = _cli("info", str(out), "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["sensors"]["left_foot"]["samples"] == len(
        session.data["left_foot"]
    )
    res = _cli("analyze", str(out), "-o", str(tmp_path / "analysis"), timeout=300)
    assert res.returncode == 0, res.stderr
    quality = json.loads((tmp_path / "analysis" / "quality.json").read_text())
    assert quality["sensors"]["left_foot"]["alignment"]["gravity_from"] == "static calibration"

    # without session.json: the sensors are described from their raw logs, the samples and marks are the same
    res = _cli("finalize", str(bare))
    assert res.returncode == 0, res.stderr
    assert "no session.json: rebuilt from the raw logs" in res.stdout
    rebuilt = load_session(bare)
    assert rebuilt.calibration == session.calibration and rebuilt.events == session.events
    for p in FEET:
        assert rebuilt.sensors[p].family == "diy" and rebuilt.sensors[p].rate_hz == 100.0
        np.testing.assert_array_equal(rebuilt.data[p].t, session.data[p].t)
        np.testing.assert_array_equal(rebuilt.data[p].gyr, session.data[p].gyr)

    # a finished session is refused; --force decodes it again to the same session
    again = _cli("finalize", str(out))
    assert again.returncode == 2 and "already finalized" in again.stderr
    forced = _cli("finalize", str(out), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "session.json").read_text()) == meta
    assert json.loads(forced.stdout)["sensors"]["left_foot"]["dropped_bytes"] == torn_by_kill + 13
    redone = load_session(out)
    for p in FEET:
        np.testing.assert_array_equal(redone.data[p].t, session.data[p].t)
        np.testing.assert_array_equal(redone.data[p].acc, session.data[p].acc)


def test_single_keys_in_the_live_view_and_the_terminal_is_restored(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The recorder on a pseudo-terminal (foreground, live view): keys are read in cbreak mode, shown in the
    view, and Ctrl-C stops the recording and gives the terminal back as it was."""
    import pty
    import termios

    out = tmp_path / "keys"
    args = [
        sys.executable, "-m", "imu_gait", "record", "-o", str(out), "--rate", "100",
        "-s", f"left_foot={emulator.sensors[0][1]}", "-s", f"right_foot={emulator.sensors[1][1]}",
        "--ble", emulator.ble, "--no-analysis",
    ]  # fmt: skip
    pid, master = pty.fork()
    if pid == 0:  # the child: session leader with the pty as its controlling terminal
        os.chdir(ROOT)
        os.execv(sys.executable, args)
    before = termios.tcgetattr(master)
    screen: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            screen.append(chunk)

    threading.Thread(target=drain, daemon=True).start()
    child = _Child(pid)
    try:
        _wait_for_parts(out, list(FEET), child)
        lflag = termios.tcgetattr(master)[3]
        assert not lflag & termios.ICANON and not lflag & termios.ECHO, "cbreak while recording"
        os.write(master, b"c")
        time.sleep(1.0)
        os.write(master, b"c")
        os.write(master, b"/treadmill\r")  # a free-text segment
        time.sleep(0.5)
        os.write(master, b"m")
        os.write(master, b"X")  # not a mark key: said so in the view
        time.sleep(0.5)
        os.write(master, b" ")
        time.sleep(0.7)
        os.write(master, b"\x03")  # Ctrl-C
        deadline = time.monotonic() + 30
        while (code := child.poll()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if child.poll() is None:
            child.kill()
            os.waitpid(pid, 0)
    assert code == 0, b"".join(screen)[-2000:]
    after = termios.tcgetattr(master)
    assert after[3] == before[3], "local modes (canonical input, echo) restored"
    text = b"".join(screen).decode("utf-8", "replace")
    assert "STAND STILL" in text and "segment treadmill" in text
    assert "key 'X' is not a mark" in text
    meta = json.loads((out / "session.json").read_text())
    t0, t1 = meta["calibration"]["static"]
    assert t1 - t0 == pytest.approx(1.0, abs=0.1)
    seg, marker = _marks_in_order(meta)
    assert seg["label"] == "treadmill" and seg["t"] == pytest.approx(t1, abs=0.05)
    assert seg["t_end"] - seg["t"] == pytest.approx(1.0, abs=0.1)
    assert marker["label"] == "mark" and seg["t"] < marker["t"] < seg["t_end"]


class _Child:
    """The bits of Popen that _wait_for_parts uses, for a forked child (reaped once)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stderr = None
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
