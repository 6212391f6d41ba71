"""`imu-gait batch ROOT -o OUT [--scheduler ADDRESS] [--workers N]`: analyse every session under ROOT on Dask."""

from __future__ import annotations

import argparse

HELP = "analyse every session under a folder on a Dask cluster: Parquet datasets of strides and summaries"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("root", help="folder searched (recursively) for session folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (created)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (used as it is); "
        "default: a local cluster of worker processes",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to keep trying to reach --scheduler (default 30)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: number of CPUs), one thread each",
    )
    p.add_argument(
        "--mounting",
        action="append",
        default=[],
        metavar="PLACEMENT=PRESET",
        help="declare a known sensor mounting for every session (repeatable), as in `imu-gait analyze`",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="analyse again unchanged sessions whose last attempt failed",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="analyse every session again (e.g. after changing the analysis code in a checkout)",
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from imu_gait.batch import BatchSettings, SessionResult, run_batch
    from imu_gait.commands.analyze import parse_mountings
    from imu_gait.errors import UsageError

    if args.scheduler and args.workers is not None:
        raise UsageError(
            "--workers sets up a local cluster; it cannot be combined with --scheduler"
        )
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    settings = BatchSettings(mounting=parse_mountings(args.mounting))
    con = Console(stderr=True)
    counts = {"done": 0, "failed": 0, "remaining": 0}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(
            "[green]{task.fields[done]} done[/] · [red]{task.fields[failed]} failed[/] · "
            "{task.fields[remaining]} remaining"
        ),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=con,
        transient=False,
    ) as bar:
        task = bar.add_task("finding sessions", total=None, done=0, failed=0, remaining="?")

        def on_plan(to_run: int, skipped: int) -> None:
            counts["remaining"] = to_run
            desc = f"analysing ({skipped} unchanged, skipped)" if skipped else "analysing"
            bar.update(task, total=to_run, description=desc, remaining=to_run)

        def progress(result: SessionResult) -> None:
            counts["done" if result.status == "ok" else "failed"] += 1
            counts["remaining"] -= 1
            bar.update(task, advance=1, **counts)
            if result.status != "ok":
                bar.console.print(
                    f"[red]failed:[/] {result.session}: {result.error_type}: {result.message}",
                    highlight=False,
                )

        def on_connect(link: str) -> None:
            if link:
                bar.console.print(f"Dask dashboard: {link}", highlight=False)

        report = run_batch(
            args.root,
            args.output,
            scheduler=args.scheduler,
            workers=args.workers,
            settings=settings,
            retry_failed=args.retry_failed,
            force=args.force,
            progress=progress,
            on_plan=on_plan,
            on_connect=on_connect,
            connect_timeout=args.connect_timeout,
        )
    skipped = f"{report.skipped} unchanged (skipped"
    skipped += f", {report.skipped_failed} of them failed before)" if report.skipped_failed else ")"
    print(
        f"{report.found} sessions: {report.analysed} analysed ({report.strides} strides), "
        f"{report.failed} failed, {skipped} in {report.seconds:.1f} s; results in {args.output}"
    )
    if not report.found:
        raise UsageError(f"{args.root}: no session folders (with session.json) found")
    if report.failed:
        print(
            f"imu-gait batch: {report.failed} session(s) failed; see {Path(args.output) / 'failures.csv'}",
            file=sys.stderr,
        )
        return 1
    return 0
