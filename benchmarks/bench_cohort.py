"""Cohort statistics on simulated cohorts with known truth (stride tables: subject, visit and stride noise):
false-positive rate with no change (paired t CI, subject bootstrap CI, mixed model with visit term, and for
contrast a mixed model with a subject intercept only), power and CI coverage with a change, and the share of
subjects beyond their own MDC95.

    .venv/bin/python benchmarks/bench_cohort.py [--seeds 2000] [--lmm-seeds 300]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from imu_gait.cohort import (
    VERDICT_CHANGED,
    CohortSettings,
    compare_cohort,
    mixed_model_change,
    synthetic_cohort,
)

METRIC = "eversion_excursion"
COHORT = dict(
    n_subjects=30, n_strides=(20, 60), sides=("left",), sd_subject=2.0, sd_visit=0.8, sd_stride=1.5
)


def binom_ci(k: int, n: int) -> str:
    """Wilson 95% interval of a proportion, as text."""
    z = 1.959963984540054
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{p:6.1%} [{c - h:.1%}, {c + h:.1%}]"


def subject_only_lmm_p(values: pd.DataFrame) -> float:
    """The naive model the visit term guards against: random intercept per subject only (z test)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    df = values.assign(post=(values["condition"] == "post").astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MixedLM.from_formula("value ~ post", groups="subject", data=df).fit(reml=True)
    return float(fit.pvalues["post"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2000)
    ap.add_argument("--lmm-seeds", type=int, default=300)
    args = ap.parse_args()
    fast = CohortSettings(n_boot=1000, mixed_model=False)
    print("cohort: 30 subjects, 20-60 strides per visit, SD subject 2.0, visit 0.8, stride 1.5 deg")

    t0 = time.perf_counter()
    hits = boot = 0
    shares = []
    for s in range(args.seeds):
        r = compare_cohort(synthetic_cohort(change=0.0, seed=s, **COHORT), fast).table.iloc[0]
        hits += r["verdict"] == VERDICT_CHANGED
        boot += r["boot_ci_low"] > 0 or r["boot_ci_high"] < 0
        shares.append(r["share_beyond_mdc"])
    n = args.seeds
    print(f"no change, {n} cohorts ({time.perf_counter() - t0:.0f} s):")
    print(f"  false positives, paired t CI:          {binom_ci(hits, n)}")
    print(f"  false positives, subject bootstrap CI: {binom_ci(boot, n)}")
    print(
        f"  share of subjects beyond own MDC95 (stride-noise MDC, visit SD unknown): "
        f"mean {np.mean(shares):.1%}"
    )

    t0 = time.perf_counter()
    lmm = naive = 0
    m = args.lmm_seeds
    for s in range(m):
        v = synthetic_cohort(change=0.0, seed=50_000 + s, **COHORT).rename(
            columns={METRIC: "value"}
        )
        lmm += mixed_model_change(v)["lmm_p"] < 0.05
        if s < min(m, 100):
            naive += subject_only_lmm_p(v) < 0.05
    print(f"  false positives, mixed model (subject + visit), {m} cohorts: {binom_ci(lmm, m)}")
    print(
        f"  false positives, mixed model with a subject intercept only, {min(m, 100)} cohorts: "
        f"{binom_ci(naive, min(m, 100))}  <- why the visit term is there ({time.perf_counter() - t0:.0f} s)"
    )

    for change in (-0.5, -1.0):
        found = covered = 0
        k = min(n, 500)
        for s in range(k):
            r = compare_cohort(
                synthetic_cohort(change=change, sd_response=0.5, seed=90_000 + s, **COHORT), fast
            ).table.iloc[0]
            found += r["verdict"] == VERDICT_CHANGED
            covered += r["ci_low"] <= change <= r["ci_high"]
        print(
            f"change {change:+.1f} deg (response SD 0.5), {k} cohorts: power {binom_ci(found, k)}, "
            f"CI coverage {binom_ci(covered, k)}"
        )
    given = CohortSettings(n_boot=200, mixed_model=False, between_session_sd={METRIC: 0.8})
    shares = [
        compare_cohort(synthetic_cohort(change=0.0, seed=s, **COHORT), given).table.iloc[0][
            "share_beyond_mdc"
        ]
        for s in range(200)
    ]
    print(
        f"no change, day-to-day SD 0.8 given: share beyond own MDC95 {np.mean(shares):.1%} (nominal 5%)"
    )


if __name__ == "__main__":
    main()
