"""Ctrl-C / SIGTERM ending a long-running command cleanly, on every platform."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable


def on_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> str:
    """Call ``stop()`` in ``loop`` on SIGINT and SIGTERM. Returns how: ``"loop"`` (the loop's own signal
    handlers, Unix) or ``"signal"`` (plain handlers that hand over to the loop thread-safely, for event loops
    without signal support such as Windows' proactor loop, where ``add_signal_handler`` is not implemented)."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        return "loop"
    except NotImplementedError:
        pass

    def handler(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(stop)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return "signal"
