"""Multi-sensor BLE recorder on bleak's public API.

For every named sensor (placement -> advertised name or address) one task finds it, connects (connects are
serialized), configures it with its family's start commands, subscribes, and streams until the link drops, then
finds it again, reconnects, re-subscribes and restarts the stream; the gap is marked in the session. Every
notification goes to ``raw/<placement>.frames`` the moment it arrives; a background task decodes, maps device time
to the session clock and writes Parquet parts (:mod:`imu_gait.ble.decode`, the same code a replay of the raw log
uses). :meth:`Recorder.stop` (Ctrl-C,
SIGTERM, ``duration``) finalizes: stop commands, disconnect, final clock fit, one Parquet file per sensor.

Session clock: seconds since the recorder started (host monotonic clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

import firmware_protocols
import firmware_protocols.base
from firmware_protocols import GattRead, GattWrite, ProtocolError
from imu_gait.ble.decode import (
    FINAL_COLUMNS,
    DecodedBlock,
    StreamDecoder,
    block_columns,
    decode_raw_log,
    final_columns,
    fit_segments,
)
from imu_gait.ble.marks import Command, Mark, MarkBook, merge_into
from imu_gait.ble.marks_log import MARKS_FILE, MarksLog
from imu_gait.ble.recover import CONFIG_EVENT
from imu_gait.ble.store import SessionStore, read_parts
from imu_gait.errors import ImuGaitError
from imu_gait.pipeline.timesync import ClockFit
from imu_gait.rawlog import KIND_EVENT, KIND_NOTIFICATION, KIND_WRITE, RawLogWriter
from imu_gait.session import check_placement

log = logging.getLogger(__name__)

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
FLUSH_PERIOD_S = 0.5  # raw logs fsynced and decoded parts written at least this often
REFIT_S = 5.0  # provisional clock fits of long segments are refreshed this often
CHEAP_FIT_POINTS = 5000  # up to this many notifications a segment is refitted at every checkpoint
EVENT_UUID = "00000000-0000-0000-0000-000000000000"  # characteristic field of KIND_EVENT frames


@dataclass
class SensorSpec:
    placement: str
    target: str  # advertised name or address, as the user gave it

    @classmethod
    def parse(cls, text: str) -> SensorSpec:
        """``PLACEMENT=NAME_OR_ADDRESS``."""
        from imu_gait.errors import UsageError

        placement, sep, target = text.partition("=")
        if not sep or not target.strip():
            raise UsageError(
                f"-s {text!r}: expected PLACEMENT=NAME_OR_ADDRESS, e.g. left_foot=IMUGAIT-left_foot"
            )
        return cls(check_placement(placement.strip()), target.strip())


@dataclass
class SensorState:
    """Everything the recorder knows about one sensor while recording (also what the live view shows)."""

    spec: SensorSpec
    raw: RawLogWriter
    state: str = "waiting"
    message: str = ""
    problem: str = ""  # the last thing that went wrong (kept after the state moves on)
    raw_broken: bool = False  # a raw-log write failed; the log is reopened at the next checkpoint
    family: ModuleType | None = None
    name: str = ""
    address: str = ""
    config: Any = None
    # the family decoder over connection segments, and its clock-fit points per segment
    stream: StreamDecoder | None = None
    client: BleakClient | None = None
    battery: int | None = None
    notifications: int = 0
    samples: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    segment: int = -1
    last_arrival: float | None = None
    drop_time: float | None = None
    reconnect_times: list[float] = field(default_factory=list)
    gaps: list[list[float]] = field(default_factory=list)
    inbox: deque = field(default_factory=deque)  # (t_arrival, characteristic, bytes, segment)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    handshake: Any = None  # the start dialogue while it runs
    handshake_error: Exception | None = None
    response: asyncio.Event = field(default_factory=asyncio.Event)
    last_part_t: float = -np.inf
    arrivals: deque = field(
        default_factory=lambda: deque(maxlen=4000)
    )  # (t, n samples) for the live rate
    fits: dict[int, ClockFit] = field(default_factory=dict)
    fit_time: dict[int, float] = field(
        default_factory=dict
    )  # arrival time of the newest point of each fit

    @property
    def placement(self) -> str:
        return self.spec.placement

    @property
    def decoder(self) -> Any:
        return None if self.stream is None else self.stream.decoder

    @property
    def lost_packets(self) -> int:
        return int(getattr(self.decoder, "lost_packets", 0) or 0)

    @property
    def lost_samples(self) -> int:
        return int(getattr(self.decoder, "lost_samples", 0) or 0)

    def rate(self, now: float, window: float = 2.0) -> float:
        """Samples per second over the last ``window`` s of decoded data (0 when the data is older than that)."""
        if not self.arrivals:
            return 0.0
        end = self.arrivals[-1][0]
        if now - end > window:
            return 0.0
        return sum(k for t, k in self.arrivals if t > end - window) / window


class DeviceFinder:
    """One shared scanner that runs while some sensor is being looked for (one scan, many waiters)."""

    def __init__(self, scanner_backend: Any) -> None:
        self._backend = scanner_backend
        self._waiters: dict[str, asyncio.Future] = {}
        self._scanner: BleakScanner | None = None
        self._lock = asyncio.Lock()

    @staticmethod
    def matches(target: str, device: BLEDevice, adv: AdvertisementData) -> bool:
        t = target.lower()
        names = {(adv.local_name or "").lower(), (device.name or "").lower()}
        return device.address.lower() == t or t in names

    def _on_detect(self, device: BLEDevice, adv: AdvertisementData) -> None:
        for target, fut in list(self._waiters.items()):
            if not fut.done() and self.matches(target, device, adv):
                fut.set_result((device, adv))

    async def find(self, target: str, timeout: float) -> tuple[BLEDevice, AdvertisementData]:
        """The device advertising as ``target`` (name or address); TimeoutError if not seen in time."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiters[target] = fut
        try:
            async with self._lock:
                if self._scanner is None:
                    kwargs = {} if self._backend is None else {"backend": self._backend}
                    self._scanner = BleakScanner(self._on_detect, **kwargs)
                    await self._scanner.start()
            # already seen during this scan?
            for device, adv in list(
                self._scanner.discovered_devices_and_advertisement_data.values()
            ):
                if not fut.done() and self.matches(target, device, adv):
                    fut.set_result((device, adv))
            async with asyncio.timeout(timeout):
                return await fut
        finally:
            self._waiters.pop(target, None)
            async with self._lock:
                if not self._waiters and self._scanner is not None:
                    scanner, self._scanner = self._scanner, None
                    with contextlib.suppress(BleakError, OSError):
                        await scanner.stop()


