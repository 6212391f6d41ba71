"""Find nearby supported sensors with bleak's scanner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner

import firmware_protocols


@dataclass(frozen=True)
class FoundSensor:
    family: str | None  # None: not a supported sensor
    name: str | None
    address: str
    rssi: int


async def scan(
    timeout: float = 5.0, scanner_backend: Any = None, include_unknown: bool = False
) -> list[FoundSensor]:
    """Listen ``timeout`` s; supported sensors (recognised by firmware_protocols.identify), strongest first."""
    kwargs = {} if scanner_backend is None else {"backend": scanner_backend}
    seen = await BleakScanner.discover(timeout=timeout, return_adv=True, **kwargs)
    out = []
    for device, adv in seen.values():
        name = adv.local_name or device.name
        family = firmware_protocols.identify(name, adv.service_uuids)
        if family is None and not include_unknown:
            continue
        out.append(
            FoundSensor(family.NAME if family else None, name, device.address, int(adv.rssi))
        )
    return sorted(out, key=lambda f: (-f.rssi, f.name or ""))
