"""`imu-gait replay SESSION [--speed 1|N|max] [-o DIR]`: a saved session through the live pipeline."""

from __future__ import annotations

import argparse
import math

HELP = "replay a saved session through the live pipeline (live view, per-stride output)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", help="session folder")
    p.add_argument(
        "--speed",
        default="1",
        help="1 = real time (default), N = N times faster, max = as fast as possible",
    )
    p.add_argument("-o", "--output", help="write strides.csv and curves.csv here (created)")
    p.add_argument(
        "--source",
        choices=("auto", "raw", "samples"),
        default="auto",
        help="raw frame log (through the sensor decoders) or decoded samples; auto: raw when present",
    )
    p.add_argument(
        "--calibration",
        choices=("live", "session"),
        default="session",
        help="session (default): the calibration `imu-gait analyze` estimates from the whole session, so the "
        "strides are analyze's; live: calibrate from the first 20 s, as the live view did while recording",
    )
    p.add_argument(
        "--knee-calibration",
        metavar="SRC",
        help="use the knee calibration of an earlier analysis of the same strapping (its output folder or "
        "quality.json) instead of calibrating the knees from this session",
    )
    p.add_argument("--plot", action="store_true", help="a live plot window, redrawn per stride")
    p.add_argument(
        "--cue",
        metavar="METRIC>THRESHOLD:N",
        help="signal when METRIC passes THRESHOLD for N strides in a row, e.g. knee_abduction_peak>6:3",
    )
    p.add_argument("--no-sound", action="store_true", help="cue with the terminal bell only")
    p.add_argument(
        "--no-knee",
        action="store_true",
        help="skip the knee columns (provisional soon after each stride, final 10-15 s later)",
    )
    p.add_argument(
        "--rolling", type=int, default=10, help="strides in the rolling means (default 10)"
    )


def parse_speed(text: str) -> float:
    """'max' -> inf; a positive number otherwise (UsageError)."""
    from imu_gait.errors import UsageError

    if text.strip().lower() == "max":
        return math.inf
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not (v > 0 and math.isfinite(v)):
        raise UsageError(f"--speed {text!r}: expected a positive number or 'max'")
    return v


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.live import Live

    from imu_gait.cue import CuePlayer, CueTracker, parse_cue
    from imu_gait.live_strides import LivePlot, StrideBoard, stride_line
    from imu_gait.pipeline.analysis import STRIDE_COLUMNS
    from imu_gait.replay import analyzer_for, replay
    from imu_gait.session import load_session

    speed = parse_speed(args.speed)
    numeric = tuple(c for c in STRIDE_COLUMNS if c not in ("side", "activity", "quality"))
    cue = CueTracker(parse_cue(args.cue, numeric)) if args.cue else None
    session = load_session(args.session)
    saved_knee = None
    if args.knee_calibration and not args.no_knee:
        from imu_gait.knee_calibration import load_knee_calibration

        saved_knee = load_knee_calibration(args.knee_calibration)
    analyzer = analyzer_for(
        session, calibration=args.calibration, saved_knee=saved_knee, knee=not args.no_knee
    )
    out = Console()
    err = Console(stderr=True)
    board = StrideBoard(f"imu-gait replay  {Path(args.session).name}", rolling=args.rolling)
    plot = LivePlot() if args.plot else None
    player = CuePlayer(sound=not args.no_sound) if cue else None
    interactive = out.is_terminal

    live = Live(board.render(analyzer), console=out, refresh_per_second=4) if interactive else None

    def on_update(u) -> None:
        board.add(u)
        # the cue acts on the first update with its metric (provisional ones come within 0.3 s of a stride's end)
        value = u.row.get(cue.rule.metric, float("nan")) if cue is not None else None
        if cue is not None and cue.update(u.side, value, stride=u.row["stride"]):
            how = player.play()
            board.cue_text = f"CUE ({how}): {u.side} {cue.rule} at stride {u.row['stride']}"
            if not interactive:
                out.print(board.cue_text, highlight=False)
        if not u.final:  # an early part of the stride: shown, not counted in the means
            if live is not None:
                live.update(board.render(analyzer))
            return
        if plot is not None:
            plot.add(u)
        if live is not None:
            live.update(board.render(analyzer))
        else:
            out.print(stride_line(u), highlight=False, soft_wrap=True)

    last_tick = [0.0]

    def on_tick(t: float) -> None:
        board.now = t
        if live is not None and t - last_tick[0] >= 0.25:
            last_tick[0] = t
            live.update(board.render(analyzer))

    if live is not None:
        live.start()
    try:
        source = replay(
            session, analyzer, speed=speed, source=args.source, on_update=on_update, on_tick=on_tick
        )
    except KeyboardInterrupt:
        source = "interrupted"
        for u in analyzer.finish():
            on_update(u)
    finally:
        if live is not None:
            live.update(board.render(analyzer))
            live.stop()
    strides, curves = analyzer.strides, analyzer.curves
    if args.output:
        folder = Path(args.output)
        folder.mkdir(parents=True, exist_ok=True)
        strides.to_csv(folder / "strides.csv", index=False, float_format="%.6g")
        curves.to_csv(folder / "curves.csv", index=False, float_format="%.6g")
    for w in analyzer.warnings:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    counts = ", ".join(
        f"{n} {side}" for side, n in strides["side"].value_counts().sort_index().items()
    )
    out.print(
        f"replayed from {source}: {len(strides)} strides ({counts or 'none'})"
        + (f", written to {args.output}" if args.output else ""),
        highlight=False,
    )
    return 0
