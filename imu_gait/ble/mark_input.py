"""Marks from stdin while recording, without blocking the BLE event loop.

A daemon thread reads the file descriptor (``os.read``: no Python-level lock that could hang interpreter shutdown),
stamps each key or line with the session clock the moment it is read, and hands the parsed command to the event
loop. Two modes:

- ``keys``: single keys in the live view; the terminal is put in cbreak mode (no line buffering, no echo; Ctrl-C
  still interrupts) and restored on exit, also after an exception or Ctrl-C. ``/`` starts typing a free-text
  label, Enter starts a segment with it, Esc cancels.
- ``lines``: one command per line (:func:`imu_gait.ble.marks.parse_line`), for scripts and pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator

from imu_gait.ble.marks import Command, MarkError, parse_key, parse_line

MODES = ("auto", "keys", "lines", "off")
OnCommand = Callable[[Command, float], None]
OnError = Callable[[str], None]


def _foreground(fd: int) -> bool:
    """Whether this process may read the terminal ``fd`` (a background job reading it would be stopped)."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except AttributeError:  # no job control (Windows): a console program owns its console
        return True
    except OSError:
        return False


def choose_mode(requested: str, fd: int, live_view: bool) -> str:
    """The input mode for ``requested`` (one of :data:`MODES`): ``auto`` reads keys when stdin is the
    foreground terminal and the live view runs, lines from a terminal without the live view or from a pipe or
    file, nothing when the process runs in the background."""
    try:
        tty = os.isatty(fd)
    except OSError:
        return "off"
    if requested == "off":
        return "off"
    if tty and not _foreground(fd):
        return "off"
    if requested == "auto":
        keys_possible = tty and live_view and _has_termios()
        return "keys" if keys_possible else "lines"
    if requested == "keys" and not (tty and _has_termios()):
        return "lines"
    return requested


def _has_termios() -> bool:
    try:
        import termios  # noqa: F401
        import tty  # noqa: F401
    except ImportError:  # Windows
        return False
    return True


@contextlib.contextmanager
def cbreak(fd: int) -> Iterator[None]:
    """The terminal ``fd`` in cbreak mode for the duration of the block, restored afterwards whatever happens."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class MarkInput:
    """Reads marks from ``fd`` in ``mode`` (``keys`` or ``lines``) and calls ``on_command(command, t)`` or
    ``on_error(message)`` in the event loop; ``clock()`` is the session clock. ``typing`` is the free-text
    label being typed in keys mode (None when not typing)."""

    def __init__(
        self,
        fd: int,
        mode: str,
        clock: Callable[[], float],
        on_command: OnCommand,
        on_error: OnError,
    ) -> None:
        if mode not in ("keys", "lines"):
            raise ValueError(f"mode {mode!r}")
        self.fd, self.mode, self.clock = fd, mode, clock
        self.on_command, self.on_error = on_command, on_error
        self.typing: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = ""

    def start(self) -> None:
        """Start reading (call inside the running event loop)."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name="mark-input", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                return
            if not chunk:  # end of input
                if self.mode == "lines" and self._pending.strip():
                    self._line(self._pending, self.clock())
                return
            t = self.clock()
            text = chunk.decode("utf-8", "replace")
            if self.mode == "keys":
                self._keys(text, t)
            else:
                self._pending += text
                *lines, self._pending = self._pending.split("\n")
                for line in lines:
                    self._line(line, t)

    def _line(self, line: str, t: float) -> None:
        try:
            cmd = parse_line(line)
        except MarkError as e:
            self._post(self.on_error, str(e))
            return
        if cmd is not None:
            self._post(self.on_command, cmd, t)

    def _keys(self, text: str, t: float) -> None:
        if "\x1b" in text and self.typing is None:
            text = text[
                : text.index("\x1b")
            ]  # an escape sequence (arrow keys, ...) arrives whole: drop it
        for ch in text:
            if self.typing is not None:
                self._type(ch, t)
                continue
            if ch == "/":
                self.typing = ""
                continue
            cmd = parse_key(ch)
            if cmd is not None:
                self._post(self.on_command, cmd, t)
            elif ch.isprintable():  # e.g. Caps Lock on: say so rather than ignore it silently
                self._post(self.on_error, f"key {ch!r} is not a mark")

    def _type(self, ch: str, t: float) -> None:
        if ch in ("\r", "\n"):
            label, self.typing = (self.typing or "").strip(), None
            if label:
                self._post(self.on_command, Command("segment", label), t)
        elif ch == "\x1b":
            self.typing = None
        elif ch in ("\x7f", "\b"):
            self.typing = (self.typing or "")[:-1]
        elif ch.isprintable():
            self.typing = (self.typing or "") + ch

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(fn, *args)


def stdin_fd() -> int | None:
    """File descriptor of stdin, or None when there is none (e.g. ``pythonw``)."""
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError, AttributeError):
        return None
