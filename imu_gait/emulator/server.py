"""Serve virtual sensors to other processes over HCI on TCP (loopback), one virtual controller per client.

Each TCP client (a recorder's Bumble host) gets its own controller on the shared virtual radio; when the client's
socket drops, its links end as by a supervision timeout, so the sensors advertise again and a new recorder can
connect (the virtual controller has neither supervision timeout nor a working HCI Reset).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from types import ModuleType

from bumble.link import LocalLink
from bumble.transport.common import PacketParser

from imu_gait.emulator.controller import EmulatedController, end_links, new_link
from imu_gait.emulator.peripheral import Knobs, VirtualSensor
from imu_gait.session import ImuData

log = logging.getLogger(__name__)


class _HciClient(asyncio.Protocol):
    """One TCP client = one virtual controller; HCI packets in H4 framing both ways."""

    _ids = itertools.count(1)

    def __init__(self, link: LocalLink, clients: set) -> None:
        self.link = link
        self.clients = clients
        self.transport: asyncio.Transport | None = None
        self.controller: EmulatedController | None = None
        self.parser: PacketParser | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.controller = EmulatedController(f"client-{next(self._ids)}", link=self.link)
        self.controller.host = self
        self.parser = PacketParser(self.controller)
        self.clients.add(self)

    def on_packet(self, packet: bytes) -> None:  # controller -> host
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            return
        try:
            self.parser.feed_data(data)
        except Exception as e:  # a garbled stream from the client ends that client only
            log.warning("bad HCI data from client: %s", e)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.clients.discard(self)
        if self.controller is not None:
            end_links(self.controller)
            self.controller = None
        self.transport = None


class HciTcpServer:
    """HCI over TCP on ``host:port`` for the virtual radio ``link`` (port 0 picks a free port)."""

    def __init__(self, link: LocalLink, host: str = "127.0.0.1", port: int = 0) -> None:
        self.link = link
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._clients: set[_HciClient] = set()

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HciClient(self.link, self._clients), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for c in list(self._clients):
            if c.transport is not None:
                c.transport.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)


def sensor_address(index: int) -> str:
    """Stable random-static addresses, so a demo's addresses are the same on every run."""
    return f"C0:1D:5E:00:00:{index + 1:02X}"


class SensorServer:
    """Virtual sensors (one per placement) on one virtual radio, optionally reachable over HCI/TCP."""

    def __init__(
        self,
        sources: dict[str, ImuData],
        families: dict[str, ModuleType],
        knobs: dict[str, Knobs] | Knobs | None = None,
        link: LocalLink | None = None,
    ) -> None:
        self.link = link or new_link()
        self.sources = sources
        self.families = families
        self.knobs = knobs
        self.sensors: dict[str, VirtualSensor] = {}
        self.tcp: HciTcpServer | None = None
        self.origin: float | None = None

    def _knobs(self, placement: str) -> Knobs:
        if isinstance(self.knobs, dict):
            return self.knobs.get(placement, Knobs())
        return self.knobs or Knobs()

    async def start(self) -> dict[str, VirtualSensor]:
        origin = asyncio.get_running_loop().time()
        self.origin = origin  # true (loop) time at which every source starts playing from its t = 0
        for i, (placement, data) in enumerate(self.sources.items()):
            sensor = VirtualSensor(
                self.link,
                self.families[placement],
                placement,
                data,
                knobs=self._knobs(placement),
                address=sensor_address(i),
                origin=origin,
            )
            await sensor.start()
            self.sensors[placement] = sensor
        return self.sensors

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.tcp = HciTcpServer(self.link, host, port)
        return await self.tcp.start()

    async def close(self) -> None:
        if self.tcp is not None:
            await self.tcp.close()
        for sensor in self.sensors.values():
            await sensor.close()
