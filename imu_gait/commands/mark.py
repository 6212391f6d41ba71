"""`imu-gait mark SESSION`: list, add or remove the marks of a saved session (calibration window, segments,
markers)."""

from __future__ import annotations

import argparse

HELP = "list or edit a saved session's marks: the standing calibration, task segments (e.g. squat left), markers"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", help="session folder")
    edit = p.add_mutually_exclusive_group()
    edit.add_argument(
        "--segment",
        nargs=3,
        metavar=("LABEL", "T0", "T1"),
        help="add a segment from T0 to T1 s (session clock), e.g. --segment squat 54 72.4; "
        "labels: walk, stairs_up, stairs_down, run, squat, step_down, stand, turn, or free text",
    )
    edit.add_argument(
        "--calibration",
        nargs=2,
        type=float,
        metavar=("T0", "T1"),
        help="set the standing calibration window",
    )
    edit.add_argument("--marker", type=float, metavar="T", help="add a plain marker at T s")
    edit.add_argument(
        "--remove", type=int, metavar="N", help="remove event N (as listed without options)"
    )
    p.add_argument(
        "--side",
        choices=("left", "right"),
        help="the working leg of a --segment (squat, step_down)",
    )
    p.add_argument("--note", default="", help="a note for --marker")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from imu_gait import session_marks as sm
    from imu_gait.ble.store import RecordingLock
    from imu_gait.errors import UsageError
    from imu_gait.session import load_session, write_json_atomic

    folder = Path(args.session)
    if args.side and not args.segment:
        raise UsageError("--side goes with --segment")
    if args.note and args.marker is None:
        raise UsageError("--note goes with --marker")
    session = load_session(folder)  # checks the folder is a whole session
    meta_path = folder / "session.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    starts = [float(d.t[0]) for d in session.data.values() if d.t.size]
    ends = [float(d.t[-1]) for d in session.data.values() if d.t.size]
    span = (min(starts), max(ends)) if starts else (0.0, 0.0)
    notes: list[str] = []
    if args.segment:
        label, t0, t1 = args.segment
        try:
            t0, t1 = float(t0), float(t1)
        except ValueError:
            raise UsageError(f"--segment {label} {t0} {t1}: T0 and T1 are seconds") from None
        new, notes = sm.add_segment(meta, label, t0, t1, span, args.side)
        done = f"added {sm.describe_event(new['events'][_last_added(meta, new)])}"
    elif args.calibration:
        new = sm.set_calibration(meta, *args.calibration, span)
        done = "calibration set to {:.2f}-{:.2f} s".format(*new["calibration"]["static"])
    elif args.marker is not None:
        new = sm.add_marker(meta, args.marker, span, args.note)
        done = f"added {sm.describe_event(new['events'][_last_added(meta, new)])}"
    elif args.remove is not None:
        new, removed = sm.remove_event(meta, args.remove)
        done = f"removed {sm.describe_event(removed)}"
    else:
        for line in sm.describe_marks(meta):
            print(line)
        return 0
    lock = RecordingLock(folder)
    if not lock.acquire():
        raise UsageError(f"{folder}: a recording is still writing this session; mark it afterwards")
    try:
        write_json_atomic(new, meta_path)
    finally:
        lock.release()
    print(done)
    for n in notes:
        print(f"note: {n}")
    return 0


def _last_added(old: dict, new: dict) -> int:
    """Index in ``new['events']`` of the one event not in ``old['events']``."""
    before = old.get("events") or []
    return next(k for k, e in enumerate(new["events"]) if e not in before)
