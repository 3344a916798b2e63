"""The run history: every `simharness run` and `sweep`, in a local SQLite database.

One row per run or sweep in `runs` (what ran, which agent at which code version, headline
metrics, SLO verdict, where its files are) and one row per seeded run in `samples` (all
its numeric metrics), so `simharness diff` can test deltas across seeds from the database
alone. A run is written in one transaction; the database is in WAL mode with a busy
timeout, so a sweep's processes, pytest-xdist workers and parallel CI jobs on one machine
can record at the same time. (SQLite's locking needs a local file system, not NFS.)

The file is `.simharness/runs.db` under the current directory unless `--history PATH` or
the `SIMHARNESS_HISTORY` environment variable says otherwise (`off` disables it).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import json
import math
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SimHarnessError

if TYPE_CHECKING:
    from .result import Result
    from .scenario import Scenario
    from .sweep import SweepResult

__all__ = [
    "DEFAULT_PATH", "ENV_VAR", "HEADLINE", "History", "HistoryError", "RunEntry", "Sample",
    "agent_version", "history_path", "record_result", "record_sweep", "scenario_hash",
]

ENV_VAR = "SIMHARNESS_HISTORY"
DEFAULT_PATH = Path(".simharness") / "runs.db"
_OFF = {"off", "none", "no", "0", "false"}

#: The figures a history row shows and `simharness diff` compares by default.
HEADLINE: tuple[str, ...] = (
    "tickets.total", "routing.accuracy", "routing.macro_f1", "routing.accuracy@faults",
    "escalation.recall", "tickets.failure_rate", "latency.p95", "cost.per_ticket_usd",
)

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                 -- 'run' or 'sweep'
    recorded_at TEXT NOT NULL,          -- ISO 8601, UTC, when the run ended
    complete INTEGER NOT NULL,          -- 0: interrupted, the figures cover what finished
    scenario TEXT NOT NULL,
    scenario_hash TEXT NOT NULL,
    seeds TEXT NOT NULL,                -- JSON list
    grid TEXT,                          -- JSON object (sweeps)
    agent TEXT,
    agent_version TEXT,
    passed INTEGER,                     -- every SLO of every seeded run met (NULL: none ran)
    tickets INTEGER,
    metrics TEXT NOT NULL,              -- JSON: headline metrics, mean over seeded runs
    run_dir TEXT,
    wall_seconds REAL,
    host TEXT,
    simharness_version TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, id);
CREATE TABLE IF NOT EXISTS samples (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    point INTEGER NOT NULL,             -- grid point (0 for a plain run)
    label TEXT NOT NULL,                -- the grid point's overrides, '' for a plain run
    seed INTEGER NOT NULL,
    passed INTEGER,
    metrics TEXT NOT NULL,              -- JSON: every numeric metric, flattened
    PRIMARY KEY (run_id, point, seed)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class HistoryError(SimHarnessError):
    """The history database cannot be read or written, or has no such run."""


# --------------------------------------------------------------------------- what is stored

@dataclass(frozen=True)
class Sample:
    """One seeded run inside a history entry: its grid point, seed and flattened metrics."""

    seed: int
    metrics: dict[str, float]
    passed: bool | None = None
    point: int = 0
    label: str = ""


@dataclass
class RunEntry:
    """One row of the history: a run, or a sweep with several samples."""

    kind: str
    scenario: str
    scenario_hash: str
    seeds: list[int]
    agent: str | None
    agent_version: str | None
    passed: bool | None
    metrics: dict[str, float]
    run_dir: str | None
    complete: bool = True
    grid: dict[str, list[Any]] | None = None
    tickets: int | None = None
    wall_seconds: float | None = None
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(
        timespec="seconds"))
    host: str = field(default_factory=platform.node)
    simharness_version: str = ""
    id: int | None = None
    samples: list[Sample] = field(default_factory=list)


def _json(value: Any) -> str:
    """JSON without NaN/inf (stored as null), so any reader can load it."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(value), sort_keys=True)


def _numbers(text: str | None) -> dict[str, float]:
    """Stored metrics back as floats (null -> NaN, a figure the run could not measure)."""
    data = json.loads(text) if text else {}
    return {k: math.nan if v is None else float(v) for k, v in data.items()}


# --------------------------------------------------------------------------- where it lives

def history_path(explicit: str | Path | None = None, disabled: bool = False) -> Path | None:
    """The database file to use: `explicit` (`--history`), else `$SIMHARNESS_HISTORY`,
    else `.simharness/runs.db`; None when history is off (`--no-history`, or the
    variable set to `off`)."""
    if disabled:
        return None
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env is not None:
        if env.strip().lower() in _OFF or not env.strip():
            return None
        return Path(env).expanduser()
    return DEFAULT_PATH


