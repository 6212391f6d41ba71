"""Pre/post statistics on simulated data with known truth: false-positive rate, CI coverage, power, SPM.

Run: .venv/bin/python benchmarks/bench_compare.py [--seeds N] [--compare-seeds M]
Targets (issue 9): no change claimed where none was simulated in <= 5% of cases; the 95% CI covers the truth.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from imu_gait.compare import CompareSettings, compare, stats
from imu_gait.compare.spm import spm_ttest2
from imu_gait.compare.synthetic import bump, synthetic_analysis


def one_metric(
    rng: np.random.Generator,
    n: int,
    sd: float,
    true_diff: float,
    k: int = 1,
    sd_b: float = 0.0,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[str, float, float, float, float]:
    """Simulate one metric pre/post with k sessions each; return verdict, CI, diff, p."""
    pre = [rng.normal(rng.normal(0.0, sd_b), sd, n) for _ in range(k)]
    post = [rng.normal(rng.normal(true_diff, sd_b), sd, n) for _ in range(k)]
    lo, hi = stats.bootstrap_diff_ci(pre, post, n_boot=n_boot, seed=seed)
    diff = stats.condition_mean(post) - stats.condition_mean(pre)
    sd_w = stats.pooled_within_sd(pre + post)
    sdb_hat = stats.between_session_sd([pre, post])
    sem = stats.sem_condition_mean(sd_w, n, k, sdb_hat)
    v = stats.verdict(lo, hi, diff, stats.mdc95(sem), n * k, n * k)
    p = stats.pre_post_test(pre, post).p
    return v, lo, hi, diff, p


def scalar_section(seeds: int) -> None:
    print(f"\n== one metric, {seeds} seeds each (stride SD 1.8 deg; bootstrap 1000) ==")
    print(f"{'scenario':44s} {'changed':>8s} {'CI excl 0':>9s} {'p<.05':>6s} {'CI covers':>9s}")
    scenarios = [
        ("no change, n=15", 15, 0.0, 1, 0.0),
        ("no change, n=40", 40, 0.0, 1, 0.0),
        ("no change, n=60", 60, 0.0, 1, 0.0),
        ("change -3 deg, n=20", 20, -3.0, 1, 0.0),
        ("change -3 deg, n=40", 40, -3.0, 1, 0.0),
        ("change -1 deg, n=40", 40, -1.0, 1, 0.0),
        ("no change, 2 sessions x 30, day SD 1.0", 30, 0.0, 2, 1.0),
        ("no change, 3 sessions x 30, day SD 1.0", 30, 0.0, 3, 1.0),
        ("no change, 5 sessions x 30, day SD 1.0", 30, 0.0, 5, 1.0),
        ("change -3 deg, 3 sessions x 30, day SD 1.0", 30, -3.0, 3, 1.0),
        ("change -3 deg, 5 sessions x 30, day SD 1.0", 30, -3.0, 5, 1.0),
    ]
    for name, n, d, k, sdb in scenarios:
        t0 = time.perf_counter()
        changed = excl = sig = cover = 0
        for s in range(seeds):
            rng = np.random.default_rng(10_000 + s)
            v, lo, hi, _diff, p = one_metric(rng, n, 1.8, d, k, sdb, seed=s)
            changed += v == stats.VERDICT_CHANGED
            excl += lo > 0 or hi < 0
            sig += p < 0.05
            cover += lo <= d <= hi
        print(
            f"{name:44s} {changed / seeds:8.3f} {excl / seeds:9.3f} {sig / seeds:6.3f} "
            f"{cover / seeds:9.3f}   ({time.perf_counter() - t0:.1f} s)"
        )
    print(
        "'changed' = verdict 'changed beyond the detectable change' (CI excludes 0 and |diff| > MDC95)."
    )
    print(
        "With no change: 'changed' is the false-positive rate (target <= 0.05); 'CI covers' should be ~0.95."
    )


def compare_section(seeds: int) -> None:
    print(
        f"\n== whole comparison, {seeds} seeds: 2 sides x 17 walking metrics, 40 strides, no change =="
    )
    t0 = time.perf_counter()
    any_primary = per_primary = n_primary = per_all = n_all = spm_any = 0
    settings = CompareSettings(n_boot=500)
    for s in range(seeds):
        pre = synthetic_analysis(20_000 + s, n_strides=40, name="pre")
        post = synthetic_analysis(30_000 + s, n_strides=40, name="post", condition="post")
        c = compare(pre, post, settings)
        t = c.table
        prim = t[t["role"] == "primary"]
        claims = prim["verdict"] == stats.VERDICT_CHANGED
        any_primary += bool(claims.any())
        per_primary += int(claims.sum())
        n_primary += len(prim)
        per_all += int((t["verdict"] == stats.VERDICT_CHANGED).sum())
        n_all += len(t)
        spm_any += bool(c.spm["significant"].any())
    dt = time.perf_counter() - t0
    print(
        f"primary outcomes (Holm over {n_primary // seeds}): comparisons with any false 'changed' "
        f"{any_primary / seeds:.3f} (family-wise, target <= 0.05); per outcome {per_primary / n_primary:.4f}"
    )
    print(f"all {n_all // seeds} rows (uncorrected, exploratory): per row {per_all / n_all:.3f}")
    print(
        f"SPM, 4 curves per comparison: comparisons with any false cluster {spm_any / seeds:.3f} "
        "(4 curves sharing alpha 0.05 by Sidak; target <= 0.05)"
    )
    print(f"{dt / seeds * 1000:.0f} ms per comparison (incl. SPM)")

    print(
        f"\n== whole comparison, {seeds} seeds: excursion -3 deg and valgus -3 deg, 40 strides =="
    )
    found = cover = total = 0
    for s in range(seeds):
        pre = synthetic_analysis(40_000 + s, n_strides=40, name="pre")
        post = synthetic_analysis(
            50_000 + s,
            n_strides=40,
            name="post",
            condition="post",
            shift={"eversion_excursion": -3.0, "knee_abduction_peak": -3.0},
        )
        t = compare(pre, post, settings).table
        rows = t[t["metric"].isin(["eversion_excursion", "knee_abduction_peak"])]
        found += int((rows["verdict"] == stats.VERDICT_CHANGED).sum())
        cover += int(((rows["ci_low"] <= -3.0) & (rows["ci_high"] >= -3.0)).sum())
        total += len(rows)
    print(f"found as changed {found / total:.3f}; CI covers the true -3 deg {cover / total:.3f}")


def spm_section(seeds: int) -> None:
    print(f"\n== SPM two-sample t (RFT), 30 vs 30 eversion curves, {seeds} seeds ==")
    t0 = time.perf_counter()
    fp = hit = inside = 0
    for s in range(seeds):
        pre = synthetic_analysis(60_000 + s, n_strides=30, sides=("left",))
        post = synthetic_analysis(70_000 + s, n_strides=30, sides=("left",))
        eff = synthetic_analysis(
            70_000 + s, n_strides=30, sides=("left",), curve_shift={"eversion": bump(40, 8, -2.0)}
        )

        def mat(a):
            c = a.curves[a.curves["variable"] == "eversion"]
            return c.pivot(index="stride", columns="pct", values="value").to_numpy()

        fp += spm_ttest2(mat(pre), mat(post)).significant
        r = spm_ttest2(mat(pre), mat(eff))
        hit += r.significant
        inside += any(c.start <= 40 <= c.end for c in r.clusters)
    print(f"identical distributions: false-positive rate {fp / seeds:.3f} (alpha 0.05)")
    print(
        f"-2 deg bump at 40 % stance: detected {hit / seeds:.3f}, cluster spans 40 % {inside / seeds:.3f}"
    )
    print(f"{(time.perf_counter() - t0) / seeds / 3 * 1000:.1f} ms per SPM test")


def real_walk_section() -> None:
    """The real gaitmap walk (2 x 20 m, one person, one session): first bout vs second bout. Nothing was
    changed between them, so no primary outcome should be called changed."""
    from pathlib import Path

    import pandas as pd

    from imu_gait.compare import AnalysisInput
    from imu_gait.pipeline.analysis import analyze
    from imu_gait.session import load_session

    path = Path(__file__).resolve().parents[1] / "recordings" / "gaitmap_walk"
    print("\n== real walk (recordings/gaitmap_walk): first 20 m bout vs second, no intervention ==")
    a = analyze(load_session(path))
    st = a.strides
    mid = st["ic"].median()

    def part(df: pd.DataFrame, name: str) -> AnalysisInput:
        curves = a.curves.merge(df[["side", "stride"]], on=["side", "stride"])
        return AnalysisInput(name, df, curves, pd.DataFrame(), {}, {})

    c = compare(part(st[st["ic"] < mid], "bout 1"), part(st[st["ic"] >= mid], "bout 2"))
    t = c.table[c.table["role"] == "primary"]
    for r in t.itertuples():
        print(
            f"{r.side:5s} {r.label:40s} n {r.n_pre}/{r.n_post}  diff {r.diff:+7.2f} "
            f"[{r.ci_low:+7.2f}, {r.ci_high:+7.2f}]  MDC95 {r.mdc95:6.2f}  Holm p {r.p_holm_primary:.3f}  "
            f"{r.verdict}"
        )
    print(f"SPM regions found: {int(c.spm['significant'].sum())} of {len(c.spm)} curves")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2000, help="seeds per one-metric scenario")
    ap.add_argument("--compare-seeds", type=int, default=100, help="seeds of whole comparisons")
    ap.add_argument("--spm-seeds", type=int, default=400)
    a = ap.parse_args()
    scalar_section(a.seeds)
    compare_section(a.compare_seeds)
    spm_section(a.spm_seeds)
    real_walk_section()


if __name__ == "__main__":
    main()
