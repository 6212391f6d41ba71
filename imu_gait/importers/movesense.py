"""Movesense JSON log, FORMATS.md "Movesense JSON log".

``{"Meas": {"IMU9": [{"Timestamp": ms, "ArrayAcc": [{"x","y","z"} x N], "ArrayGyro": [...], "ArrayMagn": [...]},
...]}}`` (IMU6: no ArrayMagn). Acc m/s^2, gyro deg/s, magnetometer uT. ``Timestamp`` is the device time (ms) of the
first sample of the packet; the N sample times inside a packet are interpolated from consecutive packet timestamps
(a packet after a gap uses the typical packet interval). The nominal rate is one of the Movesense rates; the
effective rate often differs (e.g. "104 Hz" measured as 106.7 Hz), which is reported, not hidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError
from imu_gait.importers.common import Stream, read_text, unwrap_counter

MOVESENSE_RATES = (13.0, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0)
TIMESTAMP_MODULUS = 2.0**32


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    """One stream per file; every device has its own clock."""
    return [_read(p, rate_hz) for p in files]


def _read(path: Path, rate_hz: float | None) -> Stream:
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(
            path,
            f"not valid JSON ({e.msg}); expected a Movesense log, is the file cut?",
            line=e.lineno,
        ) from None
    meas = doc.get("Meas") if isinstance(doc, dict) else None
    kind = next((k for k in ("IMU9", "IMU6") if isinstance(meas, dict) and k in meas), None)
    if kind is None:
        raise FormatError(
            path, 'expected {"Meas": {"IMU9": [...]}} or {"Meas": {"IMU6": [...]}}', column="Meas"
        )
    packets = meas[kind]
    if not isinstance(packets, list) or len(packets) < 2:
        raise FormatError(path, f"expected at least two packets in Meas.{kind}", column=kind)
    with_mag = kind == "IMU9"
    stamps, acc, gyr, mag = [], [], [], []
    n_per = None
    for k, p in enumerate(packets):
        where = f"Meas.{kind}[{k}]"
        try:
            ts = float(p["Timestamp"])
            a = _vectors(p["ArrayAcc"])
            g = _vectors(p["ArrayGyro"])
            m = _vectors(p["ArrayMagn"]) if with_mag else None
        except KeyError as e:
            raise FormatError(
                path,
                f"packet without {e.args[0]}; expected Timestamp, ArrayAcc, ArrayGyro",
                column=where,
            ) from None
        except (TypeError, ValueError) as e:
            raise FormatError(
                path, f"malformed packet ({e}); expected numbers x, y, z", column=where
            ) from None
        if n_per is None:
            n_per = len(a)
        if len(a) != n_per or len(g) != n_per or (m is not None and len(m) != n_per) or n_per == 0:
            raise FormatError(
                path,
                f"packet with {len(a)} acc / {len(g)} gyro samples; expected {n_per} of each",
                column=where,
            )
        stamps.append(ts)
        acc.append(a)
        gyr.append(g)
        if m is not None:
            mag.append(m)
    assert n_per is not None
    ts_ms = unwrap_counter(np.array(stamps), TIMESTAMP_MODULUS)
    back = np.flatnonzero(np.diff(ts_ms) <= 0)
    if back.size:
        k = int(back[0])
        raise FormatError(
            path,
            f"Timestamp goes from {stamps[k]:.0f} to {stamps[k + 1]:.0f} ms; expected increasing packet times",
            column=f"Meas.{kind}[{k + 1}].Timestamp",
        )
    t = sample_times(ts_ms / 1000.0, n_per)
    effective = n_per / float(np.median(np.diff(ts_ms / 1000.0)))
    nominal = rate_hz or _nearest_movesense_rate(effective)
    return Stream(
        source=path.stem,
        files=[path],
        acc=np.concatenate(acc),
        gyr=np.concatenate(gyr),
        acc_unit="m/s^2",
        gyr_unit="deg/s",
        t=t,
        nominal_rate=nominal,
        regular=False,
        clock=f"movesense:{path.parent.name}/{path.name}",
        mag=np.concatenate(mag) if mag else None,
        t_device=t,
        family="movesense",
        name_hints=[path.parent.name],
        acc_column=f"Meas.{kind}[].ArrayAcc",
        gyr_column=f"Meas.{kind}[].ArrayGyro",
        extra={"samples_per_packet": n_per, "packets": len(packets)},
    )


def _vectors(items) -> np.ndarray:
    return np.array(
        [[float(v["x"]), float(v["y"]), float(v["z"])] for v in items], dtype=np.float64
    ).reshape(-1, 3)


def sample_times(packet_t: np.ndarray, n_per: int) -> np.ndarray:
    """Per-sample times (s) of packets of ``n_per`` samples stamped at their first sample.

    Inside a packet the samples are spread evenly over the interval to the next packet; the last packet, and a
    packet followed by a gap (interval > 1.5 x typical), use the typical interval instead.
    """
    d = np.diff(packet_t)
    typical = float(np.median(d))
    span = np.append(d, typical)
    span = np.where(span > 1.5 * typical, typical, span)
    frac = np.arange(n_per) / n_per
    return (packet_t[:, None] + span[:, None] * frac[None, :]).ravel()


def _nearest_movesense_rate(effective: float) -> float | None:
    best = min(MOVESENSE_RATES, key=lambda r: abs(r / effective - 1))
    return best if abs(best / effective - 1) < 0.06 else None
