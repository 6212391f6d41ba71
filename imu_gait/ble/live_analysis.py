"""Online stride analysis during ``imu-gait record``: the recorder's decoded blocks feed the online analyzer.

:class:`AnalyzingRecorder` is the recorder plus one hook: every block it decodes (provisional session times,
the same blocks it writes as Parquet parts) is also handed to an :class:`~imu_gait.pipeline.online.OnlineAnalyzer`
running in a worker thread, so the analysis never holds up the BLE event loop. Emitted strides are collected for
the live view (:func:`recording_view`). The recorder decodes every ``FLUSH_PERIOD_S`` (0.5 s), which adds up to
that much to the latency of a live recording compared with a replay.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from imu_gait.ble.recorder import Recorder
from imu_gait.pipeline.online import OnlineAnalyzer, StrideUpdate
from imu_gait.session import SensorInfo


class AnalyzingRecorder(Recorder):
    """A :class:`~imu_gait.ble.recorder.Recorder` whose decoded blocks also go to an online analyzer.

    ``on_stride`` is called (in the worker thread) with every update (also the early foot-only ones, ``final``
    False); ``updates`` keeps the final ones; ``analyzer_kwargs`` go to
    :class:`OnlineAnalyzer` (e.g. ``static=[t0, t1]``)."""

    def __init__(
        self,
        *args: Any,
        on_stride: Callable[[StrideUpdate], None] | None = None,
        analyzer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.analyzer = OnlineAnalyzer({}, **(analyzer_kwargs or {}))
        self.updates: deque[StrideUpdate] = deque(maxlen=1000)
        self.on_stride = on_stride
        self._inbox: queue.Queue = queue.Queue()
        self._static_sent: list[float] | None = None
        self._worker = threading.Thread(target=self._analyse, name="online-analysis", daemon=True)
        self._worker.start()

    def _decode_all(self) -> list[tuple[str, dict]]:
        parts = super()._decode_all()
        window = self._standing_window()
        if window != self._static_sent:
            self._static_sent = window
            self._inbox.put(("static", "", window))
        for placement, cols in parts:
            s = self.sensors[placement]
            if placement not in self.analyzer.sensors and s.config is not None:
                self._inbox.put(("sensor", placement, _info(s)))
            acc = np.column_stack([cols["acc_x"], cols["acc_y"], cols["acc_z"]])
            gyr = np.column_stack([cols["gyr_x"], cols["gyr_y"], cols["gyr_z"]])
            self._inbox.put(("samples", placement, (cols["t"].copy(), acc, gyr)))
        return parts

    def _standing_window(self) -> list[float] | None:
        """The standing calibration marked so far (:attr:`marks`): the completed window, or an open one (its
        planned end, else open-ended) so that the live calibration waits for it."""
        book = self.marks
        if book.static is not None:
            return list(book.static)
        if book.calibrating_since is not None:
            end = book.calibration_until if book.calibration_until is not None else float("inf")
            return [book.calibrating_since, end]
        return None

    def _finalize(self) -> None:
        super()._finalize()
        self._inbox.put(("finish", "", None))
        self._worker.join(timeout=10.0)

    def _analyse(self) -> None:
        while True:
            kind, placement, payload = self._inbox.get()
            if kind == "sensor":
                self.analyzer.add_sensor(placement, payload)
                continue
            if kind == "static":
                self.analyzer.set_static(payload)
                continue
            try:
                if kind == "finish":
                    new = self.analyzer.finish()
                else:
                    new = self.analyzer.feed(placement, *payload)
            except (
                Exception
            ) as exc:  # the recording must go on; the analysis reports what went wrong
                self.analyzer.warnings.append(f"online analysis failed: {exc}")
                new = []
            for u in new:
                if u.final:
                    self.updates.append(u)
                if self.on_stride is not None:
                    self.on_stride(u)
            if kind == "finish":
                return


def _info(s: Any) -> SensorInfo:
    c = s.config
    return SensorInfo(
        family=s.family.NAME if s.family else "unknown",
        name=s.name,
        address=s.address,
        rate_hz=float(c.rate_hz),
        acc_range_g=c.acc_range_g,
        gyr_range_dps=c.gyr_range_dps,
    )


async def recording_view(
    rec: AnalyzingRecorder, board: Any, console: Any, period: float = 0.5
) -> None:
    """The recorder's sensor table with the stride board under it, redrawn until the recording stops."""
    from rich.console import Group
    from rich.live import Live

    from imu_gait.ble.live import sensor_table

    def render() -> Group:
        board.now = rec.now()
        return Group(sensor_table(rec), board.render(rec.analyzer))

    with Live(render(), console=console, refresh_per_second=4, transient=False) as live:
        while not rec.stopping:
            await asyncio.sleep(period)
            live.update(render())
        live.update(render())
