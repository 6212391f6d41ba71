"""`imu-gait import FORMAT FILE... -o DIR`: other tools' files -> a session folder."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "import other tools' files (gaitmap, metabase, dot, xsens, movesense, ngimu, ximu, csv) as a session"
PROGRESS_MIN_BYTES = 20_000_000  # show a progress bar when the input is at least this large


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("format", help="gaitmap, metabase, dot, xsens, movesense, ngimu, ximu or csv")
    p.add_argument("files", nargs="+", metavar="FILE", help="input file(s)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="session folder to create")
    p.add_argument(
        "--placement",
        action="append",
        default=[],
        metavar="P|SOURCE=P",
        help="placement per sensor in file order, or SOURCE=P for a named sensor (repeatable)",
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="HZ",
        help="nominal sample rate (needed where files have no time)",
    )
    p.add_argument("--subject", default="anonymous", help="subject pseudonym (never a real name)")
    p.add_argument("--condition", default="", help="condition, e.g. pre or post")
    p.add_argument("--activity", default="", help="activity of the session, e.g. walk")
    p.add_argument(
        "--static",
        metavar="T0,T1",
        help="standing still between T0 and T1 s (after import): the static calibration window",
    )
    p.add_argument(
        "--attribution", default="", help="where the data come from (stored in session.json)"
    )
    p.add_argument(
        "--acc-unit", choices=["g", "m/s^2"], help="accelerometer unit (overrides the format's)"
    )
    p.add_argument(
        "--gyr-unit", choices=["deg/s", "rad/s"], help="gyroscope unit (overrides the format's)"
    )
    g = p.add_argument_group("csv format")
    g.add_argument(
        "--time-column", help="name of the time column (default: recognised from the header)"
    )
    g.add_argument("--time-unit", choices=["s", "ms"], help="unit of the time column")
    g.add_argument(
        "--acc-columns",
        metavar="X,Y,Z",
        help="accelerometer column names; a leading - negates that axis (write --acc-columns=-ax,ay,az)",
    )
    g.add_argument(
        "--gyr-columns",
        metavar="X,Y,Z",
        help="gyroscope column names; a leading - negates that axis, e.g. --gyr-columns=-gx,-gy,-gz when "
        "imu-gait info says the gyroscope agrees with its axes taken as -x,-y,-z",
    )


def _csv_options(args: argparse.Namespace) -> dict:
    opts = {
        "time_column": args.time_column,
        "time_unit": args.time_unit,
        "acc_columns": args.acc_columns.split(",") if args.acc_columns else None,
        "gyr_columns": args.gyr_columns.split(",") if args.gyr_columns else None,
    }
    return {k: v for k, v in opts.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    from imu_gait.errors import UsageError
    from imu_gait.importers import FORMATS, import_files
    from imu_gait.session import save_session

    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r}; expected one of: {', '.join(FORMATS)}")
    out = Path(args.output)
    if out.exists():
        raise UsageError(f"{out}: already exists (choose another output folder or remove it)")
    static = _static_window(args.static) if args.static else None
    csv_opts = _csv_options(args)
    if csv_opts and args.format != "csv":
        raise UsageError(
            "--time-column/--time-unit/--acc-columns/--gyr-columns apply to the csv format only"
        )
    kwargs = dict(
        placements=args.placement,
        rate_hz=args.rate,
        acc_unit=args.acc_unit,
        gyr_unit=args.gyr_unit,
        **csv_opts,
    )
    session = _with_progress(lambda: import_files(args.format, args.files, **kwargs), args.files)
    session.subject = args.subject
    session.condition = args.condition
    session.activity = args.activity
    if args.attribution:
        session.source["attribution"] = args.attribution
    if static is not None:
        end = max(d.t[-1] for d in session.data.values())
        if static[1] > end + 1e-9:
            raise UsageError(f"--static {args.static}: the session ends at {end:.2f} s")
        session.calibration["static"] = static
    save_session(session, out)
    _print_summary(session, out)
    return 0


def _static_window(text: str) -> list[float]:
    from imu_gait.errors import UsageError

    try:
        t0, t1 = (float(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--static {text}: expected T0,T1 in seconds, e.g. 0,2.5") from None
    if not 0 <= t0 < t1:
        raise UsageError(f"--static {text}: expected 0 <= T0 < T1")
    return [t0, t1]


def _with_progress(work, files: list[str]):
    """Run ``work()``; with a progress bar over the bytes read when the input is large."""
    from imu_gait.importers.common import ON_FILE_READ

    total = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    if total < PROGRESS_MIN_BYTES:
        return work()
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), transient=True) as bar:
        task = bar.add_task("import", total=total)
        token = ON_FILE_READ.set(lambda _path, n: bar.advance(task, n))
        try:
            return work()
        finally:
            ON_FILE_READ.reset(token)


def _print_summary(session, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    durations = [d.t[-1] for d in session.data.values()]
    con.print(
        f"[bold]{out}[/]: {session.source['format']} import, {len(session.data)} sensor(s), "
        f"{max(durations):.1f} s"
    )
    table = Table(
        "placement", "source", "samples", "start s", "duration s", "nominal Hz", "effective Hz"
    )
    for p in session.placements:
        d, info = session.data[p], session.sensors[p]
        table.add_row(
            p,
            str(info.extra.get("source_sensor", "")),
            str(len(d)),
            f"{d.t[0]:.3f}",
            f"{d.duration:.2f}",
            f"{info.rate_hz:g}" if info.rate_hz else "-",
            f"{info.extra.get('effective_rate_hz', d.rate_hz):.2f}",
        )
    con.print(table)
    for w in session.source.get("warnings", []):
        con.print(f"[yellow]warning:[/] {w}", highlight=False)
