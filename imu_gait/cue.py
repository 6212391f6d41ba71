"""Gait-retraining cue: a sound or terminal signal when a stride metric passes a threshold N strides in a row.

Rule syntax (command line ``--cue``): ``METRIC>THRESHOLD:N`` or ``METRIC<THRESHOLD:N``, e.g.
``knee_abduction_peak>6:3`` (peak knee valgus above 6 deg for 3 strides in a row) or
``eversion_excursion>12:2``. ``:N`` may be left out (N = 1). The count runs per side; after a cue it starts
again, so a persisting fault cues every N strides. Strides without the metric (NaN) neither count nor reset.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imu_gait.errors import UsageError

_RULE = re.compile(r"^\s*([a-z_]+)\s*([<>])\s*(-?\d+(?:\.\d+)?)\s*(?::\s*(\d+))?\s*$")


@dataclass(frozen=True)
class CueRule:
    """Cue when ``metric`` is above (``op`` '>') or below ('<') ``threshold`` for ``strides`` strides in a row."""

    metric: str
    op: str
    threshold: float
    strides: int = 1

    def passes(self, value: float) -> bool:
        return value > self.threshold if self.op == ">" else value < self.threshold

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}:{self.strides}"


def parse_cue(text: str, known: tuple[str, ...] | None = None) -> CueRule:
    """Parse ``METRIC>THRESHOLD:N``; ``known``: the metric names allowed (UsageError otherwise)."""
    m = _RULE.match(text)
    if not m:
        raise UsageError(
            f"--cue {text!r}: expected METRIC>THRESHOLD:N or METRIC<THRESHOLD:N, "
            "e.g. knee_abduction_peak>6:3"
        )
    metric, op, thr, n = m.group(1), m.group(2), float(m.group(3)), int(m.group(4) or 1)
    if known is not None and metric not in known:
        raise UsageError(f"--cue: unknown metric {metric!r}; expected one of: {', '.join(known)}")
    if n < 1:
        raise UsageError(f"--cue {text!r}: the number of strides must be at least 1")
    return CueRule(metric, op, thr, n)


@dataclass
class CueTracker:
    """Counts consecutive passing strides per side; :meth:`update` says when to cue (pure logic, no I/O)."""

    rule: CueRule
    runs: dict[str, int] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)  # per side the last stride number counted

    def update(self, side: str, value: float, stride: int | None = None) -> bool:
        """Add one stride of ``side`` with the metric ``value``; True when the cue fires now.

        With ``stride`` (its number), a stride counts once, with the first update that has the metric: the
        live analysis emits a stride's metrics early (provisional knee columns within 0.3 s of its end) and
        its final row later, and the cue must not wait for the final row nor count a stride twice."""
        if value is None or not math.isfinite(value):
            return False
        if stride is not None:
            if stride <= self.counted.get(side, -1):
                return False
            self.counted[side] = stride
        if not self.rule.passes(value):
            self.runs[side] = 0
            return False
        self.runs[side] = self.runs.get(side, 0) + 1
        if self.runs[side] >= self.rule.strides:
            self.runs[side] = 0
            return True
        return False


def tone_wav(
    path: str | Path, freq_hz: float = 880.0, duration_s: float = 0.15, rate: int = 22050
) -> Path:
    """Write a short sine beep (16-bit mono WAV, 10 ms fade in/out) and return its path."""
    n = int(duration_s * rate)
    t = np.arange(n) / rate
    env = np.minimum(1.0, np.minimum(t, duration_s - t) / 0.01)
    x = (0.5 * env * np.sin(2 * np.pi * freq_hz * t) * 32767).astype("<i2")
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


class CuePlayer:
    """Plays the cue: the beep through a command-line player when one exists (``sound=True``), else the
    terminal bell."""

    PLAYERS = ("paplay", "aplay", "afplay", "play")

    def __init__(self, sound: bool = True) -> None:
        self.player = next((p for p in self.PLAYERS if shutil.which(p)), None) if sound else None
        self.wav: Path | None = None
        if self.player:
            self.wav = tone_wav(Path(tempfile.mkdtemp(prefix="imu-gait-cue-")) / "cue.wav")

    def play(self) -> str:
        """Signal once; returns 'sound' or 'bell'."""
        if self.player and self.wav:
            try:
                subprocess.Popen(
                    [self.player, str(self.wav)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                return "sound"
            except OSError:
                pass
        sys.stdout.write("\a")
        sys.stdout.flush()
        return "bell"
