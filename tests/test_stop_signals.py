"""Ctrl-C and SIGTERM stop `record` and `emulate` cleanly, also on event loops without signal support."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from imu_gait.ble.mark_input import choose_mode
from imu_gait.commands.stop_signals import on_stop_signals


class _NoSignalLoop(asyncio.SelectorEventLoop):
    """An event loop like Windows' proactor loop: ``add_signal_handler`` is not implemented."""

    def add_signal_handler(self, sig, callback, *args):
        raise NotImplementedError


@pytest.fixture
def restore_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


async def _stopped_by(sig: int) -> tuple[str, float]:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    how = on_stop_signals(loop, stopped.set)
    t0 = loop.time()
    loop.call_later(0.05, os.kill, os.getpid(), sig)
    await asyncio.wait_for(stopped.wait(), 5.0)
    return how, loop.time() - t0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_loop_signal_handlers_stop(sig, restore_handlers):
    how, waited = asyncio.run(_stopped_by(sig))
    assert how == "loop"
    assert 0.04 <= waited < 1.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_plain_signal_handlers_stop_a_loop_without_signal_support(sig, restore_handlers):
    loop = _NoSignalLoop()
    try:
        how, waited = loop.run_until_complete(_stopped_by(sig))
    finally:
        loop.close()
    assert how == "signal"
    assert 0.04 <= waited < 1.0


def test_marks_are_read_from_a_console_without_job_control(monkeypatch):
    """Without os.tcgetpgrp (Windows) the console belongs to the program: marks are read, not switched off."""
    master, slave = os.openpty()
    try:
        # a pty that is not this process's controlling terminal: a background terminal on Unix
        assert choose_mode("auto", slave, live_view=True) == "off"
        monkeypatch.delattr(os, "tcgetpgrp")
        assert choose_mode("auto", slave, live_view=True) == "keys"
        assert choose_mode("lines", slave, live_view=True) == "lines"
    finally:
        os.close(master)
        os.close(slave)
