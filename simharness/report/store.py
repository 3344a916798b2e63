"""A run directory on disk, and a run read back from one.

`Result.save` writes `results.json`, `records.jsonl` and `scenario.yaml`; `load_run` reads
them into a `LoadedRun`. The report is always drawn from a `LoadedRun`: a live `Result` is
first turned into one by `snapshot`, through the same JSON form the files hold, so
`simharness report DIR` rebuilds byte-identical PNGs and HTML by construction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
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
    """A run as saved: enough to rebuild every plot and the HTML report."""

    name: str
    seed: int
    passed: bool
    metrics: dict[str, Any]
    slos: list[SLOResult]
    fault_windows: list[tuple[str, float, float]]
    diagnostics: dict[str, Any]
    run_info: dict[str, Any]
    records: list[TicketRecord]
    scenario_yaml: str | None
    duration: float
    description: str
    agent: dict[str, Any] = field(default_factory=dict)
    #: False for a run stopped by Ctrl-C: the records are the tickets that finished.
    complete: bool = True

    @property
    def agent_label(self) -> str:
        """The agent that ran, as `results.json` names it (older runs did not)."""
        return str(self.agent.get("ref") or self.agent.get("class") or "unknown agent")

    @classmethod
    def from_json(cls, results: dict[str, Any], records: list[TicketRecord],
                  scenario_yaml: str | None) -> LoadedRun:
        """Build from the `results.json` object, the records and the scenario text."""
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
                   run_info=results.get("run") or {}, records=records,
                   scenario_yaml=scenario_yaml,
                   duration=_duration(spec.get("duration"), records, windows),
                   description=str(spec.get("description") or ""),
                   agent=_agent(results.get("agent")),
                   complete=results.get("complete", True) is not False)


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


def _duration(value: Any, records: list[TicketRecord],
              windows: list[tuple[str, float, float]]) -> float:
    """The scenario's duration; without a scenario file, the last arrival (or window)."""
    try:
        seconds = parse_duration(value)
        if seconds > 0 and math.isfinite(seconds):
            return seconds
    except (TypeError, ValueError):
        pass
    ends = [r.arrived_at for r in records] + [s for _, s, _ in windows]
    return max(ends, default=0.0) or 1.0


def record_from_dict(row: dict[str, Any]) -> TicketRecord:
    """A record from one `records.jsonl` row; unknown columns (newer files) are ignored."""
    return TicketRecord(**{k: v for k, v in row.items() if k in _RECORD_FIELDS})


def snapshot(result: Result) -> LoadedRun:
    """A live Result as it will read back from disk (NaN/inf as null, tuples as lists)."""
    results = json.loads(json.dumps(result.to_json()))
    records = [record_from_dict(_clean(r.to_dict())) for r in result.records]
    return LoadedRun.from_json(results, records, scenario_text(result.scenario))


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read a directory written by `Result.save` / `simharness run`."""
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
    records = _read_records(directory / RECORDS)
    scenario_file = directory / SCENARIO
    try:
        scenario_yaml = (scenario_file.read_text(encoding="utf-8")
                         if scenario_file.is_file() else None)
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"cannot read {scenario_file}: {exc}") from None
    return LoadedRun.from_json(results, records, scenario_yaml)


def _read_records(path: Path) -> list[TicketRecord]:
    records = []
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    records.append(record_from_dict(json.loads(line)))
                except (json.JSONDecodeError, TypeError, AttributeError) as exc:
                    raise RunDirError(f"{path}:{number}: not a ticket record: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"cannot read {path}: {exc}") from None
    return records
