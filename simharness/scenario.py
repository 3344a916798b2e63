"""The scenario file: what to simulate, for how long, against which agent, with which faults.

The pydantic models ARE the file format (their JSON Schema documents it). Each section's
models live beside the code that uses them (`traffic/config.py`, `world/config.py`,
`world/fault_spec.py`, `agents/config.py`, `distributions.py`); `Scenario` ties them
together and this module re-exports them as the format's front door. The loaders
turn every validation failure into `file:line:col path: message` lines, all at once, so a
user fixes a broken scenario in one pass instead of one error per run.
"""

from __future__ import annotations

import copy
import difflib
import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._yaml import SourceMap, format_path, load_yaml
from .agents.config import AgentConfig
from .config_base import ConfigModel as _Model
from .config_base import NonEmptyStr
from .distributions import (
    DIST_KINDS,
    Distribution,
    ExponentialDist,
    FixedDist,
    LognormalDist,
    UniformDist,
)
from .errors import ErrorLocation, ScenarioError
from .limits import MAX_SCENARIO_BYTES, read_text_bounded
from .slo import Bound, parse_bound
from .traffic.config import TAGS, RateStep, SyntheticTraffic, TagMix, TrafficSource
from .units import Duration
from .world.config import (
    Accuracy,
    CassetteSpec,
    EscalationConfig,
    HumanReviewConfig,
    LLMConfig,
    LLMTier,
    Price,
    ToolConfig,
    WorldConfig,
)
from .world.fault_spec import FaultSpec, fault_fields

__all__ = [
    "TAGS", "Accuracy", "AgentConfig", "Bound", "Distribution", "EscalationConfig",
    "ExponentialDist", "FaultSpec", "FixedDist", "HumanReviewConfig", "LLMConfig", "LLMTier",
    "LognormalDist", "Price", "RateStep", "Scenario", "SyntheticTraffic", "TagMix", "ToolConfig",
    "TrafficSource", "UniformDist", "WorldConfig", "load_scenario", "parse_bound",
    "parse_path", "scenario_from_dict", "scenario_from_yaml",
]




def _fault_issues(index: int, raw: Any) -> list[_Issue]:
    """Check one `faults:` entry against the fault registry: its kind and its parameters.

    Works on the data as written, so a fault with another mistake is still checked.
    """
    if isinstance(raw, FaultSpec):
        kind: Any = raw.kind
        params = raw.params()
    elif isinstance(raw, dict):
        kind = raw.get("kind")
        common = {n for name, f in FaultSpec.model_fields.items() for n in (name, f.alias) if n}
        params = {k: v for k, v in raw.items() if k not in common}
    else:
        return []  # FaultSpec validation says what is wrong
    if not isinstance(kind, str) or not kind:
        return []
    import fault_injectors  # lazily: the injectors import parts of simharness

    here: tuple[str | int, ...] = ("faults", index)
    try:
        injector = fault_injectors.get(kind)
    except KeyError as exc:
        return [_Issue((*here, "kind"), str(exc.args[0]))]
    except Exception as exc:  # a broken plugin in the entry-point group
        return [_Issue((*here, "kind"), f"cannot load the fault injectors: "
                                        f"{type(exc).__name__}: {exc}")]
    return _param_issues(here, kind, injector.Params, params)


def _param_issues(here: tuple[str | int, ...], kind: str, model: type[BaseModel],
                  params: dict[str, Any]) -> list[_Issue]:
    """Validate a fault's kind-specific fields with its injector's `Params` model."""
    names = [f.alias or n for n, f in model.model_fields.items()]
    issues: list[_Issue] = []
    extra = model.model_config.get("extra")
    if extra not in ("allow", "forbid"):
        # Params that ignore unknown fields would let a typo slip through silently.
        accepted = {n for name, f in model.model_fields.items() for n in (name, f.alias) if n}
        unknown = [k for k in params if k not in accepted]
        issues += [_Issue((*here, k), _unknown_param(k, kind, names), key=True) for k in unknown]
        params = {k: v for k, v in params.items() if k not in unknown}
    try:
        model.model_validate(params)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            path = (*here, *loc)
            if error["type"] == "extra_forbidden":
                message = (_unknown_param(str(loc[-1]), kind, names) if len(loc) == 1
                           else f"unknown field {loc[-1]!r}")
                issues.append(_Issue(path, message, key=True))
            elif error["type"] == "missing":
                issues.append(_Issue(path[:-1], f"missing required field {loc[-1]!r} "
                                                f"for fault kind {kind!r}"))
            elif error["type"] == "union_tag_invalid":
                ctx = error["ctx"]
                disc = ctx["discriminator"].strip("'")
                issues.append(_Issue((*path, disc), f"unknown {disc} {ctx['tag']!r}, "
                                                    f"expected one of {ctx['expected_tags']}"))
            else:
                issues.append(_Issue(path, _message(error)))
    return issues


