"""Writers of vendor files (FORMATS.md) from known signals, for the importer tests.

The signal is analytic, so truth is known at any time: 2 s of standing still (gravity only, slightly tilted
sensor), a 1 s fade-in, then walking-like motion (1 Hz stride with harmonics up to 3 Hz, gyro peaks ~400 deg/s,
accelerations of several m/s^2). Units in: t s, acc m/s^2, gyr deg/s; each writer converts to its format's units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

G = 9.80665
GRAVITY_SENSOR = G * np.array([0.05, 0.03, 0.998]) / np.linalg.norm([0.05, 0.03, 0.998])
STILL_S = 2.0


def envelope(t: np.ndarray) -> np.ndarray:
    """0 while standing, a smooth 1 s ramp, then 1."""
    x = np.clip(t - STILL_S, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def walk_gyr(t: np.ndarray) -> np.ndarray:
    """Angular rate (n, 3) deg/s."""
    w = 2 * np.pi * t
    e = envelope(t)
    return np.column_stack(
        [
            e * 60 * np.sin(w),
            e * (250 * np.sin(w) + 100 * np.sin(2 * w + 0.5) + 40 * np.sin(3 * w)),
            e * 40 * np.sin(w + 1.0),
        ]
    )


def walk_acc(t: np.ndarray) -> np.ndarray:
    """Acceleration incl. gravity (n, 3) m/s^2."""
    w = 2 * np.pi * t
    e = envelope(t)
    dyn = np.column_stack([3 * np.sin(2 * w), 2 * np.sin(w), 6 * np.sin(2 * w + 1.0)])
    return GRAVITY_SENSOR + e[:, None] * dyn


def walk_mag(t: np.ndarray) -> np.ndarray:
    """A magnetic field (n, 3) uT that turns with the sensor, roughly."""
    a = np.radians(20 * np.sin(2 * np.pi * t) * envelope(t))
    return np.column_stack([20 * np.cos(a), 20 * np.sin(a), -40 * np.ones_like(a)])


def fmt(x: float) -> str:
    return repr(float(x))


# --------------------------------------------------------------------------------------------------------------
# gaitmap


def write_gaitmap_multi(
    path: Path, sensors: dict[str, tuple[np.ndarray, np.ndarray]], by: str = "axis"
) -> Path:
    """Two header rows ``sensor`` / ``axis``, first column the sample index. ``by``: group columns by axis or sensor."""
    axes = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    names = list(sensors)
    cols = (
        [(s, a) for a in axes for s in names]
        if by == "axis"
        else [(s, a) for s in names for a in axes]
    )
    n = next(iter(sensors.values()))[0].shape[0]
    lines = ["sensor," + ",".join(s for s, _ in cols), "axis," + ",".join(a for _, a in cols)]
    for i in range(n):
        vals = []
        for s, a in cols:
            acc, gyr = sensors[s]
            src = acc if a.startswith("acc") else gyr
            vals.append(fmt(src[i, "xyz".index(a[-1])]))
        lines.append(f"{i}," + ",".join(vals))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_gaitmap_single(
    path: Path, acc: np.ndarray, gyr: np.ndarray, index_column: bool = False
) -> Path:
    """One header row, an unnamed index column, optionally an ``index`` column."""
    head = ",index," if index_column else ","
    lines = [head + "acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
    for i in range(acc.shape[0]):
        pre = f"{i},{i}," if index_column else f"{i},"
        lines.append(pre + ",".join(fmt(v) for v in (*acc[i], *gyr[i])))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------
# MbientLab MetaBase


def metabase_name(
    label: str, start: str, mac: str, sensor: str, rate: float, fw: str = "1.4.4"
) -> str:
    return f"{label}_MetaWear_{start}_{mac}_{sensor}_{rate:.3f}Hz_{fw}.csv"


def write_metabase(
    path: Path, epoch_ms: np.ndarray, values: np.ndarray, unit: str, old_spelling: bool = False
) -> Path:
    """One stream: ``epoch (ms),time (-0700),elapsed (s),x-axis (unit),...``; ``values`` already in ``unit``."""
    first = "epoc (ms),timestamp (-0700)" if old_spelling else "epoch (ms),time (-0700)"
    lines = [f"{first},elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
    for e, v in zip(epoch_ms, values, strict=True):
        clock = "2024-03-01T10:00:00.000"  # the clock-time text column is not used by the importer
        lines.append(
            f"{int(e)},{clock},{(e - epoch_ms[0]) / 1000:.3f},{v[0]:.6f},{v[1]:.6f},{v[2]:.6f}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------
# Movella DOT


def quat_of_rotvec(rv: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) w, x, y, z of rotation vectors (n, 3) rad."""
    angle = np.linalg.norm(rv, axis=1)
    axis = np.divide(rv, angle[:, None], out=np.zeros_like(rv), where=angle[:, None] > 0)
    return np.column_stack([np.cos(angle / 2), axis * np.sin(angle / 2)[:, None]])


