"""Sans-IO codecs for BLE IMU sensor families: bytes in, samples out; commands described, never sent.

No bleak, no asyncio, no files, nothing from ``imu_gait``: the recorder (``imu_gait.ble``) and the emulator
(``imu_gait.emulator``) do the I/O and call into these modules.

Every family module (``FAMILIES[name]``) offers the same shape:

- ``NAME``; ``SERVICE_UUIDS``; ``NOTIFY_CHARACTERISTICS`` (subscribe to all of them before starting);
  ``WRITE_CHARACTERISTICS``; ``GATT`` = {service: {characteristic: properties}} (what the emulator serves);
  all UUIDs full 128-bit lowercase strings.
- ``matches(name, service_uuids) -> bool``: recognise an advertisement. ``STREAMS_ON_SUBSCRIBE``: True for
  families that stream as soon as notifications are enabled (WitMotion, Thingy:52; their Encoder starts out
  streaming and the emulator gates on the subscription), False where a start command is needed.
- ``advertised_name(suffix) -> str``: a name such a device advertises (for the emulator).
- ``SUPPORTED_RATES`` (Hz), ``ACC_RANGES_G``, ``GYR_RANGES_DPS``, ``DEFAULT_CONFIG``;
  ``choose_config(rate_hz, acc_range_g=None, gyr_range_dps=None, device_name=None) -> StreamConfig`` snaps a
  request to what the device can do (nearest rate, smallest range covering the request); pass the advertised
  name: some families have models with different abilities (Polar H10/OH1 have no gyroscope).
- ``start_commands(config) -> list[GattWrite]`` and ``stop_commands() -> list[GattWrite]``: write them in order
  (fire and forget). ``handshake(config) -> Handshake``: the same start as a sans-IO dialogue that also reads
  and waits for replies where the family has them (MetaWear chip discovery, Polar control-point status,
  Thingy read-modify-write); see :class:`firmware_protocols.base.Handshake`. Prefer it.
- ``Decoder(config)``: ``feed(characteristic, data) -> list[SampleBlock]``; anything malformed raises
  :class:`ProtocolError` (never another exception) and the decoder stays usable. Counters ``packets``,
  ``samples``, ``lost_packets``, ``lost_samples``, ``errors``; ``reset()`` after a reconnect. Responses on
  command/control characteristics and values read during the handshake may be fed too (they return [] and
  update the decoder's state - DIY INFO scales, Polar factors - or raise ProtocolError if the device refused a
  command). Families without gyroscope (Polar H10/OH1) give gyr NaN; families that stream acc and gyro
  separately (MetaWear, Polar) are paired inside the decoder.
- ``Encoder(config)``: the device side for the emulator: ``handle_write(characteristic, data) ->
  list[Notification]`` (responses; a start command makes ``is_streaming`` true; invalid commands raise
  ProtocolError), ``read(characteristic) -> bytes``, ``encode(t_device, acc, gyr) -> list[Notification]``
  (samples in s, m/s^2, deg/s -> notifications batched as the device batches them; [] while not streaming) and
  ``flush()`` (a partial batch). Feed samples at ``encoder.config.rate_hz`` (the rate the central configured):
  the encoder does not resample.

Decoded units: acc m/s^2 including gravity, gyr deg/s, in the sensor's right-handed frame as printed on the device;
``SampleBlock.t_device`` in seconds on the device clock (unwrapped), or None where the family has no device time;
``SampleBlock.seq`` a running sample index with holes where samples were lost (None without a counter or time);
``SampleBlock.mag`` uT where the family streams a magnetometer (Thingy:52).

Family notes, details in each module's docstring: ``diy`` (our open profile, spec in
``diy_firmware/PROFILE.md``), ``witmotion``, ``metawear``, ``movesense`` (GSP), ``polar`` (PMD incl. delta
frames), ``dot`` (Movella DOT), ``thingy52``. Supported sensors and how to wear them: ``SENSORS.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from firmware_protocols import diy, dot, metawear, movesense, polar, thingy52, witmotion
from firmware_protocols.base import (
    G,
    GattRead,
    GattWrite,
    Handshake,
    Notification,
    ProtocolError,
    SampleBlock,
    StreamConfig,
)

FAMILIES: dict[str, ModuleType] = {
    m.NAME: m for m in (diy, witmotion, metawear, movesense, polar, dot, thingy52)
}


def identify(name: str | None, service_uuids: Sequence[str] = ()) -> ModuleType | None:
    """The family module whose ``matches`` accepts this advertisement, or None."""
    for module in FAMILIES.values():
        if module.matches(name, service_uuids):
            return module
    return None


__all__ = [
    "FAMILIES",
    "G",
    "GattRead",
    "GattWrite",
    "Handshake",
    "Notification",
    "ProtocolError",
    "SampleBlock",
    "StreamConfig",
    "identify",
]
