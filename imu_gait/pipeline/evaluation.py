"""Evaluation of detected strides against a reference stride list (simulation truth or a lab system).

Strides are matched per side by initial contact: a detected stride matches the reference stride whose IC is
nearest, if closer than ``tol_s``; each reference stride matches at most once. Used by the tests and by
benchmarks/bench_foot.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class StrideEvaluation:
    """Matched strides and the accuracy figures of issue 5.

    ``pairs``: one row per matched stride with detected (``*_det``) and reference (``*_ref``) columns;
    counts ``tp``, ``fp``, ``fn``; ``curve_rmse`` per matched stride (deg) when curves were given.
    """

    pairs: pd.DataFrame
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else float("nan")

    def error(self, column: str) -> np.ndarray:
        """Detected minus reference for ``column`` over the matched strides."""
        return (self.pairs[f"{column}_det"] - self.pairs[f"{column}_ref"]).to_numpy(
            dtype=np.float64
        )

    def relative_error(self, column: str) -> np.ndarray:
        """(detected - reference) / reference for ``column``."""
        return self.error(column) / self.pairs[f"{column}_ref"].to_numpy(dtype=np.float64)

    def activity_accuracy(self) -> float:
        """Share of matched strides whose activity is the reference activity."""
        p = self.pairs
        return float((p["activity_det"] == p["activity_ref"]).mean()) if len(p) else float("nan")


def match_strides(
    detected: pd.DataFrame,
    reference: pd.DataFrame,
    tol_s: float = 0.15,
    detected_curves: pd.DataFrame | None = None,
    reference_curves: pd.DataFrame | None = None,
    variable: str = "eversion",
) -> StrideEvaluation:
    """Match ``detected`` to ``reference`` strides (both with strides.csv columns) by IC within ``tol_s``.

    With curves (curves.csv format) the per-stride RMSE of ``variable`` is added as ``curve_rmse``.
    """
    rows, tp, fp, fn = [], 0, 0, 0
    for side in ("left", "right"):
        det = detected[detected["side"] == side].reset_index(drop=True)
        ref = reference[reference["side"] == side].reset_index(drop=True)
        used: set[int] = set()
        ric = ref["ic"].to_numpy(dtype=np.float64)
        for _, row in det.iterrows():
            if ric.size == 0:
                fp += 1
                continue
            d = np.abs(ric - row["ic"])
            j = int(np.argmin(d))
            if d[j] > tol_s or j in used:
                fp += 1
                continue
            used.add(j)
            tp += 1
            rec = {
                "side": side,
                "stride_det": int(row["stride"]),
                "stride_ref": int(ref.loc[j, "stride"]),
            }
            for c in detected.columns:
                if c in ("side", "stride") or c not in ref.columns:
                    continue
                rec[f"{c}_det"] = row[c]
                rec[f"{c}_ref"] = ref.loc[j, c]
            rows.append(rec)
        fn += len(ref) - len(used)
    pairs = pd.DataFrame(rows)
    if detected_curves is not None and reference_curves is not None and len(pairs):
        pairs["curve_rmse"] = _curve_rmse(pairs, detected_curves, reference_curves, variable)
    return StrideEvaluation(pairs, tp, fp, fn)


def _curve_rmse(
    pairs: pd.DataFrame, det: pd.DataFrame, ref: pd.DataFrame, variable: str
) -> np.ndarray:
    def table(c: pd.DataFrame) -> dict:
        c = c[c["variable"] == variable].sort_values(["side", "stride", "pct"])
        return {k: g["value"].to_numpy(dtype=np.float64) for k, g in c.groupby(["side", "stride"])}

    d, r = table(det), table(ref)
    out = np.full(len(pairs), np.nan)
    for i, p in enumerate(pairs.itertuples()):
        a, b = d.get((p.side, p.stride_det)), r.get((p.side, p.stride_ref))
        if a is not None and b is not None and a.size == b.size:
            out[i] = float(np.sqrt(np.mean((a - b) ** 2)))
    return out