def _unknown_param(key: str, kind: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, [*names, *fault_fields()], n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif names:
        hint = f" (its parameters: {', '.join(names)})"
    else:
        hint = " (it takes no parameters)"
    return f"unknown field {key!r} for fault kind {kind!r}{hint}"


def _bound_text(value: Any) -> str:
    parse_bound(value)
    return value.strip()


# --------------------------------------------------------------------------- scenario

_ISSUES = "simharness.scenario.issues"
_BASE_DIR = "simharness.scenario.base_dir"


class _Issue(NamedTuple):
    """A problem found by a check that spans fields; `path` is where in the data it is."""

    path: tuple[str | int, ...]
    message: str
    key: bool = False  # point at the key (an unknown field) rather than its value


def _report(issues: list[_Issue], info: ValidationInfo) -> None:
    """Hand issues to the loader (which adds line numbers), or fail with their paths."""
    sink = (info.context or {}).get(_ISSUES)
    if sink is not None:
        sink.extend(issues)
    elif issues:
        raise ValueError("; ".join(f"{format_path(i.path)}: {i.message}" for i in issues))


class Scenario(_Model):
    """A simulation run: traffic into an agent, a simulated world, faults, and expectations."""

    name: NonEmptyStr = Field(description="Short name, used in reports and file names.")
    description: str = Field("", description="What this scenario checks, in prose.")
    seed: int = Field(default=0, description="Random seed; the same seed gives the same run.")
    duration: Duration = Field(gt=0, description="How long tickets keep arriving, e.g. '1h'.")
    start: datetime = Field(
        default=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        description="Simulated wall-clock time at t=0 (naive times are UTC).",
    )
    drain: Duration = Field(
        default=600.0, description="After `duration`, how long tickets in flight may still finish."
    )
    agent: AgentConfig = Field(default_factory=AgentConfig, description="The agent under test.")
    traffic: list[TrafficSource] = Field(min_length=1, description="Where tickets come from.")
    world: WorldConfig = Field(default_factory=WorldConfig, description="The simulated world.")
    faults: list[FaultSpec] = Field(default_factory=list, description="Faults to inject.")
    expect: dict[str, Annotated[str, BeforeValidator(_bound_text)]] = Field(
        default_factory=dict,
        description="Metric name -> bound, e.g. 'routing.accuracy': '>= 0.8', "
        "'latency.p95': '<= 30s', 'cost.total_usd': 'between 1 and 5'. "
        "Unknown metric names are errors.",
    )

    _source: str = PrivateAttr("<scenario>")
    _raw: dict[str, Any] | None = PrivateAttr(None)
    _positions: SourceMap = PrivateAttr(default_factory=SourceMap)

    @field_validator("start", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value

    @field_validator("start")
    @classmethod
    def _naive_is_utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Scenario:
        scenario = handler(data)
        if isinstance(data, dict) and scenario._raw is None:
            scenario._raw = copy.deepcopy(data)
        return scenario

    @field_validator("faults", mode="before")
    @classmethod
    def _known_fault_kinds(cls, faults: Any, info: ValidationInfo) -> Any:
        """Every fault's kind is registered and its kind-specific fields fit that kind."""
        if isinstance(faults, list):
            _report([issue for i, raw in enumerate(faults) for issue in _fault_issues(i, raw)],
                    info)
        return faults

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Scenario:
        """Checks that need several sections; issues carry their own paths."""
        issues: list[_Issue] = []
        first: dict[str, int] = {}
        targets = self.fault_targets()
        for i, fault in enumerate(self.faults):
            if fault.name is None:
                fault.name = f"{fault.kind}-{i}"
            if fault.name in first:
                issues.append(_Issue(("faults", i, "name"), f"duplicate fault name {fault.name!r} "
                                                            f"(also faults[{first[fault.name]}])"))
            first.setdefault(fault.name, i)
            if fault.target is not None and fault.target not in targets:
                issues.append(_Issue(("faults", i, "target"),
                                     f"unknown target {fault.target!r}; "
                                     f"valid targets: {', '.join(targets)}"))
        issues += self._expect_issues()
        issues += self._replay_issues((info.context or {}).get(_BASE_DIR))
        _report(issues, info)
        return self

    def _replay_issues(self, base_dir: Path | None) -> list[_Issue]:
        """Every replayed file opens and has the columns its mapping names (the rows are
        read when the run starts); every cassette reads."""
        if base_dir is None:
            return []
        from .traffic.replay import check  # lazily: readers are only needed for replays
        from .traffic.row_mapping import MappingError

        issues = []
        for i, source in enumerate(self.traffic):
            if source.replay is not None:
                try:
                    check(source.replay, base_dir)
                except MappingError as exc:
                    issues.append(_Issue(("traffic", i, "replay", *exc.field), exc.message))
        for name, tool in self.world.tools.items():
            if isinstance(tool.cassette, CassetteSpec):
                from .world.tool_cassette import load_interactions
                from .world.tools import ToolSetupError

                try:
                    load_interactions(base_dir / tool.cassette.path, name)
                except ToolSetupError as exc:
                    issues.append(_Issue(("world", "tools", name, "cassette"), exc.message))
        return issues

    def _expect_issues(self) -> list[_Issue]:
        """Every `expect:` key names a metric this scenario will have (after fault names)."""
        if not self.expect:
            return []
        # lazily: the metrics package is heavier and reads this module's types
        from .metrics.catalog import metric_paths, unknown_path_message

        valid = metric_paths(self)
        return [_Issue(("expect", path), unknown_path_message(path, valid), key=True)
                for path in self.expect if path not in valid]

    @property
    def source(self) -> str:
        """The file (or "<string>", "<dict>") this scenario was loaded from."""
        return self._source

    def fault_targets(self) -> list[str]:
        """Every valid fault target: 'llm', 'llm.<tier>', 'tools.<name>'."""
        return ["llm", *(f"llm.{t}" for t in self.world.llm.tiers),
                *(f"tools.{t}" for t in self.world.tools)]

    def bounds(self) -> dict[str, Bound]:
        """`expect` parsed: metric name -> Bound."""
        return {metric: parse_bound(text) for metric, text in self.expect.items()}

    def error_at(self, path: str | tuple[str | int, ...], message: str) -> ErrorLocation:
        """An ErrorLocation in this scenario's file, for checks done after loading."""
        parts = parse_path(path) if isinstance(path, str) else tuple(path)
        line, col = self._positions.value(parts) or (None, None)
        return ErrorLocation(self._source, line, col, format_path(parts), message)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A copy with values replaced at paths like `traffic[0].synthetic.rate`, re-validated."""
        raw = _plain(self._raw) if self._raw is not None else self.model_dump(by_alias=True)
        changed: list[tuple[str | int, ...]] = []
        for text, value in overrides.items():
            path = parse_path(text)
            try:
                _set_path(raw, path, copy.deepcopy(value))
            except (KeyError, IndexError, TypeError) as exc:
                raise ScenarioError([ErrorLocation(self._source, None, None, text,
                                                   f"cannot override: {exc.args[0]}")]) from None
            changed.append(path)
        return _validate(raw, self._source, self._positions, changed)

    def scaled(self, factor: float) -> Scenario:
        """A shorter copy for a quick pass: the duration and every time on the timeline
        (fault windows, traffic start/stop and rate steps) times `factor` (0 < f <= 1)."""
        from .scaling import scaled

        return scaled(self, factor)

    def _repr_html_(self) -> str:
        """Jupyter's view: agent, duration, traffic, SLOs and fault windows."""
        from .report.notebook import scenario_html

        return scenario_html(self)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the scenario format, for editors and docs."""
        return cls.model_json_schema()


# --------------------------------------------------------------------------- paths

_PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(-?\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(text: str) -> tuple[str | int, ...]:
    """`traffic[0].synthetic.rate` -> ("traffic", 0, "synthetic", "rate"); `["a.b"]` quotes."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if not match or (pos == 0 and text.startswith(".")):
            raise ScenarioError(f"bad path {text!r} at character {pos + 1}")
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    if not parts:
        raise ScenarioError("empty override path")
    return tuple(parts)


def _set_path(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set `value` at `path`, creating missing mappings; lists must already have the index."""
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = format_path(path[:i]) or "the top level"
        if isinstance(part, int):
            if not isinstance(data, list):
                raise TypeError(f"{where} is not a list")
            if not -len(data) <= part < len(data):
                raise IndexError(f"{where} has no item {part} (it has {len(data)})")
        elif not isinstance(data, dict):
            raise TypeError(f"{where} is not a mapping")
        elif not last and data.get(part) is None:
            data[part] = {}
        if last:
            data[part] = value
        else:
            data = data[part]


def _plain(value: Any) -> Any:
    """Deep copy of raw input, turning any model instances back into dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


# --------------------------------------------------------------------------- loaders

def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file."""
    filename = str(path)
    text = read_text_bounded(path, MAX_SCENARIO_BYTES, "scenario file")
    return scenario_from_yaml(text, filename)


def scenario_from_yaml(text: str, filename: str = "<string>") -> Scenario:
    """Validate scenario YAML; errors name `filename` with line and column."""
    data, positions = load_yaml(text, filename)
    return _validate(data, filename, positions)


def scenario_from_dict(data: dict[str, Any], filename: str = "<dict>") -> Scenario:
    """Validate scenario data built in Python; errors name fields but no lines."""
    return _validate(copy.deepcopy(data), filename, SourceMap())


def _validate(data: Any, filename: str, positions: SourceMap,
              overridden: list[tuple[str | int, ...]] | None = None) -> Scenario:
    if data is None:
        raise ScenarioError([ErrorLocation(
            filename, None, None, "",
            "the scenario is empty; expected a mapping with 'name', 'duration' and 'traffic'",
        )])
    if not isinstance(data, dict):
        line, col = positions.value(()) or (None, None)
        raise ScenarioError([ErrorLocation(
            filename, line, col, "",
            f"expected a mapping of scenario fields at the top level, got {_describe(data)}",
        )])
    locator = _Locator(data, filename, positions, overridden or [])
    issues: list[_Issue] = []
    base_dir = Path.cwd() if filename.startswith("<") else Path(filename).parent
    try:
        scenario = Scenario.model_validate(data, context={_ISSUES: issues, _BASE_DIR: base_dir})
    except ValidationError as exc:
        errors = [locator.pydantic(e) for e in exc.errors()]
        errors += [locator.at(*issue) for issue in issues]  # found before validation failed
        failed = {e["loc"][0] for e in exc.errors() if e["loc"]}
        errors += [locator.at(*issue) for issue in _salvaged_issues(data, failed)]
        raise ScenarioError(_in_file_order(errors)) from None
    if issues:
        raise ScenarioError(_in_file_order([locator.at(*issue) for issue in issues]))
    scenario._source = filename
    scenario._raw = data
    scenario._positions = positions
    return scenario


def _salvaged_issues(data: dict[str, Any], failed: set[Any]) -> list[_Issue]:
    """The checks across sections (fault targets and names, `expect:` metric paths), run
    when some field failed, so one pass reports every problem. A check that needs a section
    which did not validate is skipped rather than guessed."""
    sections: dict[str, Any] = {}
    for name in ("traffic", "world"):
        if name in failed:
            continue
        field = Scenario.model_fields[name]
        value = data[name] if name in data else field.get_default(call_default_factory=True)
        try:
            sections[name] = TypeAdapter(field.annotation or Any).validate_python(value)
        except (ValidationError, TypeError):
            continue
    raw_faults: list[Any] = data.get("faults") or []
    if "faults" in failed or not isinstance(raw_faults, list):
        return []  # fault names decide which metric paths exist
    faults = [FaultSpec.model_construct(**f) if isinstance(f, dict) else None
              for f in raw_faults]
    names: list[str] = [
        f["name"] if isinstance(f, dict) and isinstance(f.get("name"), str)
        else f"{f.get('kind') if isinstance(f, dict) else 'fault'}-{i}"
        for i, f in enumerate(raw_faults)]
    issues: list[_Issue] = []
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            issues.append(_Issue(("faults", i, "name"), f"duplicate fault name {name!r} "
                                                        f"(also faults[{first[name]}])"))
        first.setdefault(name, i)
    world = sections.get("world")
    if world is not None:
        stand_in = Scenario.model_construct(world=world)
        targets = stand_in.fault_targets()
        for i, fault in enumerate(faults):
            target = getattr(fault, "target", None)
            if isinstance(target, str) and target not in targets:
                issues.append(_Issue(("faults", i, "target"),
                                     f"unknown target {target!r}; "
                                     f"valid targets: {', '.join(targets)}"))
    expect = data.get("expect")
    traffic = sections.get("traffic", _raw_routes(data.get("traffic")))
    if "expect" not in failed and isinstance(expect, dict) and expect \
            and traffic is not None and world is not None:
        stand_in = Scenario.model_construct(
            traffic=traffic, world=world, expect=expect,
            faults=[FaultSpec.model_construct(name=n) for n in names])
        issues += stand_in._expect_issues()
    return issues


def _raw_routes(traffic: Any) -> list[TrafficSource] | None:
    """Traffic sources that carry only their routes as written (when traffic did not
    validate), or None when even the routes are unreadable."""
    if not isinstance(traffic, list):
        return None
    default = SyntheticTraffic.model_fields["routes"].get_default(call_default_factory=True)
    sources = []
    for source in traffic:
        synthetic = source.get("synthetic") if isinstance(source, dict) else None
        routes = synthetic.get("routes", default) if isinstance(synthetic, dict) else None
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            return None
        sources.append(TrafficSource.model_construct(
            synthetic=SyntheticTraffic.model_construct(routes=routes)))
    return sources


def _in_file_order(errors: list[ErrorLocation]) -> list[ErrorLocation]:
    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=lambda e: (e.line is None, e.line or 0, e.column or 0))


# --------------------------------------------------------------------------- error messages

class _Locator:
    """Turns pydantic errors into ErrorLocations by walking the data the user wrote."""

    def __init__(self, data: dict[str, Any], filename: str, positions: SourceMap,
                 overridden: list[tuple[str | int, ...]]) -> None:
        self.data = data
        self.filename = filename
        self.positions = positions
        self.overridden = overridden

    def data_path(self, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
        """The part of `loc` that exists in the data (drops union tags and missing names)."""
        node: Any = self.data
        path: list[str | int] = []
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif (isinstance(node, list) and isinstance(part, int)
                  and 0 <= part < len(node)):
                node = node[part]
            else:
                continue
            path.append(part)
        return tuple(path)

    def at(self, path: tuple[str | int, ...], message: str, key: bool = False) -> ErrorLocation:
        path = self.data_path(path)
        override = next((p for p in self.overridden if path[: len(p)] == p), None)
        if override is not None:
            where = None
            message += f" (set by override {format_path(override)!r})"
        else:
            where = self.positions.key(path) if key else self.positions.value(path)
        line, col = where or (None, None)
        return ErrorLocation(self.filename, line, col, format_path(path), message)

    def pydantic(self, error: Any) -> ErrorLocation:
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            return self.at(loc, _unknown_field(loc), key=True)
        if kind == "missing":
            return self.at(loc[:-1], f"missing required field {loc[-1]!r}"
                                     f"{_expected_of(loc)}")
        if kind == "union_tag_invalid":
            ctx = error["ctx"]
            disc = ctx["discriminator"].strip("'")
            return self.at((*loc, disc), f"unknown {disc} {ctx['tag']!r}, "
                                         f"expected one of {ctx['expected_tags']}")
        if kind == "union_tag_not_found":
            disc = error["ctx"]["discriminator"].strip("'")
            kinds = ", ".join(repr(k) for k in DIST_KINDS)
            return self.at(loc, f"missing required field {disc!r} (one of {kinds})")
        return self.at(loc, _message(error))


_TYPE_WORDS = {
    "model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping",
    "list_type": "a list", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
}
_LIMITS = {"greater_than": ("gt", "above"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "below"), "less_than_equal": ("le", "at most")}


def _message(error: Any) -> str:
    """A pydantic error message in the words of the scenario format."""
    kind, ctx, got = error["type"], error.get("ctx") or {}, _describe(error.get("input"))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {got}"
    if kind in _LIMITS:
        key, words = _LIMITS[kind]
        return f"must be {words} {_describe(ctx[key])}, got {got}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {got}"
    if kind == "too_short":
        count = ctx["min_length"]
        return f"needs at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind.startswith(("datetime", "date")):
        return f"expected a date and time like 2026-01-05T09:00:00Z, got {got}"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _expected_of(loc: tuple[str | int, ...]) -> str:
    """': <the field's description>' for a missing field, so the message says what to give."""
    model = _model_at(loc[:-1])
    field = next((f for n, f in model.model_fields.items() if loc[-1] in (n, f.alias)),
                 None) if model else None
    return f" ({field.description.rstrip('.')})" if field and field.description else ""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _unknown_field(loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    names = [f.alias or n for n, f in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if model is Accuracy:
        return f"unknown tag {key!r}{hint} (known: default, {', '.join(TAGS)})"
    if not hint and names:
        hint = f" (expected one of: {', '.join(names)})"
    return f"unknown field {key!r}{hint}"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class validating the data at `loc` (an error loc), by walking annotations."""
    tp: Any = Scenario
    parts = list(loc)
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            tagged = [m for m in members if parts and _tag(m) == parts[0]]
            if tagged:
                tp = tagged[0]
                parts.pop(0)
            elif len(members) == 1:
                tp = members[0]
            else:
                return None
            continue
        if not parts:
            return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        part = parts.pop(0)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return None


def _tag(model: Any) -> Any:
    field = getattr(model, "model_fields", {}).get("dist")
    return field.default if field is not None else None
