"""Which BLE stack bleak talks to: the platform's (real sensors) or the emulated sensors (``imu-gait emulate``).

``--ble`` / ``IMU_GAIT_BLE``: empty or ``default`` = bleak's platform backend (BlueZ, CoreBluetooth, WinRT);
``tcp-client:127.0.0.1:PORT`` = the virtual sensors served by ``imu-gait emulate`` (loopback only). The emulator is
imported only in the second case.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from imu_gait.errors import UsageError

ENV = "IMU_GAIT_BLE"


def check_loopback(host: str, what: str) -> None:
    """Refuse anything but a loopback address: the emulated radio is for this machine only."""
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"{what}: {host!r} is not a loopback address (use 127.0.0.1)")


def parse_hci_spec(spec: str, kind: str) -> tuple[str, int]:
    """``tcp-client:HOST:PORT`` / ``tcp-server:HOST:PORT`` -> (host, port), loopback only."""
    prefix = f"{kind}:"
    if not spec.startswith(prefix):
        raise UsageError(f"BLE transport {spec!r}: expected {prefix}127.0.0.1:PORT")
    host, _, port = spec[len(prefix) :].rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"BLE transport {spec!r}: expected {prefix}127.0.0.1:PORT")
    check_loopback(host, spec)
    return host, int(port)


def resolve(spec: str | None) -> str:
    """The transport spec in effect: the argument, else $IMU_GAIT_BLE, else ``default``."""
    return (spec or os.environ.get(ENV) or "default").strip()


def backends(spec: str | None = None) -> tuple[Any, Any]:
    """(scanner backend, client backend) for bleak's ``backend=``; (None, None) = bleak's platform default."""
    spec = resolve(spec)
    if spec in ("default", "system", ""):
        return None, None
    if spec.startswith("tcp-client:"):
        parse_hci_spec(spec, "tcp-client")
        try:
            from imu_gait.emulator.bleak_backend import bumble_backends
        except ImportError as e:
            raise UsageError(
                f"--ble {spec} needs the emulator's dependency Bumble: pip install 'imu-gait[emulator]' ({e})"
            ) from None
        return bumble_backends(spec)
    raise UsageError(f"unknown BLE transport {spec!r}: use 'default' or tcp-client:127.0.0.1:PORT")
