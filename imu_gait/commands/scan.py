"""`imu-gait scan`: list nearby supported BLE sensors."""

from __future__ import annotations

import argparse

HELP = "list nearby supported sensors (family, name, address, RSSI)"


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

    from rich.console import Console
    from rich.table import Table

    from imu_gait.ble.scan import scan
    from imu_gait.ble.transport import backends

    found = asyncio.run(scan(args.timeout, backends(args.ble)[0], include_unknown=args.all))
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
