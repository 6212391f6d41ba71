"""`imu-gait record`: stream named BLE sensors into a crash-safe session folder."""

from __future__ import annotations

import argparse

HELP = "record named BLE sensors into a session folder (Ctrl-C stops cleanly)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-s",
        "--sensor",
        action="append",
        default=[],
        metavar="PLACEMENT=NAME_OR_ADDRESS",
        help="a sensor to record, e.g. left_foot=IMUGAIT-left_foot (repeat for each sensor)",
    )
    p.add_argument("-o", "--output", required=True, help="session folder to create")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="sampling rate in Hz (snapped to what each sensor can do)",
    )
    p.add_argument(
        "--ble",
        default=None,
        help="BLE stack: default (real sensors) or tcp-client:127.0.0.1:PORT "
        "(sensors of `imu-gait emulate`); also $IMU_GAIT_BLE",
    )
    p.add_argument("--subject", default="anonymous", help="subject pseudonym (no real names)")
    p.add_argument("--condition", default="", help="e.g. pre or post")
    p.add_argument("--activity", default="", help="e.g. walk")
    p.add_argument(
        "--find-timeout",
        type=float,
        default=10.0,
        help="seconds to look for a sensor before retrying",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="seconds allowed for one connection attempt",
    )
    p.add_argument(
        "--no-live", action="store_true", help="print state changes instead of the live table"
    )
    # --- marks while recording (imu_gait.ble.marks) ---
    p.add_argument(
        "--marks",
        choices=("auto", "keys", "lines", "off"),
        default="auto",
        help="marks from stdin: single keys in the live view (keys), one command per line (lines, e.g. from "
        "a pipe), or off; auto = keys in the live view on a terminal, else lines",
    )
    p.add_argument(
        "--calibrate-first",
        type=float,
        default=None,
        metavar="S",
        help="the first S seconds after every sensor streams are the standing calibration (the subject "
        "stands still; the view says so)",
    )
    # --- online stride analysis (imu_gait.ble.live_analysis) ---
    p.add_argument(
        "--no-analysis", action="store_true", help="record only, without live stride metrics"
    )
    p.add_argument(
        "--cue",
        metavar="METRIC>THRESHOLD:N",
        help="signal when METRIC passes THRESHOLD for N strides in a row, e.g. eversion_excursion>12:3",
    )
    p.add_argument("--no-sound", action="store_true", help="cue with the terminal bell only")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from imu_gait.ble.recorder import SensorSpec
    from imu_gait.ble.transport import backends
    from imu_gait.errors import UsageError

    if not args.sensor:
        raise UsageError(
            "name at least one sensor with -s PLACEMENT=NAME_OR_ADDRESS (see `imu-gait scan`)"
        )
    specs = [SensorSpec.parse(x) for x in args.sensor]
    if args.calibrate_first is not None and not args.calibrate_first > 0:
        raise UsageError("--calibrate-first: expected a positive number of seconds")
    return asyncio.run(_record(args, specs, backends(args.ble)))


