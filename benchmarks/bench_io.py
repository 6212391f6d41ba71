"""Import and load speed: the 38.7 s gaitmap walk import (target well under 1 s) and reading a 1-hour, 6-sensor,
200 Hz session folder (target < 2 s). Prints the figures; run with `.venv/bin/python benchmarks/bench_io.py`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from imu_gait.importers import import_files
from imu_gait.session import PLACEMENTS, ImuData, SensorInfo, Session, load_session, save_session

GAITMAP = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gaitmap" / "imu_sample.csv"
)


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_gaitmap_import(tmp: Path) -> None:
    import_files("gaitmap", [GAITMAP], rate_hz=204.8)  # warm-up: first use of pandas' parser
    t_import = best_of(5, lambda: import_files("gaitmap", [GAITMAP], rate_hz=204.8))
    k = iter(range(100))
    t_import_save = best_of(
        5,
        lambda: save_session(
            import_files("gaitmap", [GAITMAP], rate_hz=204.8), tmp / f"walk{next(k)}"
        ),
    )
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "imu_gait",
            "import",
            "gaitmap",
            str(GAITMAP),
            "--rate",
            "204.8",
            "-o",
            str(tmp / "cli"),
        ],
        check=True,
        capture_output=True,
    )
    t_cli = time.perf_counter() - t0
    print(f"gaitmap walk 38.7 s, 2 sensors, {GAITMAP.stat().st_size / 1e6:.1f} MB CSV:")
    print(f"  import_files                 {t_import * 1000:7.1f} ms   (target well under 1000 ms)")
    print(f"  import_files + save_session  {t_import_save * 1000:7.1f} ms")
    print(
        f"  `imu-gait import` end to end {t_cli * 1000:7.1f} ms   (incl. interpreter and library start-up)"
    )


def bench_hour_session(tmp: Path) -> None:
    rate, hours = 200.0, 1.0
    n = int(hours * 3600 * rate)
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    data, sensors = {}, {}
    for p in PLACEMENTS[:6]:
        acc = rng.normal(0, 3, (n, 3)) + np.array([0.0, 0.0, 9.81])
        gyr = rng.normal(0, 100, (n, 3))
        data[p] = ImuData(t, acc, gyr, seq=np.arange(n), t_device=t + 1000.0)
        sensors[p] = SensorInfo(family="dot", rate_hz=rate)
    folder = tmp / "hour"
    t0 = time.perf_counter()
    save_session(Session(data=data, sensors=sensors, subject="bench"), folder)
    t_save = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    load_session(folder)  # warm the page cache, as a second open would be
    t_load = best_of(3, lambda: load_session(folder))
    print(f"1 h x 6 sensors x 200 Hz ({6 * n:,} samples, t/acc/gyr/seq/t_device columns):")
    print(f"  folder size   {size / 1e6:7.1f} MB")
    print(f"  save_session  {t_save:7.2f} s")
    print(f"  load_session  {t_load:7.2f} s   (target < 2 s; ratio to target {t_load / 2.0:.2f})")


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        bench_gaitmap_import(Path(d))
        bench_hour_session(Path(d))


if __name__ == "__main__":
    main()