class Recorder:
    """Record ``sensors`` into the session folder ``out``; see the module docstring.

    ``backends``: (scanner, client) classes for bleak's ``backend=`` (None = platform default).
    ``on_change``: called with the SensorState whenever a sensor changes state (for non-interactive output).
    ``calibrate_first``: the first this many seconds after every sensor streams are the standing calibration.
    ``on_mark``: called with every :class:`~imu_gait.ble.marks.Mark` once it is on disk (:meth:`mark`).
    """

    def __init__(
        self,
        sensors: list[SensorSpec],
        out: str,
        *,
        rate_hz: float | None = None,
        backends: tuple[Any, Any] = (None, None),
        metadata: dict[str, Any] | None = None,
        find_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        stall_timeout: float = 5.0,
        on_change: Callable[[SensorState], None] | None = None,
        calibrate_first: float | None = None,
        on_mark: Callable[[Mark], None] | None = None,
    ) -> None:
        placements = [s.placement for s in sensors]
        if len(set(placements)) != len(placements):
            from imu_gait.errors import UsageError

            raise UsageError("each placement may be named only once")
        self.rate_hz = rate_hz
        self.scanner_backend, self.client_backend = backends
        self.find_timeout = find_timeout
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self.on_change = on_change
        self.t0 = time.monotonic()
        meta = dict(metadata or {})
        meta.setdefault("recorder", {})
        meta["recorder"].update(
            {
                "finalized": False,
                "targets": {s.placement: s.target for s in sensors},
                "clock": "seconds since the recorder started (host monotonic clock)",
            }
        )
        self.store = SessionStore(out, meta)
        self.sensors = {
            s.placement: SensorState(s, self.store.raw_writer(s.placement)) for s in sensors
        }
        self.marks = MarkBook()
        self.calibrate_first = calibrate_first
        self.on_mark = on_mark
        self.mark_problem = ""
        self._marks_log = MarksLog(self.store.folder / MARKS_FILE)
        self.stop_time: float | None = None
        self._connect_lock = asyncio.Lock()
        self._finder = DeviceFinder(self.scanner_backend)
        self._stop = asyncio.Event()
        self._meta_dirty = False
        self._unwritten: list[
            tuple[str, dict]
        ] = []  # decoded parts not on disk yet (a write failed)

    # --- clock ------------------------------------------------------------------------------------------------

    def now(self) -> float:
        """Session clock (s)."""
        return time.monotonic() - self.t0

    # --- public -----------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the recording to end (safe to call from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def mark(self, cmd: Command, t: float | None = None) -> Mark:
        """Record a mark at session time ``t`` (default now): to the marks log first (fsynced), then to the
        session metadata (written at the next checkpoint and when the recording ends)."""
        m = self.marks.resolve(cmd, self.now() if t is None else t)
        try:
            self._marks_log.append(m)
        except OSError as e:  # the mark still reaches session.json at the next checkpoint
            self.mark_problem = f"cannot write {MARKS_FILE}: {e.strerror or e}"
        self.marks.apply(m)
        merge_into(self.store.meta, self.marks)
        self._meta_dirty = True
        if self.on_mark is not None:
            self.on_mark(m)
        return m

    def all_streaming(self) -> bool:
        """Every sensor is streaming and has sent data."""
        return all(s.state == "streaming" and s.notifications > 0 for s in self.sensors.values())

    async def _calibrate_first(self, seconds: float) -> None:
        """The standing calibration: ``seconds`` from the moment every sensor streams."""
        while not self.all_streaming():
            if self.stopping:
                return
            await asyncio.sleep(0.02)
        # the user started one already: that one counts
        if self.marks.calibrating_since is not None:
            return
        start = self.mark(Command("calibrate"))
        self.marks.calibration_until = start.t + seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), max(0.0, start.t + seconds - self.now()))
        if self.marks.calibrating_since == start.t and not self.stopping:
            self.mark(Command("calibrate"), start.t + seconds)

    async def run(self, duration: float | None = None) -> None:
        """Record until :meth:`stop` or ``duration`` seconds, then finalize the session folder."""
        tasks = [
            asyncio.create_task(self._run_sensor(s), name=f"sensor-{p}")
            for p, s in self.sensors.items()
        ]
        background = asyncio.create_task(self._background())
        if self.calibrate_first:
            tasks.append(asyncio.create_task(self._calibrate_first(self.calibrate_first)))
        try:
            if duration is None:
                await self._stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), duration)
        finally:
            self._stop.set()
            self.stop_time = self.now()
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            background.cancel()
            await asyncio.gather(background, return_exceptions=True)
            self._finalize()

    # --- one sensor -------------------------------------------------------------------------------------------

    def _set(self, s: SensorState, state: str, message: str = "") -> None:
        s.state, s.message = state, message
        with contextlib.suppress(
            OSError, ValueError
        ):  # a full disk or a closed log must not stop the recorder
            s.raw.write(self.now(), EVENT_UUID, f"{state} {message}".strip().encode(), KIND_EVENT)
        if self.on_change is not None:
            self.on_change(s)

    async def _run_sensor(self, s: SensorState) -> None:
        backoff = 0.2
        while not self.stopping:
            try:
                self._set(s, "searching" if s.segment < 0 else "reconnecting", s.message)
                device, adv = await self._finder.find(s.spec.target, self.find_timeout)
                await self._connect(s, device, adv)
                backoff = 0.2
                await self._stream_until_disconnected(s)
            except (BleakError, TimeoutError, OSError, ProtocolError) as e:
                if s.state == "failed":
                    return
                msg = str(e) or type(e).__name__
                if isinstance(e, TimeoutError) and s.state in ("searching", "reconnecting"):
                    msg = f"{s.spec.target!r} not found within {self.find_timeout:g} s"
                elif isinstance(e, OSError) and not isinstance(e, TimeoutError):
                    msg = f"Bluetooth is not available ({msg})"
                await self._abandon(s)
                s.problem = msg
                self._set(s, "retrying", msg)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                backoff = min(2.0 * backoff, 2.0)
            except _FatalSensorError as e:
                await self._abandon(s)
                s.problem = str(e)
                self._set(s, "failed", str(e))
                return
            except (
                Exception
            ) as e:  # a bug must not end the other sensors' recording: report and stop this one
                log.exception("sensor %s", s.placement)
                await self._abandon(s)
                s.problem = f"internal error: {type(e).__name__}: {e}"
                self._set(s, "failed", s.problem)
                return
        await self._shutdown(s)

    async def _connect(self, s: SensorState, device: BLEDevice, adv: AdvertisementData) -> None:
        family = firmware_protocols.identify(adv.local_name or device.name, adv.service_uuids)
        if family is None:
            raise _FatalSensorError(
                f"{device.name or device.address} is not a supported sensor (advertised name "
                f"{adv.local_name!r}, services {adv.service_uuids})"
            )
        if s.family is not None and family is not s.family:
            raise _FatalSensorError(
                f"{device.address} now advertises as {family.NAME}, was {s.family.NAME}"
            )
        s.family, s.name, s.address = family, adv.local_name or device.name or "", device.address
        if s.config is None:
            rate = self.rate_hz or family.DEFAULT_CONFIG.rate_hz
            s.config = family.choose_config(rate, device_name=s.name)
            s.stream = StreamDecoder(family, s.config)
        self._log_config(s)
        self._set(s, "connecting", f"{s.name} ({family.NAME})")
        s.disconnected.clear()
        kwargs = {} if self.client_backend is None else {"backend": self.client_backend}
        client = BleakClient(
            device,
            disconnected_callback=lambda _c: s.disconnected.set(),
            timeout=self.connect_timeout,
            **kwargs,
        )
        async with self._connect_lock:  # one connection attempt at a time, on every platform
            if self.stopping:
                return
            await client.connect()
        s.client = client
        missing = [
            c
            for c in family.NOTIFY_CHARACTERISTICS
            if client.services.get_characteristic(c) is None
        ]
        if missing:
            raise _FatalSensorError(
                f"{s.name}: no characteristic {missing[0]} (wrong family or firmware?)"
            )
        s.segment += 1  # the decoder is reset at the segment's first notification (StreamDecoder)
        for char in family.NOTIFY_CHARACTERISTICS:
            await client.start_notify(char, self._notification_handler(s))
        await self._read_battery(s, client)
        await self._handshake(s, client)
        if s.drop_time is not None:
            s.reconnects += 1
        self._set(s, "streaming", f"MTU {client.mtu_size}")
        if s.placement not in self.store.meta["sensors"]:
            self.store.parts_dir(s.placement).mkdir(exist_ok=True)
        self._update_sensor_meta(s)
        self._meta_dirty = True

    def _log_config(self, s: SensorState) -> None:
        """The sensor's identity and stream configuration as a link event in its raw log, so that the log alone
        can be decoded (``imu-gait finalize`` of a folder whose session.json lacks the sensor)."""
        c = s.config
        info = {
            "family": s.family.NAME,
            "name": s.name,
            "address": s.address,
            "rate_hz": float(c.rate_hz),
            "acc_range_g": c.acc_range_g,
            "gyr_range_dps": c.gyr_range_dps,
        }
        with contextlib.suppress(OSError, ValueError):
            s.raw.write(
                self.now(),
                EVENT_UUID,
                f"{CONFIG_EVENT} {json.dumps(info, default=float)}".encode(),
                KIND_EVENT,
            )

    async def _handshake(self, s: SensorState, client: BleakClient, timeout: float = 5.0) -> None:
        """Run the family's start dialogue: writes, reads, and waiting for replies on the notify characteristics."""
        family = s.family
        if hasattr(family, "handshake"):
            hs = family.handshake(s.config)
        else:
            hs = firmware_protocols.base.WriteAll(family.start_commands(s.config))
        s.handshake, s.handshake_error = hs, None
        try:
            async with asyncio.timeout(timeout):
                while not hs.done:
                    actions = hs.next_actions()
                    for cmd in actions:
                        await self._command(s, client, cmd)
                    if s.handshake_error is not None:
                        raise s.handshake_error
                    if not actions and not hs.done:
                        s.response.clear()
                        await s.response.wait()
                        if s.handshake_error is not None:
                            raise s.handshake_error
        except TimeoutError:
            raise TimeoutError(
                f"{s.name}: no answer to the start commands within {timeout:g} s"
            ) from None
        finally:
            s.handshake = None

    async def _command(self, s: SensorState, client: BleakClient, cmd: Any) -> None:
        if isinstance(cmd, GattWrite):
            s.raw.write(self.now(), cmd.characteristic, cmd.data, KIND_WRITE)
            await client.write_gatt_char(cmd.characteristic, cmd.data, response=cmd.with_response)
        elif isinstance(cmd, GattRead):
            value = bytes(await client.read_gatt_char(cmd.characteristic))
            self._on_notification(s, cmd.characteristic, value)  # logged and decoded like a reply

    async def _read_battery(self, s: SensorState, client: BleakClient) -> None:
        if client.services.get_characteristic(BATTERY_LEVEL) is None:
            return
        with contextlib.suppress(BleakError, TimeoutError):
            value = await client.read_gatt_char(BATTERY_LEVEL)
            if value:
                s.battery = int(value[0])

    def _notification_handler(self, s: SensorState) -> Callable[[Any, bytearray], None]:
        def handler(char: Any, data: bytearray) -> None:
            self._on_notification(s, char.uuid, bytes(data))

        return handler

    def _on_notification(self, s: SensorState, characteristic: str, data: bytes) -> None:
        t = self.now()
        try:
            s.raw.write(
                t, characteristic, data, KIND_NOTIFICATION
            )  # first, before anything can fail
        except OSError as e:  # disk full, ...: keep decoding what arrives; say so
            s.problem = s.message = f"cannot write the raw log: {e.strerror or e}"
            s.raw_broken = True
        s.notifications += 1
        if s.drop_time is not None and s.last_arrival is not None and s.last_arrival <= s.drop_time:
            # first notification after a reconnect: the gap is now known
            s.gaps.append([s.last_arrival, t])
            s.reconnect_times.append(t - s.drop_time)
            self.store.meta["events"].append(
                {"t": s.last_arrival, "t_end": t, "label": "gap", "placement": s.placement}
            )
            self._meta_dirty = True
        s.last_arrival = t
        s.inbox.append((t, characteristic, data, s.segment))
        if s.handshake is not None:
            try:
                s.handshake.feed(characteristic, data)
            except ProtocolError as e:
                s.handshake_error = e
            s.response.set()

    async def _stream_until_disconnected(self, s: SensorState) -> None:
        started = self.now()
        while not self.stopping and not s.disconnected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(s.disconnected.wait(), self._stop.wait()), 0.5)
            last = (
                s.last_arrival
                if s.last_arrival is not None and s.last_arrival > started
                else started
            )
            if not s.disconnected.is_set() and self.now() - last > self.stall_timeout:
                self._set(s, "stalled", f"no data for {self.stall_timeout:g} s; reconnecting")
                await self._abandon(s)
                break
        if self.stopping:
            return
        s.drop_time = self.now()
        s.client = None
        self._set(s, "disconnected", "link lost; reconnecting")

    async def _abandon(self, s: SensorState) -> None:
        client, s.client = s.client, None
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await asyncio.wait_for(client.disconnect(), 2.0)

    async def _shutdown(self, s: SensorState) -> None:
        client = s.client
        if client is None or not client.is_connected or s.family is None:
            self._set(s, "stopped")
            return
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            async with asyncio.timeout(2.0):
                for cmd in s.family.stop_commands():
                    await self._command(s, client, cmd)
        await self._abandon(s)
        self._set(s, "stopped")

    # --- background: fsync, decode, parts, metadata ------------------------------------------------------------

    async def _background(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_PERIOD_S)
            try:
                await self._checkpoint()
            except OSError as e:
                # disk full, ...: say so, keep receiving, retry the writes at the next checkpoint
                self._meta_dirty = True
                for s in self.sensors.values():
                    s.problem = s.message = f"cannot write the session: {e.strerror or e}"
            except Exception:  # the recorder must keep recording; the raw log has everything anyway
                log.exception("background decode/flush failed")

    async def _checkpoint(self) -> None:
        """Decode what arrived (event loop thread), then write it and fsync everything (worker thread)."""
        for s in self.sensors.values():
            if s.raw_broken:  # a failed write may have left half a frame: reopening cuts it off
                with contextlib.suppress(OSError, ValueError):
                    s.raw.close()
                with contextlib.suppress(OSError):
                    s.raw = self.store.raw_writer(s.placement)
                    s.raw_broken = False
        parts = self._decode_all()
        meta = None
        if self._meta_dirty:
            self._meta_dirty = False
            for s in self.sensors.values():
                if s.placement in self.store.meta["sensors"]:
                    self._update_sensor_meta(s)
            meta = json.loads(
                json.dumps(self.store.meta)
            )  # a snapshot: the loop keeps changing the original
        await asyncio.to_thread(self._write_checkpoint, parts, meta)

    def _write_checkpoint(self, parts: list[tuple[str, dict]], meta: dict | None) -> None:
        """Fsync the raw logs, write session.json and the parts; parts that fail are retried next time."""
        self._unwritten.extend(parts)
        for s in self.sensors.values():
            s.raw.flush()
        # metadata first: a listed sensor always has its parts folder (perhaps empty), so the session opens
        if meta is not None:
            self.store.write_metadata(meta)
        while self._unwritten:
            placement, columns = self._unwritten[0]
            self.store.write_part(placement, columns)
            self._unwritten.pop(0)

    def _decode_all(self) -> list[tuple[str, dict]]:
        parts = []
        for s in self.sensors.values():
            columns = self._decode(s)
            if columns is not None:
                parts.append((s.placement, columns))
        return parts

    def _decode(self, s: SensorState) -> dict[str, np.ndarray] | None:
        """Decode the inbox of one sensor into part columns (provisional session times)."""
        rows: list[DecodedBlock] = []
        while s.inbox:
            t_arr, char, data, segment = s.inbox.popleft()
            try:
                blocks = s.stream.feed(t_arr, char, data, segment)
            except ProtocolError as e:
                if char not in s.family.NOTIFY_CHARACTERISTICS:
                    continue  # a reply the decoder has no use for (e.g. a configuration read)
                s.decode_errors += 1
                s.message = f"bad packet: {e}"
                continue
            for b in blocks:
                s.samples += len(b.block)
                s.arrivals.append((t_arr, len(b.block)))
            rows.extend(blocks)
        if not rows:
            return None
        return self._columns(s, rows)

    def _columns(self, s: SensorState, rows: list[DecodedBlock]) -> dict[str, np.ndarray]:
        cols = block_columns(rows)
        ref, segs = cols["t_ref"], cols["segment"]
        t = np.empty_like(ref)
        for seg in np.unique(segs):
            xs, ys = s.stream.fit_points[int(seg)]
            fit = s.fits.get(int(seg))
            # provisional fits: at every checkpoint while they are cheap, then every REFIT_S seconds
            stale = ys[-1] - s.fit_time.get(int(seg), -np.inf) > REFIT_S
            if fit is None or len(xs) <= CHEAP_FIT_POINTS or stale:
                fit = fit_segments({int(seg): (xs, ys)})[int(seg)]
                s.fits[int(seg)] = fit
                s.fit_time[int(seg)] = ys[-1]
            m = segs == seg
            t[m] = fit(ref[m])
        # provisional times must keep increasing across parts (refits move them by microseconds)
        t = np.maximum(t, s.last_part_t + 1e-6 * (1 + np.arange(t.size)))
        t = np.maximum.accumulate(t)
        t[1:] = np.maximum(t[1:], t[:-1] + 1e-9)
        s.last_part_t = float(t[-1])
        return {"t": t, **cols}

    def _update_sensor_meta(self, s: SensorState) -> None:
        if s.family is None:
            return
        fits = {
            str(k): {
                "offset": f.offset,
                "scale": f.scale,
                "drift_ppm": f.drift_ppm,
                "delay_ms": 1e3 * f.delay_s,
            }
            for k, f in s.fits.items()
        }
        self.store.set_sensor(
            s.placement,
            {
                "family": s.family.NAME,
                "name": s.name,
                "address": s.address,
                "rate_hz": float(s.config.rate_hz),
                "acc_range_g": s.config.acc_range_g,
                "gyr_range_dps": s.config.gyr_range_dps,
                "firmware": "",
                "gaps": [list(map(float, g)) for g in s.gaps],
                "notifications": s.notifications,
                "lost_packets": s.lost_packets,
                "lost_samples": s.lost_samples,
                "decode_errors": s.decode_errors,
                "reconnects": s.reconnects,
                "reconnect_s": [round(x, 4) for x in s.reconnect_times],
                "battery": s.battery,
                "clock_fits": fits,
            },
        )

    # --- finalize ---------------------------------------------------------------------------------------------

    def _finalize(self) -> None:
        """Decode what is left, fit every clock on the whole recording, write one Parquet file per sensor."""
        with contextlib.suppress(Exception):
            self._write_checkpoint(self._decode_all(), None)
        for s in self.sensors.values():
            s.raw.close()
            parts = self.store.parts_dir(s.placement)
            if not parts.is_dir():
                continue
            cols = read_parts(parts)
            if not cols or "t_ref" not in cols:
                continue
            self.store.finalize_sensor(s.placement, self._final_columns(s, cols))
            self._update_sensor_meta(s)
        if self.marks.calibrating_since is not None or self.marks.segment is not None:
            self._close_marks()
        self.store.meta["recorder"]["finalized"] = True
        self.store.meta["recorder"]["missing"] = [
            p for p, s in self.sensors.items() if p not in self.store.meta["sensors"]
        ]
        self.store.meta["recorder"]["duration_s"] = self.now()
        self.store.write_metadata()
        self.store.lock.release()

    def _close_marks(self) -> None:
        """End the open calibration and segment at the moment the recording was stopped."""
        t = self.stop_time if self.stop_time is not None else self.now()
        if self.marks.calibrating_since is not None:
            self.mark(Command("calibrate"), max(t, self.marks.calibrating_since))
        if self.marks.segment is not None:
            self.mark(Command("end"), max(t, self.marks.segment["t"]))

    def _final_columns(self, s: SensorState, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The parts on the session clock: each segment's clock fitted on its whole recording
        (:func:`imu_gait.ble.decode.final_columns`). Segments decoded by another process (no fit points in
        memory): the whole sensor is decoded again from its raw log, as a replay does."""
        fit_points = {} if s.stream is None else s.stream.fit_points
        segments = {int(x) for x in np.unique(cols["segment"])}
        if not all(len(fit_points.get(seg, ((), ()))[0]) for seg in segments):
            out, fits = self._recover(s)
            if out:
                s.fits.update(fits)
                return {c: out[c] for c in FINAL_COLUMNS if c in out}
            # no usable raw log: fit the parts' own points (every sample's reference against its arrival)
            fit_points = dict(fit_points)
            for seg in segments:
                if not len(fit_points.get(seg, ((), ()))[0]):
                    m = cols["segment"] == seg
                    fit_points[seg] = (cols["t_ref"][m], cols["t_arrival"][m])
        fits = fit_segments({seg: fit_points[seg] for seg in segments})
        s.fits.update(fits)
        out = final_columns(cols, fits)
        return {c: out[c] for c in FINAL_COLUMNS if c in out}

    def _recover(self, s: SensorState) -> tuple[dict[str, np.ndarray], dict]:
        """Final columns and clock fits decoded from the sensor's raw log ({} when it cannot be)."""
        path = self.store.folder / "raw" / f"{s.placement}.frames"
        if s.family is None or s.config is None or not path.is_file():
            return {}, {}
        try:
            return decode_raw_log(path, s.family, s.config)
        except ImuGaitError:
            return {}, {}


class _FatalSensorError(Exception):
    """This sensor cannot be recorded (wrong family, missing characteristic): do not retry."""


async def _first(*aws: Any) -> None:
    """Wait until the first of ``aws`` finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
