"""`imu-gait compare --cohort OUT -o DIR`: group pre/post statistics over an `imu-gait batch` output.

Not a subcommand of its own: `imu_gait/commands/compare.py` hands over here when ``--cohort`` is given.
"""

from __future__ import annotations

import argparse


def add_cohort_arguments(p: argparse.ArgumentParser) -> None:
    """The options only the cohort comparison has (the shared ones, -o, --n-boot, --seed,
    --between-session-sd, belong to `imu-gait compare`)."""
    g = p.add_argument_group("cohort comparison (--cohort)")
    g.add_argument(
        "--cohort",
        metavar="OUT",
        help="output folder of `imu-gait batch`: group statistics of every subject's pre/post change "
        "(cohort_comparison.csv, cohort_subjects.csv, figures); replaces --pre/--post",
    )
    g.add_argument(
        "--pre-label", default="pre", help="condition label of the sessions before (default: pre)"
    )
    g.add_argument(
        "--post-label", default="post", help="condition label of the sessions after (default: post)"
    )
    g.add_argument(
        "--no-mixed-model", action="store_true", help="skip the stride-level mixed model (faster)"
    )
    g.add_argument("--no-figures", action="store_true", help="skip the cohort figures")


def run_cohort(args: argparse.Namespace, between_session_sd: dict[str, float]) -> int:
    from pathlib import Path

    from rich.console import Console

    from imu_gait.cohort import CohortSettings, compare_cohort, load_cohort, write_cohort
    from imu_gait.errors import UsageError

    if args.pre or args.post:
        raise UsageError(
            "--cohort compares the conditions of a batch output; leave out --pre/--post"
        )
    folder = Path(args.cohort)
    if not (folder / "strides").is_dir():
        raise UsageError(f"{folder}: not an `imu-gait batch` output (no strides/ dataset)")
    settings = CohortSettings(
        pre=args.pre_label,
        post=args.post_label,
        n_boot=args.n_boot,
        seed=args.seed,
        mixed_model=not args.no_mixed_model,
        between_session_sd=between_session_sd,
    )
    con = Console(stderr=True)
    with con.status("reading strides..."):
        strides, squats = load_cohort(folder)
    with con.status(f"cohort statistics ({strides['subject'].nunique()} subjects)..."):
        cmp = compare_cohort(strides, settings, squats=squats)
    if not len(cmp.table):
        raise UsageError(
            f"nothing to compare: no subject has {settings.pre!r} and {settings.post!r} strides"
        )
    with con.status("writing tables and figures..."):
        paths = write_cohort(cmp, args.output, figures=not args.no_figures)
    for line in summary_lines(cmp):
        print(line)
    for w in cmp.warnings:
        con.print(f"[yellow]warning:[/] {w}", highlight=False)
    print(f"written to {args.output} ({len(paths)} files)")
    return 0


def summary_lines(cmp) -> list[str]:
    """One line per primary outcome with enough subjects."""
    t = cmp.table
    t = t[(t["role"] == "primary") & (t["n_subjects"] >= cmp.settings.min_subjects)]
    lines = []
    for _, r in t.iterrows():
        u = r["unit"]
        lines.append(
            f"{r['activity']:<11} {r['side']:<5} {r['label']}: n={int(r['n_subjects'])}, change "
            f"{r['diff']:+.2f} {u} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}], g_z {r['gz']:+.2f}, "
            f"mixed model {r['lmm_estimate']:+.2f} (p {r['lmm_p']:.3g}), beyond own MDC "
            f"{int(r['n_beyond_mdc'])}/{int(r['n_subjects'])}: {r['verdict']}"
        )
    return lines