def write_dot(
    path: Path,
    stf_us: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate: float,
    *,
    mode: str = "acc_gyr",
    sep_line: bool = True,
    metadata: dict[str, str] | None = None,
    zero_first_row: bool = True,
) -> Path:
    """DOT CSV; ``stf_us`` are raw uint32 SampleTimeFine values. ``mode`` "dv_dq": the high-fidelity columns."""
    lines = ["sep=,"] if sep_line else []
    if metadata:
        lines += [f"{k}:,{v}" for k, v in metadata.items()] + [""]
    if mode == "acc_gyr":
        head = "PacketCounter,SampleTimeFine,Quat_W,Quat_X,Quat_Y,Quat_Z,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z,Status,"
        body = [np.ones((len(acc), 1)), np.zeros((len(acc), 3)), acc, gyr]
    else:
        head = "PacketCounter,SampleTimeFine,dq_W,dq_X,dq_Y,dq_Z,dv[1],dv[2],dv[3],Mag_X,Mag_Y,Mag_Z,Status,"
        dq = quat_of_rotvec(np.radians(gyr) / rate)
        body = [dq, acc / rate, np.tile([0.4, 0.1, -0.8], (len(acc), 1))]
    lines.append(head)
    n_cols = head.count(",") - 1
    if zero_first_row:
        lines.append(",".join(["0"] * n_cols) + ",")
    values = np.column_stack(body)
    for i in range(len(acc)):
        lines.append(f"{i},{int(stf_us[i])}," + ",".join(fmt(v) for v in values[i]) + ",0,")
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------
# Xsens MT Manager


def write_xsens(
    path: Path,
    counter: np.ndarray,
    acc: np.ndarray,
    gyr_dps: np.ndarray,
    rate: float,
    *,
    stf_ticks: np.ndarray | None = None,
    variant: str = "mtmanager",
    device: str = "00B41234",
    velinc: bool = True,
) -> Path:
    """MT Manager export (``//`` header, TAB columns, gyro rad/s) or the "Acquisition frequency" variant."""
    gyr = np.radians(gyr_dps)
    if variant == "acqfreq":
        lines = [
            f"Acquisition frequency: {rate:g} Hz",
            "PacketCounter\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z\tMag_X\tMag_Y\tMag_Z",
        ]
        for i in range(len(acc)):
            vals = [
                f"{float(counter[i]):.1f}",
                *(fmt(v) for v in (*acc[i], *gyr[i])),
                "0.5",
                "0.1",
                "-0.8",
            ]
            lines.append("\t".join(vals))
        path.write_text("\n".join(lines) + "\n")
        return path
    lines = [
        "// General information:",
        "//  MT Manager version: 2022.0.0",
        "//  XDA version: 2022.0.0",
        "// Device information:",
        f"//  DeviceId: {device}",
        "//  ProductCode: MTw2-3A7G6",
        "//  Firmware Version: 4.6.0",
        "// Device settings:",
        "//  Filter Profile: human (46.1)",
        "//  Coordinate system: ENU",
        f"//  Update Rate: {rate:g}Hz",
        "// Sample rate and more",
    ]
    cols = ["PacketCounter", "SampleTimeFine", "Acc_X", "Acc_Y", "Acc_Z", "Gyr_X", "Gyr_Y", "Gyr_Z"]
    if velinc:
        cols += ["VelInc_X", "VelInc_Y", "VelInc_Z"]
    cols += ["Roll", "Pitch", "Yaw"]
    lines.append("\t".join(cols))
    for i in range(len(acc)):
        stf = "" if stf_ticks is None else str(int(stf_ticks[i]))
        vals = [str(int(counter[i])), stf, *(fmt(v) for v in (*acc[i], *gyr[i]))]
        if velinc:
            vals += [fmt(v) for v in acc[i] / rate]
        vals += ["1.0", "2.0", "3.0"]
        lines.append("\t".join(vals))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------
