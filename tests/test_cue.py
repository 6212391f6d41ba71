"""The gait-retraining cue: rule parsing, the N-in-a-row logic per side, the generated beep."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from imu_gait.cue import CueRule, CueTracker, parse_cue, tone_wav
from imu_gait.errors import UsageError


def test_parse_rules() -> None:
    assert parse_cue("knee_abduction_peak>6:3") == CueRule("knee_abduction_peak", ">", 6.0, 3)
    assert parse_cue("eversion_excursion < -2.5") == CueRule("eversion_excursion", "<", -2.5, 1)
    for bad in ("knee>six:3", "knee_abduction_peak>=6:3", "knee_abduction_peak>6:0", ""):
        with pytest.raises(UsageError):
            parse_cue(bad)
    with pytest.raises(UsageError, match="unknown metric"):
        parse_cue("valgus>6:3", known=("knee_abduction_peak",))


def test_cue_fires_after_n_passing_strides_in_a_row_per_side() -> None:
    cue = CueTracker(parse_cue("knee_abduction_peak>6:3"))
    left = [7.0, 8.0, 5.0, 7.0, 7.5, 6.5, 9.0, 9.0, 9.0]
    fired = [cue.update("left", v) for v in left]
    # the run breaks at 5.0; 7, 7.5, 6.5 -> cue; counting restarts: 9, 9, 9 -> cue
    assert fired == [False, False, False, False, False, True, False, False, True]
    # the other side counts on its own
    assert [cue.update("right", v) for v in (7.0, 7.0)] == [False, False]
    assert cue.update("right", 7.0) is True
    # a missing metric neither counts nor breaks a run
    assert cue.update("left", 7.0) is False
    assert cue.update("left", float("nan")) is False
    assert cue.update("left", 7.0) is False
    assert cue.update("left", 7.0) is True
    # the threshold itself does not pass a '>' rule
    strict = CueTracker(CueRule("x", ">", 6.0, 1))
    assert strict.update("left", 6.0) is False
    below = CueTracker(CueRule("x", "<", 0.0, 2))
    assert [below.update("left", v) for v in (-1, -1)] == [False, True]


def test_tone_is_a_short_valid_wav(tmp_path) -> None:
    path = tone_wav(tmp_path / "cue.wav", freq_hz=1000.0, duration_s=0.2, rate=8000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    assert x.size == 1600
    assert 0.3 * 32767 < np.abs(x).max() <= 0.5 * 32767 + 1
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(x.size, 1 / 8000)[np.argmax(spectrum)] == pytest.approx(1000.0, abs=5.0)
    assert abs(x[0]) < 0.05 * 32767  # faded in: no click


def test_a_stride_counts_once_with_its_first_update_that_has_the_metric() -> None:
    """Live analysis emits a stride early (provisional) and again as its final row: the cue must fire on the
    early one and not count the final row again."""
    cue = CueTracker(parse_cue("knee_abduction_peak>6:2"))
    # stride 0: foot part without the metric, provisional knee columns, final row
    assert cue.update("left", float("nan"), stride=0) is False
    assert cue.update("left", 7.0, stride=0) is False
    # the final row of the same stride is not counted again
    assert cue.update("left", 7.2, stride=0) is False
    # the second stride in a row fires at its first value
    assert cue.update("left", 6.5, stride=1) is True
    assert cue.update("left", 6.5, stride=1) is False
    # a final row below the threshold for an already counted stride does not reset the run
    assert cue.update("right", 8.0, stride=0) is False
    assert cue.update("right", 2.0, stride=0) is False
    assert cue.update("right", 8.0, stride=1) is True
