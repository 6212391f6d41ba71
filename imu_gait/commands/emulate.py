"""`imu-gait emulate`: virtual BLE sensors streaming a session, for `imu-gait record --ble tcp-client:...`."""

from __future__ import annotations

import argparse

HELP = (
    "virtual BLE sensors that stream a session over an emulated radio (HCI over TCP, loopback only)"
)

DEFAULT_HCI = "tcp-server:127.0.0.1:9100"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        dest="source",
        default=None,
        help="session folder to stream (default: recordings/demo_pre, else a built-in synthetic signal)",
    )
    p.add_argument(
        "--family",
        default="diy",
        help="sensor family of every virtual sensor, or 'mixed' to cycle through all (default: diy)",
    )
    p.add_argument(
        "--hci",
        default=DEFAULT_HCI,
        help=f"where recorders connect (default {DEFAULT_HCI}; port 0 = any)",
    )
    p.add_argument(
        "--placements",
        default=None,
        help="comma-separated placements to serve (default: all of the session)",
    )
    p.add_argument(
        "--interval-ms",
        type=float,
        default=30.0,
        help="connection interval: notification bursts (ms)",
    )
    p.add_argument(
        "--jitter-ms",
        type=float,
        default=2.0,
        help="extra random delivery delay per burst, up to (ms)",
    )
    p.add_argument(
        "--loss", type=float, default=0.0, help="probability that a notification is lost (0..1)"
    )
    p.add_argument(
        "--drift-ppm",
        type=float,
        default=0.0,
        help="device clock drift; the sensors spread over -X..+X ppm",
    )
    p.add_argument(
        "--drop-at",
        type=float,
        default=None,
        help="drop each sensor's link once, this many s into streaming",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed for loss and jitter")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: run until stopped)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import importlib.util

    from imu_gait.errors import UsageError

    if importlib.util.find_spec("bumble") is None:
        raise UsageError("the emulator needs Bumble: pip install 'imu-gait[emulator]'")
    return asyncio.run(_serve(args))


def _families(name: str, placements: list[str]) -> dict:
    import firmware_protocols
    from imu_gait.errors import UsageError

    names = list(firmware_protocols.FAMILIES)
    if name == "mixed":
        return {
            p: firmware_protocols.FAMILIES[names[i % len(names)]] for i, p in enumerate(placements)
        }
    if name not in firmware_protocols.FAMILIES:
        raise UsageError(f"unknown sensor family {name!r}; known: {', '.join(names)}, mixed")
    return dict.fromkeys(placements, firmware_protocols.FAMILIES[name])


async def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from imu_gait.ble.transport import parse_hci_spec
    from imu_gait.commands.stop_signals import on_stop_signals
    from imu_gait.emulator.peripheral import Knobs
    from imu_gait.emulator.server import SensorServer
    from imu_gait.emulator.source import DEMO_SESSION, default_session, synthetic_session
    from imu_gait.errors import UsageError
    from imu_gait.session import check_placement, load_session

    host, port = parse_hci_spec(args.hci, "tcp-server")
    if not 0.0 <= args.loss < 1.0:
        raise UsageError("--loss must be in [0, 1)")
    wanted = [check_placement(p.strip()) for p in (args.placements or "").split(",") if p.strip()]
    if args.source:
        session = load_session(args.source)
    elif wanted and not (DEMO_SESSION / "session.json").is_file():
        session = synthetic_session(tuple(wanted))
    else:
        session = default_session()
    placements = session.placements
    if wanted:
        missing = [p for p in wanted if p not in session.data]
        if missing:
            raise UsageError(
                f"the session has no sensor at {', '.join(missing)} (it has {', '.join(placements)})"
            )
        placements = wanted
    if not placements:
        raise UsageError("the session has no sensors to emulate")
    families = _families(args.family, placements)
    n = len(placements)
    knobs = {
        p: Knobs(
            interval_ms=args.interval_ms,
            jitter_ms=args.jitter_ms,
            loss=args.loss,
            drift_ppm=args.drift_ppm * ((2 * i / (n - 1) - 1) if n > 1 else 1.0),
            drop_at_s=args.drop_at,
            seed=None if args.seed is None else args.seed + i,
        )
        for i, p in enumerate(placements)
    }
    server = SensorServer({p: session.data[p] for p in placements}, families, knobs)
    sensors = await server.start()
    try:
        port = await server.serve_tcp(host, port)
    except OSError as e:
        await server.close()
        raise UsageError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    for p, s in sensors.items():
        print(f"{p} {s.name} {s.address_str} {s.family.NAME}", flush=True)
    print(
        f"serving {n} sensor(s) on tcp-server:{host}:{port}; record with --ble tcp-client:{host}:{port}",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    on_stop_signals(asyncio.get_running_loop(), stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except TimeoutError:
        pass
    finally:
        await server.close()
    return 0
