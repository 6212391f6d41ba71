"""`imu-gait scan`: list nearby supported BLE sensors."""

from __future__ import annotations

import argparse

HELP = "list nearby supported sensors (family, name, address, RSSI)"

NO_BLUETOOTH_HINT = (
    "is there an adapter, and on Linux is the bluetooth service running with D-Bus reachable? "
    "See docs/troubleshooting.md; without hardware use `imu-gait emulate` and --ble tcp-client:127.0.0.1:PORT"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to listen (default 5)")
    p.add_argument(
        "--all", action="store_true", help="also list devices that are not supported sensors"
    )
    p.add_argument(
        "--ble",
        default=None,
        help="BLE stack: default or tcp-client:127.0.0.1:PORT; also $IMU_GAIT_BLE",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bleak.exc import BleakError
    from rich.console import Console
    from rich.table import Table

    from imu_gait.ble.scan import scan
    from imu_gait.ble.transport import backends
    from imu_gait.errors import ImuGaitError

    try:
        found = asyncio.run(scan(args.timeout, backends(args.ble)[0], include_unknown=args.all))
    except (BleakError, OSError) as e:
        reason = str(e) or type(e).__name__
        raise ImuGaitError(f"Bluetooth is not available: {reason} ({NO_BLUETOOTH_HINT})") from None
    table = Table("family", "name", "address", "RSSI")
    for f in found:
        table.add_row(f.family or "-", f.name or "-", f.address, str(f.rssi))
    con = Console()
    con.print(table)
    if not found:
        con.print(
            f"no supported sensor seen in {args.timeout:g} s (is it on, and not connected elsewhere?)"
        )
    return 0
