"""`imu-gait compare --pre A [A ...] --post B [B ...] -o DIR`: pre/post statistics, figures and the report."""

from __future__ import annotations

import argparse

HELP = "compare sessions before and after (statistics, SPM, figures, report.html and report.pdf)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pre",
        nargs="+",
        required=False,
        metavar="DIR",
        help="analysis output folders or session folders recorded before",
    )
    p.add_argument(
        "--post",
        nargs="+",
        required=False,
        metavar="DIR",
        help="analysis output folders or session folders recorded after",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results")
    p.add_argument(
        "--between-session-sd",
        action="append",
        default=[],
        metavar="METRIC=SD",
        help="known day-to-day SD of a metric (its units), added to the detectable change when "
        "there is one session per condition; repeatable",
    )
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-pdf", action="store_true", help="skip report.pdf")
    p.add_argument(
        "--title", default="Gait comparison: before vs after", help="report title (first line)"
    )
    # group statistics over an `imu-gait batch` output (imu_gait/commands/compare_cohort.py)
    from imu_gait.commands.compare_cohort import add_cohort_arguments

    add_cohort_arguments(p)


def _parse_sd(items: list[str]) -> dict[str, float]:
    from imu_gait.compare.metrics import METRICS, SQUAT_METRICS
    from imu_gait.errors import UsageError

    known = list(dict.fromkeys([*METRICS, *SQUAT_METRICS]))
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            sd = float(value)
        except ValueError:
            sd = float("nan")
        if not sep or not name or not sd >= 0:
            raise UsageError(f"--between-session-sd expects METRIC=SD with SD >= 0, got {item!r}")
        name = name.strip()
        if name not in known:
            raise UsageError(
                f"--between-session-sd: unknown metric {name!r}; one of {', '.join(known)}"
            )
        out[name] = sd
    return out


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from imu_gait.compare import CompareSettings, compare
    from imu_gait.errors import UsageError
    from imu_gait.report import write_report

    if args.n_boot < 100:
        raise UsageError("--n-boot must be at least 100")
    if args.cohort:  # group statistics over an `imu-gait batch` output
        from imu_gait.commands.compare_cohort import run_cohort

        return run_cohort(args, _parse_sd(args.between_session_sd))
    if not args.pre or not args.post:
        raise UsageError("compare needs --pre and --post (or --cohort OUT)")
    settings = CompareSettings(
        n_boot=args.n_boot, seed=args.seed, between_session_sd=_parse_sd(args.between_session_sd)
    )
    con = Console(stderr=True)
    with con.status("comparing..."):
        cmp = compare([Path(p) for p in args.pre], [Path(p) for p in args.post], settings)
    if not len(cmp.table):
        raise UsageError("nothing to compare: no usable strides or repetitions in the inputs")
    with con.status("writing figures and report..."):
        paths = write_report(cmp, Path(args.output), title=args.title, pdf=not args.no_pdf)
    print_summary(cmp)
    print(f"report: {paths['html']}")
    return 0


def print_summary(cmp) -> None:
    """One line per primary outcome that could be judged."""
    from imu_gait.report import format_value as fv

    t = cmp.table[
        (cmp.table["role"] == "primary") & (cmp.table["n_pre"] > 0) & (cmp.table["n_post"] > 0)
    ]
    for _, r in t.iterrows():
        u = r["unit"]
        note = r.get("verdict_note", "")
        note = f" ({note})" if isinstance(note, str) and note else ""
        print(
            f"{r['activity']:<11} {r['side']:<5} {r['label']}: {fv(r['mean_pre'], u)} -> "
            f"{fv(r['mean_post'], u)}, change {fv(r['diff'], u)} [{fv(r['ci_low'], u)}, "
            f"{fv(r['ci_high'], u)}], MDC95 {fv(r['mdc95'], u)}: {r['verdict']}{note}"
        )
