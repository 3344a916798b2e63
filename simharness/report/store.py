"""A run directory on disk, and a run read back from one.

`Result.save` writes `results.json`, `records.jsonl` and `scenario.yaml`; `load_run` reads
them into a `LoadedRun`. The report is always drawn from a `LoadedRun`: a live `Result` is
first turned into one by `snapshot`, through the same JSON form the files hold, so
`simharness report DIR` rebuilds byte-identical PNGs and HTML by construction.

A `LoadedRun` does not hold its records: the report reads them as a stream (its `digest`),
so a run of a million tickets is redrawn in the memory of a few numbers per ticket.
`records` still reads them all into a list, on first use, for code that wants them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import SimHarnessError
from ..records import TicketRecord
from ..result import SLOResult, _clean
from ..units import parse_duration

if TYPE_CHECKING:
    from ..result import Result
    from ..scenario import Scenario
    from .digest import RunDigest
    from .series import Timeline

RESULTS, RECORDS, SCENARIO = "results.json", "records.jsonl", "scenario.yaml"
_RECORD_FIELDS = {f.name for f in fields(TicketRecord)}


class RunDirError(SimHarnessError):
    """A run directory that cannot be read (missing, incomplete, or corrupt)."""


def scenario_text(scenario: Scenario) -> str:
    """The scenario as YAML: the file it came from (comments and all) when that file still
    says exactly what ran, else the validated model dumped (dict input, overrides)."""
    from ..scenario import scenario_from_yaml

    source = Path(scenario.source)
    dumped = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    try:
        text = source.read_text(encoding="utf-8")
        same = (scenario_from_yaml(text, scenario.source)
                .model_dump(mode="json", by_alias=True, exclude_none=True) == dumped)
    except (OSError, UnicodeDecodeError, ValueError, SimHarnessError):
        # not a file ("<dict>"), unreadable, or no longer valid: dump what ran
        same = False
    if same:
        return text
    return yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True)


@dataclass
class LoadedRun:
    """A run as saved: enough to rebuild every plot and the HTML report.

    `open_records` gives a fresh iterator over the records in arrival order (read from
    `records.jsonl`, or from a live run); the records are not held.
    """

    name: str
    seed: int
    passed: bool
    metrics: dict[str, Any]
    slos: list[SLOResult]
    fault_windows: list[tuple[str, float, float]]
    diagnostics: dict[str, Any]
    run_info: dict[str, Any]
    scenario_yaml: str | None
    duration: float
    description: str
    agent: dict[str, Any] = field(default_factory=dict)
    #: False for a run stopped by Ctrl-C: the records are the tickets that finished.
    complete: bool = True
    open_records: Callable[[], Iterable[TicketRecord]] = field(
        default=lambda: iter(()), compare=False, repr=False)
    #: The digest, when the caller already has it (a live Result computes its own).
    given_digest: RunDigest | None = field(default=None, compare=False, repr=False)

    @property
    def agent_label(self) -> str:
        """The agent that ran, as `results.json` names it (older runs did not)."""
        return str(self.agent.get("ref") or self.agent.get("class") or "unknown agent")

    @cached_property
    def digest(self) -> RunDigest:
        """What the report shows of the records, read as a stream (see digest.py)."""
        from .digest import RunDigest

        return self.given_digest or RunDigest(self.open_records, self.fault_windows)

    @property
    def timeline(self) -> Timeline:
        """The few numbers per ticket the plots draw."""
        return self.digest.timeline

    @cached_property
    def records(self) -> list[TicketRecord]:
        """Every record, in arrival order, read into a list on first use (a big run's
        take gigabytes: the report never needs them)."""
        return list(self.open_records())

    def iter_records(self) -> Iterator[TicketRecord]:
        return iter(self.open_records())

    @classmethod
    def from_json(cls, results: dict[str, Any], records: Callable[[], Iterable[TicketRecord]],
                  scenario_yaml: str | None, digest: RunDigest | None = None) -> LoadedRun:
        """Build from the `results.json` object, the records (a function giving a fresh
        iterator over them) and the scenario text."""
        try:
            windows = [(str(w["name"]), float(w["start"]), float(w["end"]))
                       for w in results.get("fault_windows", [])]
            slos = [SLOResult(metric=s["metric"], bound=s["bound"], value=s.get("value"),
                              passed=bool(s["passed"]), message=s.get("message", ""))
                    for s in results.get("slos", [])]
            name, seed = str(results["scenario"]), int(results["seed"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunDirError(f"{RESULTS} lacks a field or has a bad value: {exc}") from None
        spec = _scenario_fields(scenario_yaml)
        return cls(name=name, seed=seed, passed=bool(results.get("passed", False)),
                   metrics=results.get("metrics") or {}, slos=slos, fault_windows=windows,
                   diagnostics=results.get("diagnostics") or {},
                   run_info=results.get("run") or {}, scenario_yaml=scenario_yaml,
                   duration=_duration(spec.get("duration"), records, windows),
                   description=str(spec.get("description") or ""),
                   agent=_agent(results.get("agent")),
                   complete=results.get("complete", True) is not False,
                   open_records=records, given_digest=digest)


def _agent(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _scenario_fields(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _duration(value: Any, records: Callable[[], Iterable[TicketRecord]],
              windows: list[tuple[str, float, float]]) -> float:
    """The scenario's duration; without a scenario file, the last arrival (or window)."""
    try:
        seconds = parse_duration(value)
        if seconds > 0 and math.isfinite(seconds):
            return seconds
    except (TypeError, ValueError):
        pass
    last = max((r.arrived_at for r in records()), default=0.0)
    return max([last, *(s for _, s, _ in windows)]) or 1.0


