"""Speed and memory of the simulator: a 1-hour, 7-sensor, 200 Hz walking session (target: under 20 s).

Run: .venv/bin/python benchmarks/bench_simulate.py [--minutes M] [--rate HZ]
Prints wall time per stage, the ratio to real time, and the peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=200.0)
    args = ap.parse_args()

    from imu_gait.simulate import Activity, SimConfig, simulate

    stride_time = 120.0 / 110.0  # 1.3 m/s walking
    strides = int(args.minutes * 60.0 / stride_time)
    config = SimConfig([Activity("walk", strides=strides, speed=1.3)], rate_hz=args.rate)
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(config, seed=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    duration = max(d.duration for d in result.session.data.values())
    samples = sum(len(d) for d in result.session.data.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if sys.platform == "darwin":
        peak_mb /= 1024.0
    print(
        f"session: {duration / 60:.1f} min, {len(result.session.data)} sensors at {args.rate:g} Hz, {samples} samples"
    )
    print(f"truth: {len(result.strides)} strides, {len(result.curves)} curve points")
    print(
        f"wall time: {wall:.1f} s  (target < 20 s for 60 min)  real-time factor: {duration / wall:.0f}x"
    )
    print(f"CPU time: {cpu:.1f} s (wall time is longer when other processes share the cores)")
    print(f"peak resident memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
