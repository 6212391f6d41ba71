"""A virtual BLE IMU sensor: a Bumble device with a family's GATT server, streaming a signal in real time.

The sensor speaks its family's protocol through the family's ``Encoder`` (firmware_protocols): it advertises a
name containing its placement (in the advertising data itself: the virtual radio never sends scan responses),
answers the family's commands, and once started streams its source signal sampled on its own drifting clock.

What the virtual radio lacks is added here as knobs (:class:`Knobs`): notifications leave only at connection
events (every ``interval_ms``, each delivered up to ``jitter_ms`` late), each notification is lost with
probability ``loss``, the device clock runs ``drift_ppm`` fast from ``offset_s``, and the link can be dropped at
a chosen time. The sensor records the truth (:class:`Truth`) so tests can check the recorder against it.

Clocks: "true time" is the event loop's clock (``loop.time()``, monotonic seconds); the device clock is
``t_device = offset_s + (t_true - t_power_on) * (1 + drift_ppm * 1e-6)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from bumble import att, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from firmware_protocols import ProtocolError
from imu_gait.emulator.controller import EmulatedController, drop_link
from imu_gait.session import ImuData

log = logging.getLogger(__name__)

ADV_INTERVAL_MS = (
    50.0  # how often the sensor advertises (sets how fast a central finds/reconnects it)
)
_MAX_ADV = 31

_PROPS = {
    "read": Characteristic.Properties.READ,
    "write": Characteristic.Properties.WRITE,
    "write-without-response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "notify": Characteristic.Properties.NOTIFY,
    "indicate": Characteristic.Properties.INDICATE,
}


@dataclass
class Knobs:
    """Radio and clock behaviour of a virtual sensor (defaults: an ideal sensor on a 30 ms connection)."""

    interval_ms: float = 30.0  # connection interval: notifications leave in bursts at these events
    jitter_ms: float = 0.0  # each event's delivery is delayed by uniform [0, jitter_ms]
    loss: float = 0.0  # probability that one notification is lost on air
    drift_ppm: float = 0.0  # device clock rate error (+ = runs fast)
    offset_s: float = 0.0  # device clock reading at power-on
    # drop the link this long after the first stream start (true clock), then stay silent drop_silence_s
    drop_at_s: float | None = None
    drop_silence_s: float = 0.5
    # once: drop the first link in the middle of the central's GATT setup
    drop_during_connect: bool = False
    # accepts connections and commands but never streams (a sensor that never answers)
    mute: bool = False
    # probability that a notification goes out truncated to half its length (a malformed packet)
    corrupt: float = 0.0
    seed: int | None = None


@dataclass
class Truth:
    """What the sensor really did. Times are true times (loop clock, s); device times in s on the device clock."""

    streams: int = 0  # stream starts
    samples_produced: int = (
        0  # samples the IMU produced while streaming (some may still sit in the encoder)
    )
    notifications_sent: int = 0  # notifications that went on air (lost ones included)
    notifications_lost: int = 0
    corrupted: int = 0  # notifications sent truncated (their samples count as sent, not lost)
    drops: list[float] = field(default_factory=list)  # true times of link drops
    first_sample_true: float | None = None
    # per notification: (true send time, device times of its samples, lost?) - counted with the family's decoder
    log: list[tuple[float, np.ndarray, bool]] = field(default_factory=list)

    @property
    def samples_sent(self) -> int:
        return int(sum(len(d) for _, d, _ in self.log))

    @property
    def samples_lost(self) -> int:
        return int(sum(len(d) for _, d, lost in self.log if lost))

    def delivered_device_times(self, until: float = np.inf) -> np.ndarray:
        """Device times of the samples in notifications sent (not lost) before true time ``until``."""
        parts = [d for t, d, lost in self.log if not lost and t < until]
        return np.concatenate(parts) if parts else np.zeros(0)


class DeviceClock:
    """The sensor's clock: ``t_device = offset + (t_true - t0) * (1 + drift_ppm 1e-6)``."""

    def __init__(self, t0: float, drift_ppm: float = 0.0, offset_s: float = 0.0) -> None:
        self.t0 = t0
        self.scale = 1.0 + drift_ppm * 1e-6
        self.offset = offset_s

    def device(self, t_true: np.ndarray | float) -> np.ndarray | float:
        return self.offset + (np.asarray(t_true) - self.t0) * self.scale

    def true(self, t_device: np.ndarray | float) -> np.ndarray | float:
        """True (loop) time at which the device clock read ``t_device``."""
        return self.t0 + (np.asarray(t_device) - self.offset) / self.scale


