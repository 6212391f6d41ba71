"""`imu-gait finalize SESSION_DIR`: turn a recording that was killed into a normal session."""

from __future__ import annotations

import argparse

HELP = "finalize a recording that did not end cleanly (recorder killed): decode its raw logs, add its marks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "session", metavar="SESSION_DIR", help="session folder of the interrupted recording"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="also redo a finalized recording (decoded again from its raw logs)",
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from imu_gait.ble.recover import finalize_folder

    def progress(placement: str, size: int) -> None:
        print(
            f"decoding {placement} ({size / 1e6:.1f} MB of raw frames)", file=sys.stderr, flush=True
        )

    report = finalize_folder(args.session, force=args.force, progress=progress)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    for line in report_lines(report):
        print(line)
    return 0


def report_lines(report) -> list[str]:  # report: imu_gait.ble.recover.Report
    """The recovery report as text, one line per sensor, then the marks."""
    lines = []
    for p, r in report.sensors.items():
        if not r.samples:
            lines.append(f"{p}: nothing recovered ({r.problem})")
            continue
        torn = f", torn bytes dropped {r.dropped_bytes}" if r.dropped_bytes else ""
        lines.append(
            f"{p}: {r.samples} samples from the {r.source}, {r.t_first:.3f}-{r.t_last:.3f} s, "
            f"{r.frames} frames ({r.notifications} notifications){torn}, gaps {len(r.gaps)}"
        )
    marks = f"marks: {report.marks}"
    if report.calibration:
        marks += f", calibration {report.calibration[0]:.3f}-{report.calibration[1]:.3f} s"
    marks += f", {report.events} segment(s)/marker(s)"
    if report.closed_at_end:
        marks += f" ({', '.join(report.closed_at_end)} open at the crash: ended with the data)"
    if report.marks_dropped:
        marks += f", {report.marks_dropped} unreadable line(s) dropped"
    lines.append(marks)
    lines.extend(f"note: {p}" for p in report.problems)
    verb = "finalized again" if report.refinalized else "finalized"
    lines.append(f"session: {report.folder} ({verb})")
    return lines
