"""`imu-gait record`: stream named BLE sensors into a crash-safe session folder."""

from __future__ import annotations

import argparse

HELP = "record named BLE sensors into a session folder (Ctrl-C stops cleanly)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-s",
        "--sensor",
        action="append",
        default=[],
        metavar="PLACEMENT=NAME_OR_ADDRESS",
        help="a sensor to record, e.g. left_foot=IMUGAIT-left_foot (repeat for each sensor)",
    )
    p.add_argument("-o", "--output", required=True, help="session folder to create")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="sampling rate in Hz (snapped to what each sensor can do)",
    )
    p.add_argument(
        "--ble",
        default=None,
        help="BLE stack: default (real sensors) or tcp-client:127.0.0.1:PORT "
        "(sensors of `imu-gait emulate`); also $IMU_GAIT_BLE",
    )
    p.add_argument("--subject", default="anonymous", help="subject pseudonym (no real names)")
    p.add_argument("--condition", default="", help="e.g. pre or post")
    p.add_argument("--activity", default="", help="e.g. walk")
    p.add_argument(
        "--find-timeout",
        type=float,
        default=10.0,
        help="seconds to look for a sensor before retrying",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="seconds allowed for one connection attempt",
    )
    p.add_argument(
        "--no-live", action="store_true", help="print state changes instead of the live table"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from imu_gait.ble.recorder import SensorSpec
    from imu_gait.ble.transport import backends
    from imu_gait.errors import UsageError

    if not args.sensor:
        raise UsageError(
            "name at least one sensor with -s PLACEMENT=NAME_OR_ADDRESS (see `imu-gait scan`)"
        )
    specs = [SensorSpec.parse(x) for x in args.sensor]
    return asyncio.run(_record(args, specs, backends(args.ble)))


async def _record(args: argparse.Namespace, specs: list, bleak_backends: tuple) -> int:
    import asyncio
    import signal
    import sys

    from rich.console import Console

    from imu_gait.ble.live import live_view, state_line
    from imu_gait.ble.recorder import Recorder
    from imu_gait.errors import ImuGaitError

    err = Console(stderr=True)
    interactive = sys.stderr.isatty() and not args.no_live
    rec = Recorder(
        specs,
        args.output,
        rate_hz=args.rate,
        backends=bleak_backends,
        metadata={"subject": args.subject, "condition": args.condition, "activity": args.activity},
        find_timeout=args.find_timeout,
        connect_timeout=args.connect_timeout,
        on_change=None
        if interactive
        else (lambda s: print(state_line(s), file=sys.stderr, flush=True)),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, rec.stop)
    view = asyncio.create_task(live_view(rec, err)) if interactive else None
    try:
        await rec.run(args.duration)
    finally:
        if view is not None:
            view.cancel()
            await asyncio.gather(view, return_exceptions=True)
    recorded = rec.store.meta["sensors"]
    for p, s in rec.sensors.items():
        info = recorded.get(p)
        if info is None:
            print(f"{p}: no data ({s.problem or s.state})")
            continue
        print(
            f"{p}: {s.samples} samples from {info['name']} ({info['family']}), lost packets {s.lost_packets}, "
            f"gaps {len(s.gaps)}, reconnects {s.reconnects}"
        )
    print(f"session: {rec.store.folder}")
    if not recorded:
        problems = "; ".join(f"{p}: {s.problem or s.state}" for p, s in rec.sensors.items())
        raise ImuGaitError(f"no sensor delivered data ({problems})")
    return 0
