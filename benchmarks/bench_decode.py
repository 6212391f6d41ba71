"""Decode cost per notification and per sample for every sensor family (sans-IO decoders only).

Each family's own encoder produces a realistic stream (gait-like signals at about 200 Hz, or the family's highest
streaming rate below that, batched as the device batches); the decoder then eats it repeatedly (best of N).
Prints one row per family: notifications (all of them, incl. Movesense continuation parts and both Polar
streams), samples per notification, µs per notification, µs per sample, and the share of one core that
decoding one sensor at that rate needs.

Run: .venv/bin/python benchmarks/bench_decode.py [--seconds S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repo's packages, also without reinstalling

import firmware_protocols as fp
from firmware_protocols.base import GattRead, GattWrite

G = 9.80665
RATES = {
    "diy": 200,
    "witmotion": 200,
    "metawear": 200,
    "movesense": 208,
    "polar": 208,
    "dot": 60,
    "thingy52": 200,
}


def stream(name: str, seconds: float) -> tuple[list[tuple[str, bytes]], float, object]:
    m = fp.FAMILIES[name]
    config = m.choose_config(RATES[name], 8, 2000)
    enc = m.Encoder()
    dec_notes: list[tuple[str, bytes]] = []
    hs = m.handshake(config)
    while True:
        actions = hs.next_actions()
        if not actions and hs.done:
            break
        for a in actions:
            if isinstance(a, GattRead):
                hs.feed(a.characteristic, enc.read(a.characteristic))
            else:
                assert isinstance(a, GattWrite)
                for n in enc.handle_write(a.characteristic, a.data):
                    hs.feed(n.characteristic, n.data)
                    dec_notes.append((n.characteristic, n.data))
    n = int(seconds * config.rate_hz)
    t = 700_000_000.0 + np.arange(n) / config.rate_hz
    ph = 2 * np.pi * (t - t[0])
    rng = np.random.default_rng(0)
    acc = np.column_stack(
        [3 * np.sin(ph), 2 * np.cos(2 * ph), G + 5 * np.sin(3 * ph)]
    ) + rng.normal(0, 0.1, (n, 3))
    gyr = np.column_stack([250 * np.sin(ph), 90 * np.cos(ph), 150 * np.sin(2 * ph)]) + rng.normal(
        0, 1, (n, 3)
    )
    notes = []
    for k in range(0, n, 10):
        notes += enc.encode(t[k : k + 10], acc[k : k + 10], gyr[k : k + 10])
    notes += enc.flush()
    return dec_notes + [(x.characteristic, x.data) for x in notes], config.rate_hz, config


def bench(name: str, seconds: float, repeats: int) -> dict:
    m = fp.FAMILIES[name]
    notes, rate, config = stream(name, seconds)
    best = float("inf")
    samples = 0
    for _ in range(repeats):
        dec = m.Decoder(config)
        t0 = time.perf_counter()
        for char, data in notes:
            dec.feed(char, data)
        best = min(best, time.perf_counter() - t0)
        samples = dec.samples
    us_packet = best / len(notes) * 1e6
    us_sample = best / max(samples, 1) * 1e6
    return {
        "family": name,
        "rate": rate,
        "packets": len(notes),
        "per_packet": samples / len(notes),
        "us_packet": us_packet,
        "us_sample": us_sample,
        "cpu_pct": us_sample * rate / 1e4,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="stream length per family (s)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(
        f"{'family':<10} {'rate Hz':>8} {'notif.':>8} {'smp/ntf':>8} {'us/ntf':>8} {'us/smp':>8} {'CPU %':>7}"
    )
    for name in sorted(fp.FAMILIES):
        r = bench(name, args.seconds, args.repeats)
        print(
            f"{r['family']:<10} {r['rate']:>8.0f} {r['packets']:>8d} {r['per_packet']:>8.2f} "
            f"{r['us_packet']:>8.1f} {r['us_sample']:>8.2f} {r['cpu_pct']:>7.3f}"
        )
    print("CPU % = share of one core to decode one sensor at that rate (acc + gyro).")


if __name__ == "__main__":
    main()