# Movesense


def write_movesense(
    path: Path,
    stamps_ms: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    mag: np.ndarray | None,
    n_per: int,
) -> Path:
    """JSON log: packets of ``n_per`` samples, ``stamps_ms`` the device time of each packet (first sample)."""
    kind = "IMU9" if mag is not None else "IMU6"
    packets = []
    for k, ts in enumerate(stamps_ms):
        sl = slice(k * n_per, (k + 1) * n_per)
        p = {
            "Timestamp": int(ts),
            "ArrayAcc": [{"x": float(a), "y": float(b), "z": float(c)} for a, b, c in acc[sl]],
            "ArrayGyro": [{"x": float(a), "y": float(b), "z": float(c)} for a, b, c in gyr[sl]],
        }
        if mag is not None:
            p["ArrayMagn"] = [{"x": float(a), "y": float(b), "z": float(c)} for a, b, c in mag[sl]]
        packets.append(p)
    path.write_text(json.dumps({"Meas": {kind: packets}}))
    return path


# --------------------------------------------------------------------------------------------------------------
# x-io NGIMU and x-IMU


def write_ngimu(
    path: Path, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray
) -> Path:
    """``Time (s)``, gyroscope deg/s, accelerometer g, magnetometer uT, barometer hPa."""
    head = (
        "Time (s),Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s),Accelerometer X (g),"
        "Accelerometer Y (g),Accelerometer Z (g),Magnetometer X (uT),Magnetometer Y (uT),Magnetometer Z (uT),"
        "Barometer (hPa)"
    )
    lines = [head]
    a = acc / G
    for i in range(len(t)):
        vals = [f"{t[i]:.6f}", *(fmt(v) for v in (*gyr[i], *a[i], *mag[i])), "1013.2"]
        lines.append(",".join(vals))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ximu(
    path: Path, packet: np.ndarray, acc: np.ndarray, gyr: np.ndarray, mag_ut: np.ndarray
) -> Path:
    """``*_CalInertialAndMag.csv``: packet number, gyroscope deg/s, accelerometer g, magnetometer G."""
    head = (
        "Packet number,Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s),Accelerometer X (g),"
        "Accelerometer Y (g),Accelerometer Z (g),Magnetometer X (G),Magnetometer Y (G),Magnetometer Z (G)"
    )
    lines = [head]
    a, m = acc / G, mag_ut / 100.0
    for i in range(len(acc)):
        lines.append(",".join([str(int(packet[i])), *(fmt(v) for v in (*gyr[i], *a[i], *m[i]))]))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------------------------
# Generic CSV


def write_csv(path: Path, columns: dict[str, np.ndarray], sep: str = ",") -> Path:
    names = list(columns)
    n = len(next(iter(columns.values())))
    lines = [sep.join(names)]
    for i in range(n):
        lines.append(sep.join(fmt(columns[c][i]) for c in names))
    path.write_text("\n".join(lines) + "\n")
    return path
