"""bleak scanner and client backends on a Bumble host, for the emulated sensors.

Applications keep using bleak's public API and inject these with ``backend=``::

    scanner_cls, client_cls = bumble_backends("tcp-client:127.0.0.1:9100")   # or a LocalLink
    device = await BleakScanner.find_device_by_name("...", backend=scanner_cls)
    async with BleakClient(device, backend=client_cls) as client: ...

What this layer takes care of (see the project's EMULATION notes): one Bumble host per event loop and transport,
connects serialized (a Bumble device has one pending LE connection), ATT MTU 247 requested on connect and
reported, Bumble's ``CancelledError`` for a link lost during connect raised as ``BleakError``, and
``disconnected_callback`` called on every disconnect, self-initiated ones included, like the real backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
import weakref
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble import core, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.link import LocalLink
from bumble.transport import open_transport

from imu_gait.emulator.controller import EmulatedController

log = logging.getLogger(__name__)

MTU = 247
Transport = LocalLink | str  # an in-process virtual radio, or "tcp-client:HOST:PORT"

_PROPERTY_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def uuid_str(u: core.UUID) -> str:
    """A Bumble UUID as bleak spells it: lowercase 128-bit."""
    return str(uuidlib.UUID(bytes=bytes(reversed(u.to_bytes(force_128=True)))))


def parse_address(address: str) -> hci.Address:
    """``AA:BB:CC:DD:EE:FF`` (optionally ``/P`` for public) as a Bumble address; random when unqualified."""
    if address.endswith("/P"):
        return hci.Address(address[:-2], hci.Address.PUBLIC_DEVICE_ADDRESS)
    return hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)


def advertised_name(data: AdvertisingData) -> str | None:
    raw = data.get(AdvertisingData.COMPLETE_LOCAL_NAME, raw=True) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME, raw=True
    )
    return raw.decode("utf-8", "replace") if raw else None


def advertised_uuids(data: AdvertisingData) -> list[str]:
    uuids: list[str] = []
    for ad_type, width in (
        (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
        (AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
        (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
        (AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
    ):
        for raw in data.get_all(ad_type, raw=True):
            for i in range(0, len(raw) - width + 1, width):
                uuids.append(uuid_str(core.UUID.from_bytes(raw[i : i + width])))
    return uuids


class Central:
    """The Bumble host (a Device in the central role) shared by all scanners and clients of one event loop."""

    def __init__(self, device: Device, closer: Callable[[], Any] | None = None) -> None:
        self.device = device
        self.connect_lock = asyncio.Lock()
        self._scanners: set[BumbleScanner] = set()
        self._closer = closer
        self.lost = (
            asyncio.get_running_loop().create_future()
        )  # set when the transport to the radio is lost
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    def _on_advertisement(self, adv: Any) -> None:
        for scanner in list(self._scanners):
            scanner.on_advertisement(adv)

    async def add_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.add(scanner)
        if not self.device.is_scanning:
            await self.device.start_scanning(active=False, filter_duplicates=False)

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.discard(scanner)
        if not self._scanners and self.device.is_scanning:
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
                await self.device.stop_scanning()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.device.power_off()
        if self._closer is not None:
            result = self._closer()
            if asyncio.iscoroutine(result):
                await result


# one Central per (event loop, transport); a future so that concurrent first uses share one host
_centrals: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[int | str, asyncio.Future[Central]]
] = weakref.WeakKeyDictionary()


def _key(transport: Transport) -> int | str:
    return transport if isinstance(transport, str) else id(transport)


async def _open_central(transport: Transport) -> Central:
    address = hci.Address.generate_static_address()
    if isinstance(transport, LocalLink):
        controller = EmulatedController("imu-gait-central", link=transport)
        device = Device.with_hci("imu-gait", address, controller, controller)
        await device.power_on()

        def detach() -> None:
            if controller in transport.controllers:
                transport.remove_controller(controller)

        return Central(device, detach)
    if not transport.startswith("tcp-client:"):
        raise BleakError(
            f"unsupported emulated BLE transport {transport!r} (expected tcp-client:HOST:PORT)"
        )
    try:
        hci_transport = await open_transport(transport)
    except OSError as e:
        raise BleakError(f"cannot reach the emulated sensors at {transport} ({e})") from None
    device = Device.with_hci("imu-gait", address, hci_transport.source, hci_transport.sink)
    await device.power_on()
    central = Central(device, hci_transport.close)

    def on_lost() -> None:
        if not central.lost.done():
            central.lost.set_result(None)

    with contextlib.suppress(AttributeError):
        hci_transport.source.terminated.add_done_callback(lambda _f: on_lost())
    return central


async def get_central(transport: Transport) -> Central:
    """The Central of the running loop for ``transport``, created on first use (exactly once)."""
    loop = asyncio.get_running_loop()
    per_loop = _centrals.setdefault(loop, {})
    key = _key(transport)
    fut = per_loop.get(key)
    if fut is None:
        fut = loop.create_future()
        per_loop[key] = fut
        try:
            fut.set_result(await _open_central(transport))
        except BaseException as e:
            per_loop.pop(key, None)
            fut.set_exception(e)
            fut.exception()  # mark retrieved; the caller gets it raised below
            raise
    return await asyncio.shield(fut)


async def close_central(transport: Transport) -> None:
    """Power off the Central of the running loop for ``transport`` (e.g. at the end of a test)."""
    per_loop = _centrals.get(asyncio.get_running_loop(), {})
    fut = per_loop.pop(_key(transport), None)
    if fut is not None and fut.done() and fut.exception() is None:
        await fut.result().close()


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend; subclassed with a ``transport`` by :func:`bumble_backends`."""

    transport: Transport | None = None

    def __init__(
        self,
        detection_callback: Any = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._central: Central | None = None

    async def start(self) -> None:
        if self.transport is None:
            raise BleakError("BumbleScanner used without a transport (use bumble_backends())")
        self.seen_devices = {}
        self._central = await get_central(self.transport)
        await self._central.add_scanner(self)

    async def stop(self) -> None:
        if self._central is not None:
            await self._central.remove_scanner(self)

    def on_advertisement(self, adv: Any) -> None:
        uuids = advertised_uuids(adv.data)
        if not self.is_allowed_uuid(uuids):
            return
        name = advertised_name(adv.data)
        address = adv.address.to_string(False)
        data = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=int(adv.rssi),
            platform_data=(adv,),
        )
        device = self.create_or_update_device(address, address, name, adv.address, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """bleak client backend; subclassed with a ``transport`` by :func:`bumble_backends`."""

    transport: Transport | None = None

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(
            address_or_ble_device.details, hci.Address
        ):
            self._peer_address = address_or_ble_device.details
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer_address = parse_address(self.address)
            self._name = getattr(address_or_ble_device, "name", None) or self.address
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = 23
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._lost: asyncio.Future | None = None  # resolved when the current link drops

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self.transport is None:
            raise BleakError("BumbleClient used without a transport (use bumble_backends())")
        timeout = float(kwargs.get("timeout", self._timeout))
        central = await get_central(self.transport)
        async with central.connect_lock:
            try:
                connection = await central.device.connect_le(self._peer_address, timeout=timeout)
            except core.TimeoutError:
                raise TimeoutError(f"{self.address}: no connection within {timeout:g} s") from None
            except asyncio.CancelledError:
                if _cancelled_by_caller():
                    raise
                raise BleakError(f"{self.address}: link lost while connecting") from None
            except (core.BaseBumbleError, hci.HCI_Error) as e:
                raise BleakError(f"{self.address}: connection failed ({e})") from None
        self._connection = connection
        lost = asyncio.get_running_loop().create_future()
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        connection.once(
            Connection.EVENT_DISCONNECTION, lambda _r: lost.done() or lost.set_result(None)
        )
        self._lost = lost
        setup = asyncio.ensure_future(self._setup_gatt(connection))
        try:
            async with asyncio.timeout(timeout):
                # a pending GATT request is not always cancelled when the link drops: watch the link too
                await asyncio.wait([setup, lost], return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():
                setup.cancel()
                await asyncio.gather(setup, return_exceptions=True)
                raise BleakError(f"{self.address}: link lost while connecting")
            setup.result()
        except asyncio.CancelledError:
            setup.cancel()
            if _cancelled_by_caller():
                raise
            await self._abandon(connection)
            raise BleakError(f"{self.address}: link lost while connecting") from None
        except TimeoutError:
            setup.cancel()
            await self._abandon(connection)
            raise TimeoutError(
                f"{self.address}: GATT setup did not finish within {timeout:g} s"
            ) from None
        except (core.BaseBumbleError, hci.HCI_Error) as e:
            await self._abandon(connection)
            raise BleakError(f"{self.address}: GATT setup failed ({e})") from None

    async def _setup_gatt(self, connection: Connection) -> None:
        peer = Peer(connection)
        self._peer = peer
        self._mtu = await peer.request_mtu(MTU)
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            bservice = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bservice)
            for char in await peer.discover_characteristics(service=service):
                props = [n for bit, n in _PROPERTY_NAMES.items() if int(char.properties) & bit]
                bchar = BleakGATTCharacteristic(
                    char, char.handle, uuid_str(char.uuid), props, lambda: self._mtu - 3, bservice
                )
                collection.add_characteristic(bchar)
                for desc in await peer.discover_descriptors(characteristic=char):
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bchar)
                    )
        self.services = collection

    async def _abandon(self, connection: Connection) -> None:
        if self._connection is connection:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect()
        except (core.BaseBumbleError, hci.HCI_Error, asyncio.CancelledError) as e:
            if isinstance(e, asyncio.CancelledError) and _cancelled_by_caller():
                raise
            log.debug("disconnect of %s: %s", self.address, e)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the emulated sensors do not pair")

    async def unpair(self) -> None:
        raise NotImplementedError("the emulated sensors do not pair")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address}: not connected")
        return self._peer

    async def _gatt(self, coro: Any) -> Any:
        op = asyncio.ensure_future(coro)
        lost = self._lost
        try:
            if lost is not None:
                await asyncio.wait([op, lost], return_when=asyncio.FIRST_COMPLETED)
                if not op.done():
                    op.cancel()
                    await asyncio.gather(op, return_exceptions=True)
                    raise BleakError(f"{self.address}: disconnected")
            return await op
        except asyncio.CancelledError:
            op.cancel()
            if _cancelled_by_caller():
                raise
            raise BleakError(f"{self.address}: disconnected") from None
        except (core.BaseBumbleError, hci.HCI_Error) as e:
            raise BleakError(f"{self.address}: {e}") from None

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(descriptor.obj)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(characteristic.obj, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        await self._gatt(peer.subscribe(characteristic.obj, subscriber, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(peer.unsubscribe(characteristic.obj, subscriber))


def _cancelled_by_caller() -> bool:
    """True when the current task itself is being cancelled (not a Bumble-internal cancel)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def bumble_backends(transport: Transport) -> tuple[type[BumbleScanner], type[BumbleClient]]:
    """Scanner and client backend classes bound to ``transport`` (a LocalLink or ``tcp-client:HOST:PORT``)."""
    attrs = {"transport": transport}
    return (
        type("BumbleScanner", (BumbleScanner,), attrs),
        type("BumbleClient", (BumbleClient,), attrs),
    )