class SignalSource:
    """A placement's recorded/simulated samples, played in a loop on the true clock from ``origin``."""

    def __init__(self, data: ImuData, origin: float) -> None:
        self.t = data.t - data.t[0]
        self.acc = data.acc
        self.gyr = data.gyr
        self.period = float(self.t[-1]) + (
            float(np.median(np.diff(self.t))) if len(self.t) > 1 else 1.0
        )
        self.origin = origin

    def at(self, t_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """acc (n,3) m/s^2 and gyr (n,3) deg/s at these true times (linear interpolation)."""
        s = np.mod(np.asarray(t_true) - self.origin, self.period)
        acc = np.column_stack([np.interp(s, self.t, self.acc[:, i]) for i in range(3)])
        gyr = np.column_stack([np.interp(s, self.t, self.gyr[:, i]) for i in range(3)])
        return acc, gyr


def advertising_data(name: str, service_uuids: tuple[str, ...] = ()) -> bytes:
    """Flags + complete local name (+ the service UUIDs when they fit in the 31 bytes)."""
    structs: list[tuple[int, bytes]] = [
        (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, BR/EDR not supported
        (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
    ]
    size = sum(2 + len(v) for _, v in structs)
    if size > _MAX_ADV:
        raise ValueError(f"advertised name {name!r} does not fit the 31-byte advertising data")
    uuids = b"".join(_uuid_le(u) for u in service_uuids)
    if uuids and size + 2 + len(uuids) <= _MAX_ADV:
        structs.append((AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, uuids))
    return bytes(AdvertisingData(structs))


def _uuid_le(u: str) -> bytes:
    return bytes(reversed(bytes.fromhex(u.replace("-", ""))))


class VirtualSensor:
    """One emulated sensor on ``link``. Create and use it inside a running event loop."""

    def __init__(
        self,
        link: LocalLink,
        family: ModuleType,
        placement: str,
        source: ImuData,
        *,
        knobs: Knobs | None = None,
        name: str | None = None,
        address: str | None = None,
        origin: float | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.family = family
        self.placement = placement
        self.knobs = knobs or Knobs()
        self.name = name or family.advertised_name(placement)
        if (
            placement not in self.name
        ):  # some families advertise a fixed name; ours must show the placement
            self.name = f"{self.name} {placement}"
        self.address = (
            hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
            if address
            else hci.Address.generate_static_address()
        )
        self.truth = Truth()
        self.clock = DeviceClock(loop.time(), self.knobs.drift_ppm, self.knobs.offset_s)
        self.source = SignalSource(source, loop.time() if origin is None else origin)
        self._rng = np.random.default_rng(self.knobs.seed)
        self.controller = EmulatedController(f"sensor-{placement}", link=link)
        self.device = Device.with_hci(self.name, self.address, self.controller, self.controller)
        self._chars: dict[str, Characteristic] = {}
        self._build_gatt()
        self.connection: Connection | None = None
        self.encoder: Any = None
        self._truth_decoder: Any = None
        self._stream_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._dropped = False
        self._closed = False
        self._subscribed: set[str] = set()
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)

    @property
    def address_str(self) -> str:
        return self.address.to_string(False)

    # --- GATT ---------------------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        for service_uuid, chars in self.family.GATT.items():
            characteristics = []
            for char_uuid, props in chars.items():
                flags = Characteristic.Properties(0)
                for p in props:
                    flags |= _PROPS[p]
                value = CharacteristicValue(
                    read=lambda conn, u=char_uuid: self._on_read(u),
                    write=lambda conn, value, u=char_uuid: self._on_write(u, conn, value),
                )
                perms = Characteristic.READABLE | Characteristic.WRITEABLE
                char = Characteristic(char_uuid, flags, perms, value)
                self._chars[char_uuid] = char
                characteristics.append(char)
            self.device.add_service(Service(service_uuid, characteristics))

    def _on_read(self, char_uuid: str) -> bytes:
        encoder = self.encoder or self.family.Encoder(self.family.DEFAULT_CONFIG)
        try:
            return encoder.read(char_uuid)
        except ProtocolError as e:
            raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED, message=str(e)) from None

    def _on_write(self, char_uuid: str, connection: Connection, value: bytes) -> None:
        if self.encoder is None or self.knobs.mute:
            return
        was_streaming = self.encoder.is_streaming
        try:
            responses = self.encoder.handle_write(char_uuid, bytes(value))
        except ProtocolError as e:
            log.info("%s rejected a write to %s: %s", self.name, char_uuid, e)
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED, message=str(e)) from None
        if responses:
            self._spawn(self._send_responses(connection, responses))
        if was_streaming and not self.encoder.is_streaming:
            self._stop_stream()
        self._sync_stream(connection, restart=self.encoder.is_streaming and not was_streaming)

    def _on_subscription(
        self, bearer: Any, characteristic: Characteristic, notify: bool, indicate: bool
    ) -> None:
        uuid = next((u for u, c in self._chars.items() if c is characteristic), None)
        if uuid is None:
            return
        if notify or indicate:
            self._subscribed.add(uuid)
        else:
            self._subscribed.discard(uuid)
        if self.connection is not None:
            self._sync_stream(self.connection)

    def _sync_stream(self, connection: Connection, restart: bool = False) -> None:
        """Stream while the encoder says so and the central listens on a data characteristic."""
        if self.encoder is None or self.knobs.mute:
            return
        listening = any(u in self._subscribed for u in self.family.NOTIFY_CHARACTERISTICS)
        if self.encoder.is_streaming and listening:
            if restart or self._stream_task is None:
                self._start_stream(connection)
        else:
            self._stop_stream()

    async def _send_responses(self, connection: Connection, responses: list) -> None:
        self._responses.extend(responses)
        for n in responses:
            char = self._chars.get(n.characteristic)
            if char is None:
                continue
            if char.properties & Characteristic.Properties.NOTIFY:
                await self.device.notify_subscriber(connection, char, n.data)
            else:
                await self.device.indicate_subscriber(connection, char, n.data)

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Power on and advertise."""
        await self.device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        if self._closed:
            return
        await self.device.start_advertising(
            advertising_data=advertising_data(self.name, tuple(self.family.SERVICE_UUIDS)),
            advertising_interval_min=ADV_INTERVAL_MS,
            advertising_interval_max=ADV_INTERVAL_MS,
            auto_restart=False,
        )

    async def close(self) -> None:
        self._closed = True
        self._stop_stream()
        for t in list(self._tasks):
            t.cancel()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        with contextlib.suppress(Exception):
            await self.device.power_off()
        if self.controller in self.controller.link.controllers:
            self.controller.link.remove_controller(self.controller)

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self._subscribed.clear()
        self._responses: list = []  # replies sent on this connection (the truth decoder needs them too)
        # a real device resets its protocol state on every new connection
        self.encoder = self.family.Encoder(self.family.DEFAULT_CONFIG)
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection)
        )
        if self.knobs.drop_during_connect:
            self.knobs.drop_during_connect = False
            # right after the MTU exchange, while the central is still discovering services
            connection.once(
                Connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
                lambda: asyncio.get_running_loop().call_soon(self._drop_now, connection),
            )

    def _drop_now(self, connection: Connection) -> None:
        if self.connection is connection:
            self.truth.drops.append(asyncio.get_running_loop().time())
            drop_link(self.controller, connection.peer_address)

    def _on_disconnection(self, connection: Connection) -> None:
        if self.connection is connection:
            self.connection = None
        self._stop_stream()
        self.encoder = None
        if not self._closed and not self._dropped:
            self._spawn(self._advertise())

    # --- streaming ----------------------------------------------------------------------------------------

    def _start_stream(self, connection: Connection) -> None:
        self._stop_stream()
        if hasattr(self.encoder, "mtu"):
            self.encoder.mtu = connection.att_mtu
        self._truth_decoder = self.family.Decoder(self.encoder.config)
        for n in self._responses:
            with contextlib.suppress(ProtocolError):
                self._truth_decoder.feed(n.characteristic, n.data)
        self.truth.streams += 1
        self._stream_task = self._spawn(self._stream(connection))

    def _stop_stream(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    async def _stream(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        k = self.knobs
        encoder = self.encoder
        rate = float(encoder.config.rate_hz)
        interval = max(k.interval_ms, 1.0) * 1e-3
        t_start = loop.time()
        # connection events run on the central's schedule: their phase to the first sample is arbitrary
        phase = float(self._rng.uniform(0.0, interval))
        dev_start = float(self.clock.device(t_start))
        n_done = 0
        event = 0
        drop_at = None
        if k.drop_at_s is not None and not self.truth.drops:
            first = self.truth.first_sample_true or t_start
            drop_at = first + k.drop_at_s
        while True:
            event += 1
            t_event = t_start + phase + event * interval
            delay = float(self._rng.uniform(0.0, k.jitter_ms * 1e-3)) if k.jitter_ms > 0 else 0.0
            await asyncio.sleep(max(0.0, t_event + delay - loop.time()))
            if drop_at is not None and t_event >= drop_at:
                await self._drop(connection)
                return
            if (
                float(encoder.config.rate_hz) != rate
            ):  # reconfigured while streaming: new sample grid from here
                rate = float(encoder.config.rate_hz)
                dev_start = float(self.clock.device(t_event))
                n_done = 0
            # samples the IMU produced (on its own clock) up to this connection event
            n_due = int(np.floor((float(self.clock.device(t_event)) - dev_start) * rate)) + 1
            if n_due > n_done:
                t_dev = dev_start + np.arange(n_done, n_due) / rate
                t_true = np.asarray(self.clock.true(t_dev))
                acc, gyr = self.source.at(t_true)
                if self.truth.first_sample_true is None:
                    self.truth.first_sample_true = float(t_true[0])
                notifications = encoder.encode(t_dev, acc, gyr)
                self.truth.samples_produced += n_due - n_done
                n_done = n_due
                for n in notifications:
                    await self._send(connection, n)
            if self.connection is not connection:
                return

    async def _send(self, connection: Connection, n: Any) -> None:
        if self.connection is not connection:  # link gone: the device stops sending
            return
        self.truth.notifications_sent += 1
        try:
            blocks = self._truth_decoder.feed(n.characteristic, n.data)
        except ProtocolError:
            blocks = []
        t_dev = [
            np.asarray(b.t_device) if b.t_device is not None else np.full(len(b), np.nan)
            for b in blocks
        ]
        lost = self.knobs.loss > 0 and self._rng.random() < self.knobs.loss
        self.truth.log.append(
            (
                asyncio.get_running_loop().time(),
                np.concatenate(t_dev) if t_dev else np.zeros(0),
                lost,
            )
        )
        if lost:
            self.truth.notifications_lost += 1
            return
        data = n.data
        if self.knobs.corrupt > 0 and self._rng.random() < self.knobs.corrupt:
            self.truth.corrupted += 1
            data = data[: len(data) // 2]
        char = self._chars[n.characteristic]
        await self.device.notify_subscriber(connection, char, data)

    async def _drop(self, connection: Connection) -> None:
        """Lose the link as a radio would (supervision timeout), stay silent, then advertise again."""
        loop = asyncio.get_running_loop()
        self._dropped = True
        self._stream_task = None  # this task: let the disconnection not cancel it
        self.truth.drops.append(loop.time())
        drop_link(self.controller, connection.peer_address)
        await asyncio.sleep(self.knobs.drop_silence_s)
        self._dropped = False
        await self._advertise()
