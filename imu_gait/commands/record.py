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
    return asyncio.run(_record(args, specs, backends(args.ble)))


async def _record(args: argparse.Namespace, specs: list, bleak_backends: tuple) -> int:
    import asyncio
    import signal
    import sys

    from rich.console import Console

    from imu_gait.ble.live import live_view, state_line
    from imu_gait.ble.recorder import Recorder
    from imu_gait.errors import ImuGaitError

    err = Console(stderr=True)
    interactive = sys.stderr.isatty() and not args.no_live
    recorder_cls, extra, board, cue_state = Recorder, {}, None, None
    if not args.no_analysis:  # online stride analysis: see imu_gait.ble.live_analysis
        from imu_gait.ble.live_analysis import AnalyzingRecorder, recording_view

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
        **extra,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, rec.stop)
    if interactive and board is not None:
        view = asyncio.create_task(recording_view(rec, board, err))
    else:
        view = asyncio.create_task(live_view(rec, err)) if interactive else None
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
    print(f"session: {rec.store.folder}")
    if not recorded:
        problems = "; ".join(f"{p}: {s.problem or s.state}" for p, s in rec.sensors.items())
        raise ImuGaitError(f"no sensor delivered data ({problems})")
    return 0


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
        if not u.final:  # the foot part, knee columns follow
            return
        if cue is not None and cue.update(u.side, u.row.get(cue.rule.metric, float("nan"))):
            state["fired"] += 1
            board.cue_text = (
                f"CUE ({player.play()}): {u.side} {cue.rule} at stride {u.row['stride']}"
            )
            if not interactive:
                print(board.cue_text, file=sys.stderr, flush=True)
        if not interactive:
            print(stride_line(u), file=sys.stderr, flush=True)

    return board, on_stride, state