def record_from_dict(row: dict[str, Any]) -> TicketRecord:
    """A record from one `records.jsonl` row; unknown columns (newer files) are ignored."""
    return TicketRecord(**{k: v for k, v in row.items() if k in _RECORD_FIELDS})


def saved_form(record: TicketRecord) -> TicketRecord:
    """A record as it reads back from `records.jsonl` (NaN/inf as None, tuples as lists)."""
    return record_from_dict(_clean(record.to_dict()))


def snapshot(result: Result) -> LoadedRun:
    """A live Result as it will read back from disk (NaN/inf as null, tuples as lists);
    its records are streamed from the result's store, not copied."""
    results = json.loads(json.dumps(result.to_json()))
    return LoadedRun.from_json(results, lambda: map(saved_form, result.iter_records()),
                               result.scenario_file_text(), digest=result.digest)


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read a directory written by `Result.save` / `simharness run`. The records are read
    (and checked) when they are used: a bad line raises RunDirError then."""
    directory = Path(run_dir)
    if not directory.is_dir():
        raise RunDirError(f"no such run directory: {directory}")
    for name in (RESULTS, RECORDS):
        if not (directory / name).is_file():
            raise RunDirError(f"{directory / name} is missing: not a directory written by "
                              f"`simharness run`?")
    try:
        results = json.loads((directory / RESULTS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirError(f"cannot read {directory / RESULTS}: {exc}") from None
    if not isinstance(results, dict):
        raise RunDirError(f"{directory / RESULTS} does not hold a JSON object")
    path = directory / RECORDS
    scenario_file = directory / SCENARIO
    try:
        scenario_yaml = (scenario_file.read_text(encoding="utf-8")
                         if scenario_file.is_file() else None)
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"cannot read {scenario_file}: {exc}") from None
    return LoadedRun.from_json(results, lambda: read_records(path), scenario_yaml)


def read_records(path: Path) -> Iterator[TicketRecord]:
    """The records of a `records.jsonl`, one line at a time."""
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = record_from_dict(json.loads(line))
                except (json.JSONDecodeError, TypeError, AttributeError) as exc:
                    raise RunDirError(f"{path}:{number}: not a ticket record: {exc}") from None
                yield record
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"cannot read {path}: {exc}") from None
