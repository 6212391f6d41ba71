"""`imu-gait demo [-o DIR]`: analyse the shipped pre/post sample sessions and write the comparison report."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "analyse the shipped pre/post sample sessions (recordings/demo_pre, demo_post) and write the report"

DEMO_SESSIONS = ("demo_pre", "demo_post")


def default_recordings() -> Path:
    """The repository's recordings/ folder (the package is installed from a source checkout)."""
    return Path(__file__).resolve().parents[2] / "recordings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", default="imu-gait-demo", help="output folder (default: imu-gait-demo)"
    )
    p.add_argument(
        "--recordings",
        default=None,
        metavar="DIR",
        help="folder holding demo_pre/ and demo_post/ (default: the shipped recordings/)",
    )
    p.add_argument("--no-pdf", action="store_true", help="skip report.pdf")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from imu_gait.commands.analyze import summary_lines
    from imu_gait.commands.compare import print_summary
    from imu_gait.compare import compare
    from imu_gait.errors import UsageError
    from imu_gait.pipeline.analysis import analyze, write_analysis
    from imu_gait.report import write_report
    from imu_gait.session import load_session

    recordings = Path(args.recordings) if args.recordings else default_recordings()
    missing = [n for n in DEMO_SESSIONS if not (recordings / n / "session.json").is_file()]
    if missing:
        raise UsageError(
            f"{recordings}: sample sessions {', '.join(missing)} not found (pass --recordings DIR)"
        )
    out = Path(args.output)
    con = Console(stderr=True)
    analysed = []
    for name in DEMO_SESSIONS:
        with con.status(f"analysing {name}..."):
            result = analyze(load_session(recordings / name))
            write_analysis(result, out / name)
        con.print(f"[bold]{name}[/]", highlight=False)
        for line in summary_lines(result):
            con.print(f"  {line}", highlight=False, soft_wrap=True)
        analysed.append(out / name)
    with con.status("comparing and writing the report..."):
        cmp = compare([analysed[0]], [analysed[1]])
        paths = write_report(
            cmp,
            out,
            title="imu-gait demo: before and after a hip and foot strengthening programme",
            pdf=not args.no_pdf,
        )
    print_summary(cmp)
    print(f"report: {paths['html']}")
    return 0
