"""bleak's public API against emulated sensors on a real BLE stack (Bumble): scan, connect, notify, failures.

Every test builds a fresh virtual radio (LocalLink) and its own event loop; no part of imu_gait is mocked.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

import firmware_protocols
from firmware_protocols import diy
from imu_gait.emulator.bleak_backend import bumble_backends, close_central
from imu_gait.emulator.controller import new_link
from imu_gait.emulator.peripheral import Knobs, VirtualSensor
from imu_gait.emulator.server import HciTcpServer
from imu_gait.emulator.source import synthetic_imu

PLACEMENTS = ("left_foot", "right_foot", "left_shank")


async def _sensors(link, n: int = 1, knobs: Knobs | None = None, family=diy) -> list[VirtualSensor]:
    out = []
    for p in PLACEMENTS[:n]:
        s = VirtualSensor(link, family, p, synthetic_imu(p, 10.0), knobs=knobs)
        await s.start()
        out.append(s)
    return out


async def _close(link, sensors) -> None:
    for s in sensors:
        await s.close()
    await close_central(link)


def test_scan_sees_every_sensor_with_its_placement_in_the_advertised_name() -> None:
    async def run() -> dict:
        link = new_link()
        sensors = await _sensors(link, 3)
        scanner, _ = bumble_backends(link)
        found = await BleakScanner.discover(timeout=0.5, return_adv=True, backend=scanner)
        await _close(link, sensors)
        return {s.placement: found.get(s.address_str) for s in sensors}

    found = asyncio.run(run())
    for placement, entry in found.items():
        assert entry is not None, f"{placement} not seen"
        _, adv = entry
        assert placement in adv.local_name
        assert firmware_protocols.identify(adv.local_name, adv.service_uuids) is diy
        assert -100 < adv.rssi < 0


def test_stream_through_bleak_decodes_to_the_source_signal() -> None:
    async def run():
        link = new_link()
        (sensor,) = await _sensors(link, 1, Knobs(interval_ms=30.0))
        scanner, client_cls = bumble_backends(link)
        device = await BleakScanner.find_device_by_name(sensor.name, timeout=2.0, backend=scanner)
        config = diy.choose_config(200)
        decoder = diy.Decoder(config)
        blocks = []
        async with BleakClient(device, backend=client_cls) as client:
            mtu = client.mtu_size
            await client.start_notify(
                diy.DATA, lambda _c, data: blocks.extend(decoder.feed(diy.DATA, data))
            )
            for w in diy.start_commands(config):
                await client.write_gatt_char(w.characteristic, w.data, response=w.with_response)
            await asyncio.sleep(1.0)
        await _close(link, [sensor])
        return sensor, mtu, blocks

    sensor, mtu, blocks = asyncio.run(run())
    assert mtu == 247  # exchanged on connect, not the default 23
    n = sum(len(b) for b in blocks)
    assert 150 <= n <= 205  # about 1 s at 200 Hz, in packets of 19
    assert max(len(b) for b in blocks) == diy.samples_per_packet(247)
    t_dev = np.concatenate([b.t_device for b in blocks])
    acc = np.concatenate([b.acc for b in blocks])
    gyr = np.concatenate([b.gyr for b in blocks])
    want_acc, want_gyr = sensor.source.at(np.asarray(sensor.clock.true(t_dev)))
    assert np.max(np.abs(acc - want_acc)) < 16 * 9.81 / 32768 * 1.01  # one LSB of the 16 g range
    assert np.max(np.abs(gyr - want_gyr)) < 2000 / 32768 * 1.01


def test_connect_to_a_silent_address_times_out_and_later_connects_still_work() -> None:
    async def run():
        link = new_link()
        (sensor,) = await _sensors(link, 1)
        _, client_cls = bumble_backends(link)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="C0:11:22:33:44:55"):
            await BleakClient("C0:11:22:33:44:55", backend=client_cls, timeout=1.0).connect()
        elapsed = time.monotonic() - t0
        client = BleakClient(sensor.address_str, backend=client_cls, timeout=3.0)
        await client.connect()  # the cancelled attempt left no pending connection behind
        ok = client.is_connected
        await client.disconnect()
        await _close(link, [sensor])
        return elapsed, ok

    elapsed, ok = asyncio.run(run())
    assert 0.9 < elapsed < 2.5
    assert ok


def test_concurrent_connects_are_serialized_and_all_succeed() -> None:
    async def run():
        link = new_link()
        sensors = await _sensors(link, 3)
        _, client_cls = bumble_backends(link)
        clients = [BleakClient(s.address_str, backend=client_cls, timeout=5.0) for s in sensors]
        await asyncio.gather(*(c.connect() for c in clients))  # what applications do with BlueZ
        states = [(c.is_connected, c.mtu_size) for c in clients]
        await asyncio.gather(*(c.disconnect() for c in clients))
        await _close(link, sensors)
        return states

    assert asyncio.run(run()) == [(True, 247)] * 3


def test_disconnected_callback_fires_on_our_own_disconnect_and_on_link_loss() -> None:
    async def run():
        link = new_link()
        (sensor,) = await _sensors(link, 1, Knobs(drop_at_s=0.3, drop_silence_s=0.2))
        _, client_cls = bumble_backends(link)
        calls: list[str] = []
        client = BleakClient(
            sensor.address_str, lambda c: calls.append("first"), backend=client_cls
        )
        await client.connect()
        await client.disconnect()
        # second connection: the sensor drops the link 0.3 s after streaming starts
        lost = asyncio.Event()
        client = BleakClient(
            sensor.address_str, lambda c: lost.set(), backend=client_cls, timeout=5.0
        )
        await client.connect()
        await client.start_notify(diy.DATA, lambda _c, _d: None)
        for w in diy.start_commands(diy.choose_config(100)):
            await client.write_gatt_char(w.characteristic, w.data, response=True)
        await asyncio.wait_for(lost.wait(), 3.0)
        connected_after = client.is_connected
        await _close(link, [sensor])
        return calls, connected_after

    calls, connected_after = asyncio.run(run())
    assert calls == ["first"]
    assert connected_after is False


def test_link_lost_during_connect_is_a_bleak_error_not_a_cancellation() -> None:
    async def run():
        link = new_link()
        (sensor,) = await _sensors(link, 1, Knobs(drop_during_connect=True))
        _, client_cls = bumble_backends(link)
        with pytest.raises(BleakError, match="link lost while connecting"):
            await BleakClient(sensor.address_str, backend=client_cls, timeout=3.0).connect()
        client = BleakClient(sensor.address_str, backend=client_cls, timeout=3.0)
        await client.connect()  # the sensor advertises again and the next attempt works
        ok = client.is_connected
        await client.disconnect()
        await _close(link, [sensor])
        return ok

    assert asyncio.run(run())


def test_a_tcp_client_that_vanishes_releases_its_sensors() -> None:
    async def run():
        link = new_link()
        (sensor,) = await _sensors(link, 1)
        server = HciTcpServer(link)
        port = await server.start()
        spec = f"tcp-client:127.0.0.1:{port}"
        _, client_cls = bumble_backends(spec)
        client = BleakClient(sensor.address_str, backend=client_cls, timeout=5.0)
        await client.connect()
        connected = sensor.connection is not None
        # the recorder dies without disconnecting: its socket closes, nothing else happens
        await close_central(spec)
        for _ in range(50):
            if sensor.connection is None:
                break
            await asyncio.sleep(0.02)
        released = sensor.connection is None
        # and a new recorder (a new TCP client, a new host) can connect to the same sensor
        _, client2_cls = bumble_backends(spec)
        client2 = BleakClient(sensor.address_str, backend=client2_cls, timeout=5.0)
        await client2.connect()
        again = client2.is_connected
        await client2.disconnect()
        await close_central(spec)
        await server.close()
        await _close(link, [sensor])
        return connected, released, again

    assert asyncio.run(run()) == (True, True, True)