class History:
    """The history database at `path` (created with its folder on first write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise HistoryError(f"no run history at {self.path} (runs are recorded there by "
                               f"`simharness run` and `simharness sweep`)")
        try:
            if create:
                self._make_folder()
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the run history {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA foreign_keys = ON")
            if create:
                self._ensure_schema(conn)
            yield conn
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"run history {self.path}: {exc}") from None
        finally:
            conn.close()

    def _make_folder(self) -> None:
        folder = self.path.parent
        fresh = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if fresh and folder.name == DEFAULT_PATH.parent.name:
            # like .pytest_cache: the folder tells git to leave it alone
            (folder / ".gitignore").write_text("# created by simharness\n*\n")

    @staticmethod
    def _ensure_schema(conn: sqlite3.Connection) -> None:
        # WAL lets readers and one writer work at once; the mode is kept in the file.
        # Switching a new file to WAL ignores the busy timeout: writers racing to create
        # the database retry briefly instead of failing with "database is locked".
        for attempt in range(40):
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 39:
                    raise
                time.sleep(0.05)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(_SCHEMA_VERSION),))
            elif int(row[0]) > _SCHEMA_VERSION:
                raise HistoryError(f"the run history was written by a newer simharness "
                                   f"(schema {row[0]})")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- writing ---------------------------------------------------------------------------
    def record(self, entry: RunEntry) -> int:
        """Store `entry` and its samples in one transaction; returns its run id."""
        with self._connect(create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    "INSERT INTO runs (kind, recorded_at, complete, scenario, scenario_hash, "
                    "seeds, grid, agent, agent_version, passed, tickets, metrics, run_dir, "
                    "wall_seconds, host, simharness_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry.kind, entry.recorded_at, int(entry.complete), entry.scenario,
                     entry.scenario_hash, json.dumps(entry.seeds),
                     None if entry.grid is None else _json(entry.grid), entry.agent,
                     entry.agent_version, None if entry.passed is None else int(entry.passed),
                     entry.tickets, _json(entry.metrics), entry.run_dir, entry.wall_seconds,
                     entry.host, entry.simharness_version))
                run_id = cursor.lastrowid
                assert run_id is not None
                conn.executemany(
                    "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                    [(run_id, s.point, s.label, s.seed,
                      None if s.passed is None else int(s.passed), _json(s.metrics))
                     for s in entry.samples])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        entry.id = run_id
        return run_id

    # -- reading ---------------------------------------------------------------------------
    def runs(self, scenario: str | None = None, last: int | None = None,
             with_samples: bool = False) -> list[RunEntry]:
        """Recorded runs, oldest first: the `last` most recent (of `scenario`, if given)."""
        where, params = ("WHERE scenario = ?", [scenario]) if scenario else ("", [])
        limit = "" if last is None else f"LIMIT {int(last)}"
        with self._connect(create=False) as conn:
            rows = conn.execute(f"SELECT * FROM runs {where} ORDER BY id DESC {limit}",
                                params).fetchall()
            names = [d[0] for d in conn.execute("SELECT * FROM runs LIMIT 0").description]
            entries = [self._entry(dict(zip(names, row, strict=True))) for row in rows]
            if with_samples:
                for entry in entries:
                    entry.samples = self._samples(conn, entry.id)
        return entries[::-1]

    def get(self, run_id: int) -> RunEntry:
        """One recorded run with its samples; HistoryError when there is none."""
        with self._connect(create=False) as conn:
            cursor = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
            row = cursor.fetchone()
            if row is None:
                count = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
                known = f"ids go up to {count}" if count else "it records no runs yet"
                raise HistoryError(f"no run #{run_id} in the run history {self.path} "
                                   f"({known}; see `simharness history`)")
            names = [d[0] for d in cursor.description]
            entry = self._entry(dict(zip(names, row, strict=True)))
            entry.samples = self._samples(conn, run_id)
        return entry

    def find_dir(self, run_dir: str | Path) -> RunEntry | None:
        """The latest entry recorded for this run or sweep directory, if any (no samples)."""
        if not self.path.is_file():
            return None
        with self._connect(create=False) as conn:
            cursor = conn.execute("SELECT * FROM runs WHERE run_dir = ? ORDER BY id DESC "
                                  "LIMIT 1", (str(Path(run_dir).absolute()),))
            row = cursor.fetchone()
            if row is None:
                return None
            return self._entry(dict(zip([d[0] for d in cursor.description], row, strict=True)))

    def count(self) -> int:
        with self._connect(create=False) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    @staticmethod
    def _samples(conn: sqlite3.Connection, run_id: int | None) -> list[Sample]:
        rows = conn.execute("SELECT point, label, seed, passed, metrics FROM samples "
                            "WHERE run_id = ? ORDER BY point, seed", (run_id,)).fetchall()
        return [Sample(seed=seed, metrics=_numbers(metrics),
                       passed=None if passed is None else bool(passed), point=point,
                       label=label)
                for point, label, seed, passed, metrics in rows]

    @staticmethod
    def _entry(row: Mapping[str, Any]) -> RunEntry:
        return RunEntry(
            id=row["id"], kind=row["kind"], recorded_at=row["recorded_at"],
            complete=bool(row["complete"]), scenario=row["scenario"],
            scenario_hash=row["scenario_hash"], seeds=json.loads(row["seeds"]),
            grid=None if row["grid"] is None else json.loads(row["grid"]),
            agent=row["agent"], agent_version=row["agent_version"],
            passed=None if row["passed"] is None else bool(row["passed"]),
            tickets=row["tickets"], metrics=_numbers(row["metrics"]), run_dir=row["run_dir"],
            wall_seconds=row["wall_seconds"], host=row["host"] or "",
            simharness_version=row["simharness_version"] or "")


# --------------------------------------------------------------------------- provenance

def scenario_hash(scenario: Scenario) -> str:
    """A short hash of what the scenario asks for, as validated: the same for runs with
    other seeds or another agent (both recorded on their own), and unchanged by comments
    or formatting in the file; any change to traffic, world, faults or SLOs changes it."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("seed", None)
    if isinstance(data.get("agent"), dict):
        data["agent"].pop("ref", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def agent_reference(agent: Any, scenario: Scenario) -> str | None:
    """The agent as a `module:attr` reference (objects passed in Python are named after
    their class or function)."""
    ref = agent if agent is not None else (scenario.agent.ref or scenario.agent.http)
    if ref is None or isinstance(ref, str):
        return ref
    target = ref if inspect.isclass(ref) or inspect.isroutine(ref) else type(ref)
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', '?')}"


def agent_version(ref: str | None) -> str | None:
    """The agent's code version: `git describe --always --dirty --tags` of the repository
    its module lives in, else its installed distribution's version, else a hash of the
    module file; None when the module cannot be found."""
    if not ref:
        return None
    module = ref.split(":", 1)[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    if not origin or not os.path.isfile(origin):
        return None
    return _version_of(origin, module.split(".", 1)[0])


@lru_cache(maxsize=64)
def _version_of(path: str, top_package: str) -> str | None:
    described = _git_describe(Path(path).parent)
    if described:
        return f"git:{described}"
    try:
        from importlib.metadata import packages_distributions, version

        dists = packages_distributions().get(top_package)
        if dists:
            return f"{dists[0]}=={version(dists[0])}"
    except Exception:  # noqa: BLE001 (metadata of broken installs is best effort)
        pass
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None
    return f"file:{digest}"


def _git_describe(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"],
                              cwd=folder, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text else None


# --------------------------------------------------------------------------- recording

def _headline(flat: Mapping[str, float]) -> dict[str, float]:
    return {k: flat[k] for k in HEADLINE if k in flat}


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return math.fsum(finite) / len(finite) if finite else math.nan


def _version() -> str:
    from . import __version__

    return __version__


def record_result(result: Result, path: str | Path, *, agent: Any = None,
                  run_dir: str | Path | None = None) -> RunEntry:
    """Record one run (`agent`: what was passed to `run`, None for the scenario's own); an
    interrupted run is marked incomplete."""
    from .sweep import flatten_metrics

    flat = flatten_metrics(result.metrics)
    ref = agent_reference(agent, result.scenario)
    wall = result.run_info.get("wall_seconds")
    entry = RunEntry(
        kind="run", scenario=result.scenario.name, scenario_hash=scenario_hash(result.scenario),
        seeds=[result.seed], agent=ref, agent_version=agent_version(ref),
        passed=result.passed, metrics=_headline(flat), complete=result.complete,
        run_dir=None if run_dir is None else str(Path(run_dir).absolute()),
        tickets=int(result.metrics["tickets"]["total"]),
        wall_seconds=wall if isinstance(wall, int | float) else None,
        simharness_version=_version(),
        samples=[Sample(seed=result.seed, metrics=flat, passed=result.passed)])
    History(path).record(entry)
    return entry


def record_sweep(result: SweepResult, scenario: Scenario, path: str | Path, *,
                 agent: Any = None, run_dir: str | Path | None = None,
                 complete: bool = True) -> RunEntry:
    """Record a sweep: one entry, one sample per grid point x seed."""
    labels = {s["point"]: s["label"] for s in result.summary}
    samples = [Sample(seed=int(r["seed"]), metrics=dict(r["metrics"]), passed=bool(r["passed"]),
                      point=int(r["point"]),
                      label=labels[r["point"]] if len(result.points) > 1 else "")
               for r in result.rows]
    names = dict.fromkeys(k for s in samples for k in s.metrics if k in HEADLINE)
    ref = agent_reference(agent, scenario)
    entry = RunEntry(
        kind="sweep", scenario=result.scenario, scenario_hash=scenario_hash(scenario),
        seeds=list(result.seeds), grid=result.grid, agent=ref, agent_version=agent_version(ref),
        passed=all(s.passed for s in samples) if samples else None,
        metrics={k: _mean([s.metrics.get(k, math.nan) for s in samples]) for k in names},
        complete=complete, run_dir=None if run_dir is None else str(Path(run_dir).absolute()),
        tickets=int(sum(s.metrics.get("tickets.total", 0) for s in samples)),
        wall_seconds=round(sum(r.get("wall_seconds", 0.0) for r in result.rows), 3),
        simharness_version=_version(), samples=samples)
    History(path).record(entry)
    return entry
