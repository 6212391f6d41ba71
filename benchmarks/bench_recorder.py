"""End-to-end recorder benchmark on emulated sensors through bleak and a real BLE stack (Bumble).

Part 1 (truth): 6 virtual sensors of mixed families in this process stream a simulated walk (imu_gait.simulate,
feet + shanks + thighs), 200 Hz requested, 30 ms connection-interval bursts with 2 ms jitter, 0.5 % notification
loss, device clocks spread over -100..+100 ppm, the left-foot link dropped at 30 s; the recorder runs for
--seconds (default 60). Prints per sensor: samples sent / lost on air / received / missing (sent, not lost, not in
the session), losses the decoder counted vs the truth, the time-sync error against the emulator's clock truth, and
the reconnect time; then the stride analysis of the recorded session next to that of the simulated source.

Part 2 (CPU): the same sensors served by `imu-gait emulate` in a separate process over HCI/TCP, the recorder in
this process for --cpu-seconds; prints the recorder's CPU time per sensor (share of one core).

Run: .venv/bin/python benchmarks/bench_recorder.py [--seconds 60] [--cpu-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import firmware_protocols  # noqa: E402
from imu_gait.ble.recorder import Recorder, SensorSpec  # noqa: E402
from imu_gait.emulator.bleak_backend import bumble_backends, close_central  # noqa: E402
from imu_gait.emulator.peripheral import Knobs  # noqa: E402
from imu_gait.emulator.server import SensorServer  # noqa: E402
from imu_gait.session import load_session  # noqa: E402

SENSORS = {  # placement -> family (mixed; Thingy:52 left out to keep six)
    "left_foot": "diy",
    "right_foot": "movesense",
    "left_shank": "polar",
    "right_shank": "dot",
    "left_thigh": "witmotion",
    "right_thigh": "metawear",
}
RATE_HZ = 200.0
DROP_AT_S = 30.0


def knobs(seconds: float) -> dict[str, Knobs]:
    n = len(SENSORS)
    out = {}
    for i, p in enumerate(SENSORS):
        out[p] = Knobs(
            interval_ms=30.0,
            jitter_ms=2.0,
            loss=0.005,
            drift_ppm=-100.0 + 200.0 * i / (n - 1),
            offset_s=100.0 * i,
            drop_at_s=min(DROP_AT_S, seconds / 2) if p == "left_foot" else None,
            drop_silence_s=0.5,
            seed=10 + i,
        )
    return out


def simulated_walk(seconds: float):
    """A simulated walk (standing calibration first) at least ``seconds`` long, sampled at 200 Hz."""
    from imu_gait.simulate import simulate
    from imu_gait.simulate.config import SimConfig

    config = SimConfig.walk(
        strides=int(seconds / 1.1) + 2, rate_hz=RATE_HZ, placements=tuple(SENSORS)
    )
    return simulate(config, seed=7).session


async def truth_run(seconds: float, out: Path) -> None:
    source = simulated_walk(seconds)
    server = SensorServer(
        {p: source.data[p] for p in SENSORS},
        {p: firmware_protocols.FAMILIES[f] for p, f in SENSORS.items()},
        knobs(seconds),
    )
    sensors = await server.start()
    rec = Recorder(
        [SensorSpec(p, s.name) for p, s in sensors.items()],
        str(out),
        rate_hz=RATE_HZ,
        backends=bumble_backends(server.link),
    )
    loop = asyncio.get_running_loop()
    cpu0, wall0 = time.process_time(), time.monotonic()
    stop_true = loop.time() + seconds
    await rec.run(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    await server.close()
    await close_central(server.link)
    session = load_session(out)
    meta = json.loads((out / "session.json").read_text())
    print(f"\nPart 1: {len(SENSORS)} sensors, {seconds:g} s, emulator + recorder in one process")
    print(
        f"  process CPU {cpu:.1f} s over {wall:.1f} s wall = {100 * cpu / wall:.0f}% of one core (both sides)"
    )
    head = f"  {'placement':12s} {'family':10s} {'rate':>6s} {'sent':>6s} {'lost':>5s} {'recv':>6s} {'missing':>7s}"
    print(head + f" {'dec.lost':>8s} {'sync err ms (med, p5..p95)':>27s} {'reconnect s':>11s}")
    medians = {}
    for p, sensor in sensors.items():
        truth = sensor.truth
        data = session.data.get(p)
        info = meta["sensors"].get(p, {})
        recv = 0 if data is None else len(data)
        units = payloads(truth, split=SENSORS[p] == "movesense")
        lost = sum(len(d) for d, gone, _ in units if gone)
        # without device time: sent, not lost, not received (includes samples still in flight at the stop)
        missing = truth.samples_sent - lost - recv
        sync = "n/a (no device clock)"
        if data is not None and data.t_device is not None and recv:
            sent = [d for d, gone, t in units if not gone and t < stop_true - 0.3]
            sent = np.concatenate(sent) if sent else np.zeros(0)
            missing = int(np.setdiff1d(np.round(sent, 6), np.round(data.t_device, 6)).size)
            if SENSORS[p] == "polar":
                # a sample needs both its acc and its gyro frame: lost = sent before the stop, not recorded
                lost, missing = lost + missing, 0
            err = data.t - (np.asarray(sensor.clock.true(data.t_device)) - rec.t0)
            medians[p] = float(np.median(err))
            sync = f"{1e3 * np.median(err):6.2f} ({1e3 * np.percentile(err, 5):5.2f}..{1e3 * np.percentile(err, 95):5.2f})"
        dec_lost = f"{info.get('lost_samples', 0)}/{lost}"
        reconnect = ",".join(f"{x:.2f}" for x in info.get("reconnect_s", [])) or "-"
        rate = info.get("rate_hz", 0.0)
        print(
            f"  {p:12s} {SENSORS[p]:10s} {rate:6.0f} {truth.samples_sent:6d} {truth.samples_lost:5d} {recv:6d} "
            f"{missing:7d} {dec_lost:>8s} {sync:>27s} {reconnect:>11s}"
        )
    if medians:
        spread = 1e3 * (max(medians.values()) - min(medians.values()))
        print(
            f"  time-sync agreement between sensors with device clocks (max - min of median errors): {spread:.2f} ms"
        )
        timely = {p: m for p, m in medians.items() if SENSORS[p] != "polar"}
        if len(timely) > 1:
            spread = 1e3 * (max(timely.values()) - min(timely.values()))
            print(f"  the same without Polar: {spread:.2f} ms")
    gaps = {p: info["gaps"] for p, info in meta["sensors"].items() if info.get("gaps")}
    print(f"  gaps marked: {gaps}")
    compare_analysis(source, session, shift=server.origin - rec.t0)
    print(
        "  lost = samples of the notifications lost on air (Movesense: a split payload is lost with either part;"
        "\n  Polar: samples sent before the stop whose acc or gyro frame never arrived, i.e. not recorded);"
        "\n  dec.lost = samples the decoder counted as lost / lost (0 where the family cannot tell)"
    )


def payloads(truth, split: bool) -> list[tuple[np.ndarray, bool, float]]:
    """The sensor's notifications as (device times of their samples, lost on air, true send time).

    ``split``: the family splits payloads into parts (Movesense DATA + DATA_PART2). The sensor's log gives a
    payload's samples to the part that completes it, the earlier parts carry none, and losing any part loses the
    payload: such parts are grouped into one entry.
    """
    if not split:
        return [(d, gone, t) for t, d, gone in truth.log]
    out, lost = [], False
    for t, d, gone in truth.log:
        lost = lost or gone
        if len(d):
            out.append((d, lost, t))
            lost = False
    return out


METRICS = (
    "stride_time",
    "stride_length",
    "eversion_excursion",
    "eversion_peak",
    "eversion_velocity_peak",
    "knee_frontal_excursion",
    "knee_flexion_peak_stance",
)


def compare_analysis(source, recorded, shift: float) -> None:
    """Per side: strides found and the mean of the main metrics, source vs recorded session."""
    import imu_gait

    a, b = source.calibration["static"]
    recorded.calibration = {
        "static": [max(a + shift, 1.0), b + shift]
    }  # the same standing, on the recorder clock
    src = imu_gait.analyze(source).strides
    rec = imu_gait.analyze(recorded).strides
    # only the strides the recording covers: source time = recorded time - shift
    t0 = max(float(d.t[0]) for d in recorded.data.values()) - shift
    t1 = min(float(d.t[-1]) for d in recorded.data.values()) - shift
    src = src[(src.ic >= t0) & (src.end <= t1)]
    print("\n  stride analysis, simulated source vs recorded session (means per side):")
    print(f"  {'metric':26s} {'side':6s} {'source':>9s} {'recorded':>9s} {'diff':>8s}")
    for side in ("left", "right"):
        s_side, r_side = src[src.side == side], rec[rec.side == side]
        print(f"  {'strides':26s} {side:6s} {len(s_side):9d} {len(r_side):9d}")
        for m in METRICS:
            if m in src and m in rec:
                x, y = s_side[m].mean(), r_side[m].mean()
                print(f"  {m:26s} {side:6s} {x:9.3f} {y:9.3f} {y - x:8.3f}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def cpu_run(seconds: float, out: Path) -> None:
    port = free_port()
    families = ",".join(SENSORS)
    emu = subprocess.Popen(
        [sys.executable, "-m", "imu_gait", "emulate", "--hci", f"tcp-server:127.0.0.1:{port}", "--family", "mixed",
         "--placements", families, "--loss", "0.005", "--drift-ppm", "100", "--duration", str(seconds + 60)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        names = {}
        while len(names) < len(SENSORS):
            line = emu.stdout.readline()
            if not line:
                raise RuntimeError("emulator exited")
            fields = line.split()  # PLACEMENT NAME ADDRESS FAMILY; a name may contain spaces
            placement, name = fields[0], " ".join(fields[1:-2])
            names[placement] = name
        rec = Recorder(
            [SensorSpec(p, n) for p, n in names.items()],
            str(out),
            rate_hz=RATE_HZ,
            backends=bumble_backends(f"tcp-client:127.0.0.1:{port}"),
        )
        # measure only while streaming: start the clock when every sensor delivers
        task = asyncio.create_task(rec.run(seconds + 30))
        while not all(s.samples > 0 for s in rec.sensors.values()):
            await asyncio.sleep(0.1)
        cpu0, wall0 = time.process_time(), time.monotonic()
        n0 = sum(s.notifications for s in rec.sensors.values())
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        notes = sum(s.notifications for s in rec.sensors.values()) - n0
        samples = sum(s.samples for s in rec.sensors.values())
        rec.stop()
        await task
        await close_central(f"tcp-client:127.0.0.1:{port}")
    finally:
        emu.terminate()
        emu.wait(10)
    per_sensor = 100 * cpu / wall / len(SENSORS)
    print(
        f"\nPart 2: recorder alone (emulator in another process over HCI/TCP), {seconds:g} s streaming"
    )
    print(
        f"  recorder CPU {cpu:.2f} s over {wall:.1f} s = {100 * cpu / wall:.1f}% of one core for {len(SENSORS)} sensors"
    )
    print(
        f"  = {per_sensor:.1f}% of one core per sensor at ~200 Hz; {1e6 * cpu / max(notes, 1):.0f} us per notification"
    )
    print(f"  ({notes} notifications, {samples} samples decoded in the whole run)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--cpu-seconds", type=float, default=20.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_recorder_"))
    try:
        asyncio.run(truth_run(args.seconds, tmp / "truth"))
        if args.cpu_seconds > 0:
            asyncio.run(cpu_run(args.cpu_seconds, tmp / "cpu"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
