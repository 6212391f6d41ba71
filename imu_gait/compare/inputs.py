"""Inputs of a comparison: analysis output folders, session folders (analysed first), or Analysis objects.

An analysis folder holds ``strides.csv`` and usually ``curves.csv``, ``squats.csv``, ``quality.json`` and
the session metadata (``session.json`` copied by ``imu-gait analyze``, or a ``session`` entry in quality.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from imu_gait.errors import FormatError, UsageError

META_KEYS = ("subject", "condition", "created", "notes", "activity")


@dataclass
class AnalysisInput:
    """One analysed session as the comparison sees it. ``name`` identifies it in tables and the report."""

    name: str
    strides: pd.DataFrame
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    squats: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def as_input(obj: Any, default_name: str) -> AnalysisInput:
    """Turn a folder path or an in-memory analysis (``.strides``, ``.curves``, ...) into an AnalysisInput."""
    if isinstance(obj, AnalysisInput):
        return replace(obj, meta=dict(obj.meta))  # a copy: compare() may rename it
    if isinstance(obj, str | Path):
        return load_input(Path(obj))
    if hasattr(obj, "strides"):
        meta = dict(getattr(obj, "meta", {}) or {})
        session = getattr(obj, "session", None)
        if session is not None:
            meta.update(
                {k: getattr(session, k, None) for k in META_KEYS if getattr(session, k, None)}
            )
        return AnalysisInput(
            name=str(meta.get("name") or default_name),
            strides=_frame(getattr(obj, "strides", None)),
            curves=_frame(getattr(obj, "curves", None)),
            squats=_frame(getattr(obj, "squats", None)),
            quality=dict(getattr(obj, "quality", {}) or {}),
            meta=meta,
        )
    raise UsageError(
        f"cannot compare a {type(obj).__name__}: give an analysis folder, session or Analysis"
    )


def from_analysis(analysis: Any, session: Any = None, name: str | None = None) -> AnalysisInput:
    """An in-memory ``Analysis`` plus the ``Session`` it came from (for subject, condition, date, notes)."""
    inp = as_input(
        analysis, name or (Path(session.path).name if getattr(session, "path", None) else "session")
    )
    if session is not None:
        inp.meta.update({k: getattr(session, k) for k in META_KEYS if getattr(session, k, None)})
        if getattr(session, "path", None):
            inp.meta.setdefault("path", str(session.path))
    return inp


def load_input(path: Path) -> AnalysisInput:
    """Read an analysis output folder; a session folder (session.json, no strides.csv) is analysed first."""
    if not path.exists():
        raise UsageError(f"{path}: no such folder")
    if (path / "strides.csv").is_file():
        return _load_analysis_folder(path)
    if (path / "session.json").is_file():
        return _analyse_session(path)
    raise UsageError(
        f"{path}: neither an analysis folder (strides.csv) nor a session folder (session.json)"
    )


def _load_analysis_folder(path: Path) -> AnalysisInput:
    strides = _read_csv(path / "strides.csv", required=("side", "activity"))
    curves = _read_csv(path / "curves.csv", required=("side", "stride", "variable", "pct", "value"))
    squats = _read_csv(path / "squats.csv", required=("side", "task"))
    quality = _read_json(path / "quality.json")
    meta: dict[str, Any] = {}
    if isinstance(quality.get("session"), dict):
        meta.update(quality["session"])
    session_json = _read_json(path / "session.json")
    meta.update({k: session_json[k] for k in META_KEYS if k in session_json})
    meta.setdefault("path", str(path))
    return AnalysisInput(path.name, strides, curves, squats, quality, meta)


def _analyse_session(path: Path) -> AnalysisInput:
    try:
        from imu_gait.pipeline.analysis import analyze
    except ImportError as e:
        raise UsageError(
            f"{path} is a session folder, but the analysis pipeline is not available ({e}); "
            "run `imu-gait analyze` first and compare the analysis folders"
        ) from e
    from imu_gait.session import load_session

    session = load_session(path)
    return from_analysis(analyze(session), session, name=path.name)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise FormatError(path, f"not a readable CSV table ({e})") from e
    missing = [c for c in required if c not in df.columns]
    if missing and len(df.columns):
        raise FormatError(path, f"missing column(s) {', '.join(missing)}")
    return df


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(path, f"not valid JSON ({e})") from e
    return data if isinstance(data, dict) else {}


def _frame(x: Any) -> pd.DataFrame:
    return x.copy() if isinstance(x, pd.DataFrame) else pd.DataFrame()
