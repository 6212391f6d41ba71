"""Batch analysis of many sessions on Dask: one task per session, results as partitioned Parquet datasets.

``run_batch(root, out)`` finds every session folder under ``root`` (a folder with ``session.json``), runs
:func:`imu_gait.pipeline.analysis.analyze` on each as one ``dask.distributed`` task and writes, under ``out``::

    strides/subject=<s>/condition=<c>/part-<session id>.parquet     every stride (strides.csv columns + session)
    summaries/subject=<s>/condition=<c>/part-<session id>.parquet   summary.csv rows of every session (+ session)
    squats/subject=<s>/condition=<c>/part-<session id>.parquet      squats.csv rows (sessions with squat tasks)
    manifest.jsonl      one JSON line per analysed (or failed) session: key, status, files, error; last line wins
    failures.csv        session, error_type, message of every session whose latest attempt failed

Workers receive only a path and return only the per-stride and summary tables, so no worker holds more than one
session's samples at a time and the client holds none. Results are written as each task finishes (temporary file,
then rename). A session is skipped when its key (imu-gait version + settings + content fingerprint) is already in
the manifest; a session that fails is listed with its error and never stops the batch.

Dask (``dask``, ``distributed``) is an optional dependency (extra ``cohort``), imported only when a batch runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

STRIDES_DIR = "strides"
SUMMARIES_DIR = "summaries"
SQUATS_DIR = "squats"
MANIFEST = "manifest.jsonl"
FAILURES = "failures.csv"
PARTITIONS = ("subject", "condition")
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # pyarrow's hive name for a missing value
STRING_COLUMNS = frozenset({"session", "side", "activity", "quality", "task"})
INT_COLUMNS = frozenset({"stride", "n_strides", "n_ok", "rep"})
FAILURE_COLUMNS = ("session", "error_type", "message", "where")

# sources whose change can change the analysis results (their digest goes into the manifest as provenance)
_ANALYSIS_SOURCES = ("pipeline", "session.py", "anatomy.py", "errors.py", "batch.py")


@dataclass(frozen=True)
class BatchSettings:
    """Analysis settings applied to every session. ``mounting``: declared mountings (placement -> preset name),
    as ``imu-gait analyze --mounting``."""

    mounting: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """Stable hash of the settings (part of every session's key)."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class SessionJob:
    """One session to analyse: absolute ``path``, ``session`` id (path relative to the root, POSIX), ``key``."""

    path: str
    session: str
    key: str


@dataclass
class SessionResult:
    """What a worker returns for one session: small tables only (never samples)."""

    session: str
    key: str
    status: str  # ok | failed
    subject: str | None = None
    condition: str | None = None
    strides: pd.DataFrame | pa.Table | None = None
    summary: pd.DataFrame | pa.Table | None = None
    squats: pd.DataFrame | pa.Table | None = None
    warnings: list[str] = field(default_factory=list)  # the analysis's quality warnings
    error_type: str = ""
    message: str = ""
    where: str = ""  # innermost imu_gait source line of the error (file:line function)
    seconds: float = 0.0  # wall time of the task
    cpu_seconds: float = 0.0  # CPU time of the task's process
    worker: str = ""  # host:pid of the process that ran the task
    peak_rss_mb: float = float("nan")  # the worker process's peak resident memory so far (MB)

    @property
    def n_strides(self) -> int:
        return 0 if self.strides is None else len(self.strides)


@dataclass
class BatchReport:
    """Counts of a batch run: sessions found, analysed now, failed now, skipped (unchanged; of which
    ``skipped_failed`` had failed before), and the wall time (s)."""

    found: int
    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_failed: int = 0
    seconds: float = 0.0
    strides: int = 0
    failures: list[SessionResult] = field(default_factory=list)


Progress = Callable[[SessionResult], None]


# --- what to analyse --------------------------------------------------------------------------------------------


def code_version() -> str:
    """The analysis code version in session keys: ``imu_gait.__version__``. After changing the analysis code in a
    development checkout without a new version number, run the batch with ``force`` (``--force``)."""
    from imu_gait import __version__

    return __version__


def source_digest() -> str:
    """Digest of the analysis sources, recorded in the manifest next to each result (provenance only). Keys
    follow the version number instead, so that not every edit in a development checkout redoes a finished
    cohort; after changing the analysis there, use ``force``."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _ANALYSIS_SOURCES:
        p = pkg / name
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            h.update(f.relative_to(pkg).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def find_sessions(root: str | Path, exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Every session folder (containing ``session.json``) under ``root``, sorted; hidden folders (temporary
    ``.name.partial`` / ``.name.old`` of an interrupted save) and anything under ``exclude`` are left out."""
    root = Path(root).resolve()
    skip = [Path(e).resolve() for e in exclude]
    found = []
    for meta in root.rglob("session.json"):
        folder = meta.parent
        rel = folder.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if any(folder == s or s in folder.parents for s in skip):
            continue
        found.append(folder)
    return sorted(found)


def session_fingerprint(folder: str | Path) -> str:
    """Content fingerprint of a session folder: the bytes of ``session.json`` plus name, size and modification
    time (ns) of every other file in it (make/rsync style: cheap, and any rewrite of a file changes it)."""
    folder = Path(folder)
    h = hashlib.sha256()
    h.update((folder / "session.json").read_bytes())
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != "session.json":
            st = f.stat()
            h.update(
                f"{f.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
    return h.hexdigest()[:24]


def session_key(fingerprint: str, settings: BatchSettings, version: str) -> str:
    """The key under which a session's results are stored: code version + settings + content fingerprint."""
    text = f"{version}\n{settings.digest()}\n{fingerprint}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def session_id(session: str) -> str:
    """Short stable id of a session (its path relative to the root), used in part file names."""
    return hashlib.sha256(session.encode()).hexdigest()[:16]


# --- the task -----------------------------------------------------------------------------------------------------


def analyze_session(path: str, session: str, key: str, settings: BatchSettings) -> SessionResult:
    """Load and analyse one session (runs on a worker). Never raises: an error becomes a failed result."""
    from imu_gait.pipeline.analysis import analyze
    from imu_gait.session import load_session

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        s = load_session(path)
        a = analyze(s, mounting=settings.mounting)
        strides = a.strides.copy()
        strides.insert(0, "session", session)
        summary = a.summary.copy()
        summary.insert(0, "session", session)
        squats = a.squats.copy()
        squats.insert(0, "session", session)
        return SessionResult(
            session,
            key,
            "ok",
            subject=s.subject or None,
            condition=s.condition or None,
            # converted here, on the worker, so the client only writes them
            strides=_arrow_table(strides),
            summary=_arrow_table(summary),
            squats=_arrow_table(squats),
            warnings=[str(w) for w in a.quality.get("warnings", [])],
            seconds=time.perf_counter() - t0,
            cpu_seconds=time.process_time() - c0,
            worker=_worker_id(),
            peak_rss_mb=_peak_rss_mb(),
        )
    except Exception as e:  # one bad session must not stop the batch
        return SessionResult(
            session,
            key,
            "failed",
            error_type=type(e).__name__,
            message=str(e).strip().splitlines()[0][:500] if str(e).strip() else repr(e),
            where=_where(e),
            seconds=time.perf_counter() - t0,
            cpu_seconds=time.process_time() - c0,
            worker=_worker_id(),
            peak_rss_mb=_peak_rss_mb(),
        )


def _where(e: BaseException) -> str:
    """The innermost frame of the traceback inside imu_gait, as ``imu_gait/...py:LINE function``."""
    import traceback

    pkg = Path(__file__).resolve().parent
    found = ""
    for frame in traceback.extract_tb(e.__traceback__):
        f = Path(frame.filename)
        if pkg in f.parents:
            found = f"{f.relative_to(pkg.parent).as_posix()}:{frame.lineno} {frame.name}"
    return found


def _peak_rss_mb() -> float:
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # ru_maxrss is in bytes on macOS, KiB elsewhere
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024
    except (ImportError, OSError):
        return float("nan")


def _worker_id() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


# --- the output folder --------------------------------------------------------------------------------------------


def _partition_dir(subject: str | None, condition: str | None) -> str:
    parts = []
    for name, value in zip(PARTITIONS, (subject, condition), strict=True):
        v = urllib.parse.quote(value, safe="") if value else NULL_PARTITION
        parts.append(f"{name}={v}")
    return "/".join(parts)


def _arrow_table(df: pd.DataFrame) -> pa.Table:
    """A table with a fixed type per column (strings, int64 counters, float64 metrics), so every part file of
    a dataset has the same schema whatever a session's values (an all-NaN metric stays float64). A column not
    known here is float64 if pandas holds it as numbers, else text (never coerced to NaN)."""
    arrays, fields = [], []
    for c in df.columns:
        col = df[c]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if c in STRING_COLUMNS or (c not in INT_COLUMNS and not numeric):
            typ = pa.string()
            values = [
                None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in col
            ]
        elif c in INT_COLUMNS:
            typ, values = pa.int64(), pd.to_numeric(col).to_numpy(dtype=np.int64)
        else:
            typ, values = (
                pa.float64(),
                pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64),
            )
        arrays.append(pa.array(values, type=typ))
        fields.append(pa.field(c, typ))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _write_part(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # hidden: datasets ignore it
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class ResultStore:
    """The batch output folder: part files, the append-only manifest and failures.csv."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.source = source_digest()
        self.out.mkdir(parents=True, exist_ok=True)
        self.records = self._read_manifest()

    def _read_manifest(self) -> dict[str, dict[str, Any]]:
        path = self.out / MANIFEST
        records: dict[str, dict[str, Any]] = {}
        if not path.is_file():
            return records
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash: that session is simply redone
            if isinstance(rec, dict) and "session" in rec:
                records[rec["session"]] = rec
        return records

    def write(self, result: SessionResult) -> None:
        """Replace the session's previous results by these: old part files removed, new ones written, then the
        manifest line (so a crash in between leaves the session to be redone, never duplicated)."""
        old = self.records.get(result.session, {})
        for rel in old.get("files", []):
            (self.out / rel).unlink(missing_ok=True)
        files = []
        if result.status == "ok":
            part = f"{_partition_dir(result.subject, result.condition)}/part-{session_id(result.session)}.parquet"
            for folder, df in (
                (STRIDES_DIR, result.strides),
                (SUMMARIES_DIR, result.summary),
                (SQUATS_DIR, result.squats),
            ):
                if df is not None and len(df):
                    table = df if isinstance(df, pa.Table) else _arrow_table(df)
                    _write_part(table, self.out / folder / part)
                    files.append(f"{folder}/{part}")
        rec = {
            "session": result.session,
            "key": result.key,
            "status": result.status,
            "subject": result.subject,
            "condition": result.condition,
            "n_strides": result.n_strides,
            "warnings": result.warnings,
            "files": files,
            "error_type": result.error_type,
            "message": result.message,
            "where": result.where,
            "seconds": round(result.seconds, 3),
            "cpu_seconds": round(result.cpu_seconds, 3),
            "worker": result.worker,
            "peak_rss_mb": round(result.peak_rss_mb, 1)
            if np.isfinite(result.peak_rss_mb)
            else None,
            "version": code_version(),
            "source": self.source,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "finished_at": round(time.time(), 3),
        }
        # flushed per line (a killed process loses nothing written); fsync once at the end (:meth:`sync`)
        with open(self.out / MANIFEST, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.records[result.session] = rec

    def sync(self) -> None:
        """fsync the manifest (after a batch: results survive a power loss too)."""
        path = self.out / MANIFEST
        if path.is_file():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())

    def write_failures(self, sessions: Iterable[str] | None = None) -> Path:
        """failures.csv: every session (of ``sessions``, default all in the manifest) whose latest attempt failed."""
        wanted = set(self.records) if sessions is None else set(sessions)
        rows = [
            {k: r.get(k, "") for k in FAILURE_COLUMNS}
            for s, r in sorted(self.records.items())
            if s in wanted and r["status"] == "failed"
        ]
        path = self.out / FAILURES
        tmp = path.with_name(f".{path.name}.tmp")
        pd.DataFrame(rows, columns=list(FAILURE_COLUMNS)).to_csv(tmp, index=False)
        os.replace(tmp, path)
        return path


# --- reading the datasets -----------------------------------------------------------------------------------------


def _read_dataset(folder: Path) -> pd.DataFrame:
    files = (
        sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))
        if folder.is_dir()
        else []
    )
    if not files:
        return pd.DataFrame(columns=[*PARTITIONS, "session"])
    part = ds.partitioning(pa.schema([(p, pa.string()) for p in PARTITIONS]), flavor="hive")
    schema = pa.unify_schemas([pq.read_schema(f) for f in files])
    schema = pa.unify_schemas([schema, part.schema])
    table = ds.dataset(folder, format="parquet", partitioning=part, schema=schema).to_table()
    df = table.to_pandas()
    first = [*PARTITIONS, "session"]
    return df[first + [c for c in df.columns if c not in first]]


def read_strides(out: str | Path) -> pd.DataFrame:
    """All strides of a batch output: ``subject, condition, session`` + strides.csv columns."""
    return _read_dataset(Path(out) / STRIDES_DIR)


def read_summaries(out: str | Path) -> pd.DataFrame:
    """All session summaries of a batch output: ``subject, condition, session`` + summary.csv columns."""
    return _read_dataset(Path(out) / SUMMARIES_DIR)


def read_squats(out: str | Path) -> pd.DataFrame:
    """All squat/step-down repetitions of a batch output: ``subject, condition, session`` + squats.csv columns."""
    return _read_dataset(Path(out) / SQUATS_DIR)


def read_failures(out: str | Path) -> pd.DataFrame:
    """failures.csv of a batch output (empty table if none)."""
    path = Path(out) / FAILURES
    if not path.is_file():
        return pd.DataFrame(columns=list(FAILURE_COLUMNS))
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --- running ------------------------------------------------------------------------------------------------------


def plan_batch(
    root: str | Path,
    store: ResultStore,
    settings: BatchSettings,
    *,
    retry_failed: bool = False,
    force: bool = False,
) -> tuple[list[SessionJob], list[dict[str, Any]]]:
    """Jobs to run and manifest records of sessions to skip (same key already stored). A session whose latest
    attempt failed with the same key is skipped too (the analysis is deterministic), unless ``retry_failed``;
    ``force`` redoes every session."""
    root = Path(root).resolve()
    version = code_version()
    jobs, skipped = [], []
    for folder in find_sessions(root, exclude=[store.out]):
        rel = folder.relative_to(root).as_posix()
        try:
            key = session_key(session_fingerprint(folder), settings, version)
        except OSError as e:  # unreadable folder: let the task report it
            key = f"unreadable-{type(e).__name__}"
        rec = store.records.get(rel)
        if not force and rec and rec["key"] == key and (rec["status"] == "ok" or not retry_failed):
            skipped.append(rec)
        else:
            jobs.append(SessionJob(str(folder), rel, key))
    return jobs, skipped


def run_batch(
    root: str | Path,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    settings: BatchSettings | None = None,
    retry_failed: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_connect: Callable[[str], None] | None = None,
    connect_timeout: float = 30.0,
) -> BatchReport:
    """Analyse every session under ``root`` into ``out`` (see the module docstring).

    ``scheduler``: address of an existing Dask scheduler (used as it is); else a LocalCluster of ``workers``
    processes (default: the number of CPUs), one thread each; ``connect_timeout`` (s) for reaching the scheduler. ``on_plan(to_run, skipped)`` is called before the
    work starts, ``on_connect(dashboard_link)`` once the cluster is up, and ``progress(result)`` after each
    session.
    """
    from imu_gait.errors import UsageError

    t0 = time.perf_counter()
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    settings = settings or BatchSettings()
    store = ResultStore(out)
    jobs, skipped = plan_batch(root, store, settings, retry_failed=retry_failed, force=force)
    report = BatchReport(
        found=len(jobs) + len(skipped),
        skipped=len(skipped),
        skipped_failed=sum(r["status"] == "failed" for r in skipped),
    )
    if on_plan:
        on_plan(len(jobs), len(skipped))
    if jobs:
        client, cluster = _connect(scheduler, workers, connect_timeout)
        try:
            _check_workers(client)
            if on_connect:
                on_connect(str(client.dashboard_link or ""))
            for result in _run_jobs(client, jobs, settings):
                store.write(result)
                if result.status == "ok":
                    report.analysed += 1
                    report.strides += result.n_strides
                else:
                    report.failed += 1
                    report.failures.append(result)
                if progress:
                    progress(result)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    store.sync()
    store.write_failures(r["session"] for r in skipped + [{"session": j.session} for j in jobs])
    report.seconds = time.perf_counter() - t0
    return report


def _connect(
    scheduler: str | None, workers: int | None, connect_timeout: float = 30.0
) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        from imu_gait.errors import UsageError

        raise UsageError(
            "batch analysis needs dask and distributed: install imu-gait with the 'cohort' extra"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{connect_timeout}s"), None
        except (OSError, TimeoutError) as e:
            from imu_gait.errors import UsageError

            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never clashes with a running dashboard
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def _check_workers(client: Any) -> None:
    """Workers of an existing cluster must run the same imu-gait analysis code, else results would mix versions."""
    from imu_gait.errors import UsageError

    here = code_version()
    try:
        versions = client.run(code_version)
    except Exception as e:  # e.g. imu_gait not importable on a worker
        raise UsageError(
            f"the Dask workers cannot run imu-gait ({type(e).__name__}: {e}); install imu-gait on them"
        ) from None
    wrong = {w: v for w, v in versions.items() if v != here}
    if wrong:
        w, v = next(iter(wrong.items()))
        raise UsageError(
            f"{len(wrong)} Dask worker(s) run other imu-gait code than this client (e.g. {w}: {v}; here {here}); "
            "install the same imu-gait on the workers"
        )


def _run_jobs(
    client: Any, jobs: list[SessionJob], settings: BatchSettings
) -> Iterable[SessionResult]:
    """Submit one task per session and yield results as they finish. Only this loop refers to a finished
    future, so the cluster keeps a result only until it is written."""
    from distributed import as_completed

    by_key: dict[str, SessionJob] = {}
    futures = []
    for job in jobs:
        fut = client.submit(
            analyze_session,
            job.path,
            job.session,
            job.key,
            settings,
            key=f"analyze_session-{job.key[:12]}-{uuid.uuid4().hex[:8]}",
            retries=0,
        )
        by_key[fut.key] = job
        futures.append(fut)
    finished = as_completed(futures)
    del futures
    for fut in finished:
        job = by_key.pop(fut.key)
        if fut.status == "finished":
            result = fut.result()
        else:  # the task itself died (worker killed, out of memory, ...)
            exc = fut.exception()
            text = str(exc).strip()
            result = SessionResult(
                job.session,
                job.key,
                "failed",
                error_type=type(exc).__name__,
                message=text.splitlines()[0][:500] if text else repr(exc),
            )
        del fut
        yield result
