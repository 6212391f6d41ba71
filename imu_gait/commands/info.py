"""`imu-gait info SESSION`: what is in a session, and what looks wrong."""

from __future__ import annotations

import argparse
import json

HELP = "sensors, duration, effective rates, gaps, saturation and warnings of a session"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", help="session folder")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    from imu_gait.session import load_session
    from imu_gait.session_info import describe_session

    report = describe_session(load_session(args.session))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    _print_report(report)
    return 0


def _gyro_line(sensors: dict) -> str:
    """One line: which gyroscopes agree with their accelerometers (imu_gait.pipeline.frame_check)."""
    by: dict[str, list[str]] = {}
    for p, s in sensors.items():
        by.setdefault((s.get("gyro_check") or {}).get("verdict") or "undetermined", []).append(p)
    parts = []
    if by.get("mismatch"):
        parts.append(f"[bold red]WRONG {', '.join(by['mismatch'])}[/] (see the warnings)")
    if by.get("consistent"):
        parts.append(f"ok {', '.join(by['consistent'])}")
    if by.get("undetermined"):
        parts.append(
            f"cannot tell {', '.join(by['undetermined'])} (too little turning between rests)"
        )
    return "gyroscope vs accelerometer: " + "; ".join(parts)


def _print_report(r: dict) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(
        f"[bold]{r['path']}[/]  subject [cyan]{r['subject']}[/]  condition {r['condition'] or '-'}  "
        f"activity {r['activity'] or '-'}  duration {r['duration_s']:.1f} s"
    )
    if r["source"]:
        src = r["source"]
        con.print(f"source: {src.get('format', '')} {src.get('attribution', '')}".rstrip())
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in ("placement", "family"):
        table.add_column(name, no_wrap=True)
    for name in ("samples", "s", "Hz", "gaps", "clip a/g", "|g| rest"):
        table.add_column(name, justify="right", no_wrap=True)
    for p, s in r["sensors"].items():
        table.add_row(
            p,
            s["family"][:10],
            str(s["samples"]),
            f"{s['duration_s']:.1f}",
            f"{s['rate_hz']:.1f}",
            f"{len(s['gaps'])}/{s['missing_s']:.2f}s" if s["gaps"] else "0",
            f"{s['saturated_acc']}/{s['saturated_gyr']}",
            f"{s['gravity_at_rest']:.2f}",
        )
    con.print(table)
    con.print(_gyro_line(r["sensors"]), highlight=False)
    if r["calibration"].get("static"):
        a, b = r["calibration"]["static"]
        con.print(f"static calibration: {a:.1f}-{b:.1f} s")
    for w in r["warnings"]:
        con.print(f"[yellow]warning:[/] {w}")
    if not r["warnings"]:
        con.print("[green]no warnings[/]")