async def _record(args: argparse.Namespace, specs: list, bleak_backends: tuple) -> int:
    import asyncio
    import sys

    from rich.console import Console

    from imu_gait.ble.live import state_line
    from imu_gait.ble.record_view import describe, record_view
    from imu_gait.ble.recorder import Recorder
    from imu_gait.commands.stop_signals import on_stop_signals
    from imu_gait.errors import ImuGaitError

    err = Console(stderr=True)
    interactive = sys.stderr.isatty() and not args.no_live
    recorder_cls, extra, board, cue_state = Recorder, {}, None, None
    if not args.no_analysis:  # online stride analysis: see imu_gait.ble.live_analysis
        from imu_gait.ble.live_analysis import AnalyzingRecorder

        board, on_stride, cue_state = _stride_output(args, interactive)
        recorder_cls, extra = AnalyzingRecorder, {"on_stride": on_stride}
    rec = recorder_cls(
        specs,
        args.output,
        rate_hz=args.rate,
        backends=bleak_backends,
        metadata={"subject": args.subject, "condition": args.condition, "activity": args.activity},
        find_timeout=args.find_timeout,
        connect_timeout=args.connect_timeout,
        on_change=None
        if interactive
        else (lambda s: print(state_line(s), file=sys.stderr, flush=True)),
        calibrate_first=args.calibrate_first,
        on_mark=None
        if interactive
        else (lambda m: print(f"mark: {describe(m)}", file=sys.stderr, flush=True)),
        **extra,
    )
    on_stop_signals(asyncio.get_running_loop(), rec.stop)
    status = {"message": ""}
    keys, terminal = _mark_input(args, rec, interactive, status)
    if args.calibrate_first and not interactive:
        print(
            f"calibration: stand still for {args.calibrate_first:g} s once every sensor streams",
            file=sys.stderr,
            flush=True,
        )
    view = asyncio.create_task(record_view(rec, err, keys, board, status)) if interactive else None
    with terminal:  # cbreak while recording in keys mode; restored on any exit
        if keys is not None:
            keys.start()
        try:
            await rec.run(args.duration)
        finally:
            if view is not None:
                view.cancel()
                await asyncio.gather(view, return_exceptions=True)
    recorded = rec.store.meta["sensors"]
    for p, s in rec.sensors.items():
        info = recorded.get(p)
        if info is None:
            print(f"{p}: no data ({s.problem or s.state})")
            continue
        print(
            f"{p}: {s.samples} samples from {info['name']} ({info['family']}), lost packets {s.lost_packets}, "
            f"gaps {len(s.gaps)}, reconnects {s.reconnects}"
        )
    if board is not None:
        n = len(rec.analyzer.rows)
        print(
            f"online analysis: {n} strides" + (f", {cue_state['fired']} cues" if cue_state else "")
        )
    book = rec.marks
    if args.calibrate_first and book.static is None:
        print(
            "warning: no standing calibration was made (not every sensor streamed)",
            file=sys.stderr,
        )
    if book.marks:
        cal = f"calibration {book.static[0]:.3f}-{book.static[1]:.3f} s, " if book.static else ""
        print(f"marks: {cal}{len(book.events)} segment(s)/marker(s)")
    print(f"session: {rec.store.folder}")
    if not recorded:
        problems = "; ".join(f"{p}: {s.problem or s.state}" for p, s in rec.sensors.items())
        raise ImuGaitError(f"no sensor delivered data ({problems})")
    return 0


def _mark_input(args: argparse.Namespace, rec, interactive: bool, status: dict) -> tuple:
    """The stdin reader for marks (None when off) and the terminal context (cbreak in keys mode)."""
    import contextlib
    import sys

    from imu_gait.ble.mark_input import MarkInput, cbreak, choose_mode, stdin_fd

    fd = stdin_fd()
    mode = "off" if fd is None else choose_mode(args.marks, fd, interactive)
    if mode == "off":
        return None, contextlib.nullcontext()

    def on_command(cmd, t: float) -> None:
        if rec.stopping:  # the recording has ended: its marks are closed
            return
        status["message"] = ""
        rec.mark(cmd, t)

    def on_error(message: str) -> None:
        status["message"] = message
        if not interactive:
            print(f"mark ignored: {message}", file=sys.stderr, flush=True)

    reader = MarkInput(fd, mode, rec.now, on_command, on_error)
    return reader, (cbreak(fd) if mode == "keys" else contextlib.nullcontext())


def _stride_output(args: argparse.Namespace, interactive: bool) -> tuple:
    """The stride board, the per-stride callback (board, cue, plain lines) and the cue counter."""
    import sys

    from imu_gait.cue import CuePlayer, CueTracker, parse_cue
    from imu_gait.live_strides import StrideBoard, stride_line
    from imu_gait.pipeline.analysis import STRIDE_COLUMNS

    board = StrideBoard(f"strides  {args.output}")
    numeric = tuple(c for c in STRIDE_COLUMNS if c not in ("side", "activity", "quality"))
    cue = CueTracker(parse_cue(args.cue, numeric)) if args.cue else None
    player = CuePlayer(sound=not args.no_sound) if cue else None
    state = {"fired": 0} if cue else None

    def on_stride(u) -> None:
        board.add(u)
        # the cue acts on the first update with its metric (within about 0.3 s of the stride's end)
        value = u.row.get(cue.rule.metric, float("nan")) if cue is not None else None
        if cue is not None and cue.update(u.side, value, stride=u.row["stride"]):
            state["fired"] += 1
            board.cue_text = (
                f"CUE ({player.play()}): {u.side} {cue.rule} at stride {u.row['stride']}"
            )
            if not interactive:
                print(board.cue_text, file=sys.stderr, flush=True)
        if not u.final:  # an early part of the stride; its final row follows
            return
        if not interactive:
            print(stride_line(u), file=sys.stderr, flush=True)

    return board, on_stride, state
