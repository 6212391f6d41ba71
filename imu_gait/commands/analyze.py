"""`imu-gait analyze SESSION -o DIR`: strides, curves, summary, quality and figures of a session."""

from __future__ import annotations

import argparse

HELP = "analyse a session: strides.csv, curves.csv, summary.csv, quality.json and figures"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", help="session folder")
    p.add_argument("-o", "--output", required=True, help="output folder (created)")
    p.add_argument(
        "--mounting",
        action="append",
        default=[],
        metavar="PLACEMENT=PRESET",
        help="declare a known sensor mounting instead of estimating it (repeatable), e.g. left_foot=aligned",
    )
    p.add_argument(
        "--knee-calibration",
        metavar="SRC",
        help="reuse the knee calibration of an earlier analysis of the same strapping (its output folder or "
        "quality.json) instead of estimating one, e.g. from a walking session for a squat-only session",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")


def parse_mountings(items: list[str]) -> dict[str, str]:
    """``PLACEMENT=PRESET`` items -> dict, checked against the placements and the known presets."""
    from imu_gait.errors import UsageError
    from imu_gait.pipeline.calibration import MOUNTING_PRESETS
    from imu_gait.session import check_placement

    out = {}
    for item in items:
        placement, sep, preset = item.partition("=")
        if not sep or not preset:
            raise UsageError(f"--mounting expects PLACEMENT=PRESET, got {item!r}")
        check_placement(placement)
        if preset not in MOUNTING_PRESETS:
            raise UsageError(
                f"unknown mounting preset {preset!r}; expected one of: {', '.join(MOUNTING_PRESETS)}"
            )
        out[placement] = preset
    return out


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from imu_gait.pipeline.analysis import analyze, write_analysis
    from imu_gait.session import load_session

    mounting = parse_mountings(args.mounting)
    session = load_session(args.session)
    knee_calibration = None
    if args.knee_calibration:
        from imu_gait.knee_calibration import check_knee_calibration, load_knee_calibration

        knee_calibration = load_knee_calibration(args.knee_calibration)
        # a mismatch fails here, before the work
        check_knee_calibration(knee_calibration, session.sensors, session.subject)
    con = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=con,
        transient=True,
    ) as bar:
        task = bar.add_task("analysing", total=1.0)

        def progress(step: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=step)

        result = analyze(
            session, mounting=mounting, progress=progress, knee_calibration=knee_calibration
        )
        bar.update(task, description="writing files")
        write_analysis(result, args.output, figures=not args.no_figures)
    out = Console()
    for line in summary_lines(result):
        out.print(line, highlight=False, soft_wrap=True)
    for w in result.quality.get("warnings", []):
        con.print(f"[yellow]warning:[/] {w}", highlight=False)
    out.print(f"written to {args.output}", highlight=False)
    return 0


def summary_lines(result) -> list[str]:
    """One line per side: strides, activities, speed, stride length, eversion excursion and velocity."""
    s = result.strides
    if len(s) == 0:
        return ["no strides found"]
    lines = []
    for side, g in s.groupby("side", sort=True):
        acts = ", ".join(f"{n} {a}" for a, n in g["activity"].value_counts().items())
        ok = g[g["quality"] == "ok"]
        lines.append(
            f"{side}: {len(g)} strides ({acts}; {len(ok)} ok), "
            f"speed {g['speed'].median():.2f} m/s, stride length {g['stride_length'].median():.2f} m, "
            f"eversion excursion {g['eversion_excursion'].median():.1f} deg, "
            f"peak eversion velocity {g['eversion_velocity_peak'].median():.0f} deg/s"
        )
    return lines
