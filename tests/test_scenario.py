import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

import fault_injectors
from simharness.errors import ScenarioError
from simharness.scenario import (
    Accuracy,
    ExponentialDist,
    FaultSpec,
    FixedDist,
    LognormalDist,
    Scenario,
    UniformDist,
    load_scenario,
    parse_bound,
    parse_path,
    scenario_from_dict,
    scenario_from_yaml,
)
from simharness.units import Duration

FIXTURES = Path(__file__).parent / "fixtures"

HEAD = """\
name: t
duration: 1h
traffic:
  - synthetic:
      rate: 2/s
"""


def load_errors(tmp_path: Path, text: str, name: str = "f.yaml") -> list[str]:
    """Write `text` to a file, load it, and return the error lines relative to tmp_path."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(e).replace(f"{tmp_path}/", "") for e in info.value.errors]


class _SlowParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extra: Duration = Field(description="Added latency.")
    jitter: Duration = Field(default=0.0, description="Random extra on top.")


class _LaxParams(BaseModel):  # pydantic's default extra="ignore", as a plugin might write it
    level: int = 1


@pytest.fixture
def slow_kind(monkeypatch):
    """Test-only fault kinds with parameters, registered for one test and then removed."""
    fault_injectors.known_kinds()  # load the built-in kinds first, so teardown keeps them

    class Slow(fault_injectors.FaultInjector):
        kind = "test_slow"
        Params = _SlowParams

    class Lax(fault_injectors.FaultInjector):
        kind = "test_lax"
        Params = _LaxParams

    monkeypatch.setitem(fault_injectors._REGISTRY, "test_slow", Slow)
    monkeypatch.setitem(fault_injectors._REGISTRY, "test_lax", Lax)
    return Slow


# ------------------------------------------------------------------ contract fixtures

def test_contract_basic_loads_as_written():
    s = load_scenario(FIXTURES / "contract_basic.yaml")
    assert s.name == "contract-basic"
    assert s.description.startswith("One hour of support traffic")
    assert s.seed == 42
    assert s.duration == 3600.0
    assert s.drain == 600.0
    assert s.start == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert s.agent.ref == "simharness.agents.reference:ResilientRouter"
    assert s.agent.workers == 16
    assert s.agent.watchdog == 5.0 and s.agent.ticket_timeout == 600.0
    assert s.agent.http_timeout == 60.0
    synth = s.traffic[0].synthetic
    assert synth is not None
    assert synth.rate == 2.0
    assert synth.routes == ["billing", "technical", "account", "shipping", "refund", "cancellation"]
    assert (synth.mix.multi_issue, synth.mix.mind_change) == (0.10, 0.05)
    assert (synth.mix.high_value, synth.mix.ambiguous) == (0.05, 0.05)
    tiers = s.world.llm.tiers
    assert list(tiers) == ["small", "large"]
    assert isinstance(tiers["small"].latency, LognormalDist)
    assert (tiers["small"].latency.median, tiers["small"].latency.p95) == (0.4, 1.2)
    large_price = tiers["large"].price
    assert (large_price.input_per_mtok, large_price.output_per_mtok) == (2.5, 10.0)
    assert tiers["small"].price.output_per_mtok == 0.60
    assert tiers["large"].accuracy.default == 0.96
    assert tiers["small"].accuracy.for_tags(["ambiguous"]) == 0.60
    assert tiers["large"].rpm == 1000
    crm = s.world.tools["crm"]
    assert isinstance(crm.latency, ExponentialDist) and crm.latency.mean() == 0.05
    assert crm.capacity == 50
    assert s.world.escalation.account_value_at_least == 100000
    fault = s.faults[0]
    assert (fault.name, fault.kind, fault.target) == ("large-llm-outage", "outage", "llm.large")
    assert fault.window() == (1200.0, 1500.0)
    assert fault.params() == {}
    assert s.expect == {"routing.accuracy": ">= 0.80", "latency.p95": "<= 30s"}
    assert s.bounds()["latency.p95"].check(29.0)
    assert s.source == str(FIXTURES / "contract_basic.yaml")


def test_contract_queue_loads_with_defaults():
    s = load_scenario(FIXTURES / "contract_queue.yaml")
    assert (s.name, s.seed, s.duration) == ("contract-queue", 7, 7200.0)
    assert s.agent.workers == 4
    synth = s.traffic[0].synthetic
    assert synth is not None and synth.rate == 8.0
    assert synth.routes == ["billing", "technical", "account"]
    assert synth.mix.multi_issue == 0.0
    assert isinstance(synth.follow_up_delay, UniformDist)
    assert (synth.follow_up_delay.low, synth.follow_up_delay.high) == (60.0, 600.0)
    assert synth.channels == ["email", "chat", "web"] and synth.languages == {"en": 1.0}
    # documented default tiers
    tiers = s.world.llm.tiers
    assert set(tiers) == {"small", "large"}
    assert tiers["small"].rpm == 3000 and tiers["large"].rpm == 1000
    assert tiers["large"].latency.median == 1.5 and tiers["large"].latency.p95 == 4.0
    assert tiers["small"].accuracy.multi_issue == 0.55
    assert s.world.llm.response_format == "json"
    assert s.world.tools["crm"].latency.mean() == 0.4
    assert s.world.tools["crm"].capacity == 1000
    assert s.faults == [] and s.expect == {}


# ------------------------------------------------------------------ broken files

BROKEN = [
    pytest.param(
        HEAD.replace("rate: 2/s", "rate: fast"),
        ["f.yaml:5:13 traffic[0].synthetic.rate: expected a rate like '2/s', got 'fast'"],
        id="bad-rate",
    ),
    pytest.param(
        HEAD.replace("duration: 1h", "duration: soon"),
        ["f.yaml:2:11 duration: expected a duration like '90s', '5m', '1h', got 'soon'"],
        id="bad-duration",
    ),
    pytest.param(
        HEAD + "      rouets: [a, b]\n",
        ["f.yaml:6:7 traffic[0].synthetic.rouets: unknown field 'rouets'; did you mean 'routes'?"],
        id="unknown-field-did-you-mean",
    ),
    pytest.param(
        HEAD + "colour: blue\n",
        ["f.yaml:6:1 colour: unknown field 'colour' (expected one of: name, description, seed, "
         "duration, start, drain, agent, traffic, world, faults, expect)"],
        id="unknown-field-lists-valid",
    ),
    pytest.param(
        HEAD.replace("duration: 1h\n", ""),
        ["f.yaml:1:1: missing required field 'duration' (How long tickets keep arriving, "
         "e.g. '1h')"],
        id="missing-top-level",
    ),
    pytest.param(
        HEAD + "world:\n  tools:\n    crm:\n      latency: {dist: lognormal, median: 1s}\n",
        ["f.yaml:9:16 world.tools.crm.latency: missing required field 'p95' "
         "(95th percentile, above the median, e.g. '1.2s')"],
        id="missing-nested",
    ),
    pytest.param(
        HEAD + "      follow_up_delay: {dist: normal, mean: 5m}\n",
        ["f.yaml:6:31 traffic[0].synthetic.follow_up_delay.dist: unknown dist 'normal', "
         "expected one of 'fixed', 'exponential', 'lognormal', 'uniform'"],
        id="unknown-distribution",
    ),
    pytest.param(
        HEAD + "      follow_up_delay: {mean: 5m}\n",
        ["f.yaml:6:24 traffic[0].synthetic.follow_up_delay: missing required field 'dist' "
         "(one of 'fixed', 'exponential', 'lognormal', 'uniform')"],
        id="distribution-without-dist",
    ),
    pytest.param(
        HEAD + "      follow_up_delay: {dist: lognormal, median: 2s, p95: 1s}\n",
        ["f.yaml:6:24 traffic[0].synthetic.follow_up_delay: "
         "p95 (1s) must be above the median (2s)"],
        id="lognormal-p95-below-median",
    ),
    pytest.param(
        HEAD + "      follow_up_delay: {dist: uniform, low: 10m, high: 1m}\n",
        ["f.yaml:6:24 traffic[0].synthetic.follow_up_delay: "
         "high (60s) must be at least low (600s)"],
        id="uniform-high-below-low",
    ),
    pytest.param(
        HEAD + "      follow_up_delay: {dist: exponential, mean: soon}\n",
        ["f.yaml:6:50 traffic[0].synthetic.follow_up_delay.mean: "
         "expected a duration like '90s', '5m', '1h', got 'soon'"],
        id="bad-value-inside-distribution",
    ),
    pytest.param(
        HEAD + "faults:\n  - kind: outage\n    target: llm.medium\n",
        ["f.yaml:8:13 faults[0].target: unknown target 'llm.medium'; "
         "valid targets: llm, llm.small, llm.large, tools.crm"],
        id="bad-fault-target",
    ),
    pytest.param(
        HEAD + "faults:\n  - {kind: outage, name: x}\n  - {kind: latency, name: x}\n",
        ["f.yaml:8:27 faults[1].name: duplicate fault name 'x' (also faults[0])"],
        id="duplicate-fault-name",
    ),
    pytest.param(
        HEAD + "faults:\n  - {kind: outage, at: 1m, until: 5m}\n",
        ["f.yaml:7:5 faults[0]: use either 'at' (with 'duration') or 'from'/'until', not both"],
        id="fault-two-window-styles",
    ),
    pytest.param(
        HEAD + "faults:\n  - {kind: outage, probability: 2}\n",
        ["f.yaml:7:33 faults[0].probability: must be at most 1, got 2"],
        id="fault-probability",
    ),
    pytest.param(
        "name: t\nduration: 1h\ntraffic:\n  - synthetic:\n      rate: 2/s\n"
        "    rate: 1/s\n",
        ["f.yaml:6:5 traffic[0].rate: unknown field 'rate' (expected one of: synthetic, replay)"],
        id="wrong-indent",
    ),
    pytest.param(
        "name: t\nduration: 1h\ntraffic:\n  - {}\n",
        ["f.yaml:4:5 traffic[0]: a traffic source needs exactly one kind: 'synthetic' or 'replay'"],
        id="traffic-without-kind",
    ),
    pytest.param(
        "name: t\nduration: 1h\ntraffic: []\n",
        ["f.yaml:3:10 traffic: needs at least 1 entry"],
        id="no-traffic",
    ),
    pytest.param(
        HEAD + "      schedule: [{at: 0, rate: 1/s}]\n",
        ["f.yaml:5:7 traffic[0].synthetic: give exactly one of 'rate' or 'schedule'"],
        id="rate-and-schedule",
    ),
    pytest.param(
        HEAD.replace("rate: 2/s", "schedule: [{at: 10m, rate: 1/s}, {at: 5m, rate: 2/s}]"),
        ["f.yaml:5:17 traffic[0].synthetic.schedule: steps must be sorted by 'at': "
         "step 1 (at 300s) is not after step 0 (at 600s)"],
        id="unsorted-schedule",
    ),
    pytest.param(
        HEAD + "      mix: {multi_issue: 0.5, mind_change: 0.3, ambiguous: 0.3}\n",
        ["f.yaml:6:12 traffic[0].synthetic.mix: multi_issue + mind_change + ambiguous must be "
         "at most 1 (a ticket is at most one of them), got 1.1"],
        id="tag-mix-over-one",
    ),
    pytest.param(
        HEAD + "      routes: [a, b, a]\n",
        ["f.yaml:6:15 traffic[0].synthetic.routes: duplicate entries: 'a'"],
        id="duplicate-routes",
    ),
    pytest.param(
        HEAD + "world:\n  llm:\n    tiers:\n      small:\n        accuracy: {sarcastic: 0.5}\n",
        ["f.yaml:10:20 world.llm.tiers.small.accuracy.sarcastic: unknown tag 'sarcastic' "
         "(known: default, multi_issue, mind_change, high_value, ambiguous, malformed)"],
        id="accuracy-unknown-tag",
    ),
    pytest.param(
        HEAD + "world:\n  llm:\n    response_format: xml\n",
        ["f.yaml:8:22 world.llm.response_format: expected 'json' or 'label', got 'xml'"],
        id="bad-literal",
    ),
    pytest.param(
        HEAD + "agent:\n  ref: my_agent\n",
        ["f.yaml:7:8 agent.ref: expected 'package.module:attr', got 'my_agent'"],
        id="bad-agent-ref",
    ),
    pytest.param(
        HEAD + "agent: 3\n",
        ["f.yaml:6:8 agent: expected a mapping, got 3"],
        id="not-a-mapping",
    ),
    pytest.param(
        HEAD + "expect:\n  routing.accuracy: about 0.8\n",
        ["f.yaml:7:21 expect[\"routing.accuracy\"]: expected a bound like '>= 0.8', '<= 30s' "
         "or 'between 0.1 and 0.3', got 'about 0.8'"],
        id="bad-bound",
    ),
    pytest.param(
        "name: t\nduration: 1h\ntraffic: [{synthetic: {rate: 2/s}}\n",
        ["f.yaml:4:1: invalid YAML: expected ',' or ']', but got '<stream end>'"],
        id="yaml-unclosed-bracket",
    ),
    pytest.param(
        "name: t\nduration: 1h: 2\n",
        ["f.yaml:2:13: invalid YAML: mapping values are not allowed here"],
        id="yaml-syntax",
    ),
    pytest.param(
        HEAD + "seed: 1\nname: again\n",
        ["f.yaml:7:1 name: duplicate key 'name' (first on line 1)"],
        id="duplicate-key",
    ),
    pytest.param(
        "",
        ["f.yaml: the scenario is empty; expected a mapping with 'name', 'duration' and 'traffic'"],
        id="empty-file",
    ),
    pytest.param(
        "- name: t\n",
        ["f.yaml:1:1: expected a mapping of scenario fields at the top level, got a list"],
        id="top-level-list",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_scenarios_point_at_the_problem(tmp_path, text, expected):
    assert load_errors(tmp_path, text) == expected


def test_error_example_from_the_docs(tmp_path):
    text = "# baseline\n" * 8 + "name: baseline\nduration: 1h\n" + "traffic:\n- synthetic:\n" \
        + "    routes: [a]\n  # the bad value\n  # is next\n" + "    rate: fast\n"
    # the rate sits on line 16; its value starts at column 11
    (tmp_path / "baseline.yaml").write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "baseline.yaml")
    assert str(info.value) == (
        f"{tmp_path}/baseline.yaml:16:11 traffic[0].synthetic.rate: "
        "expected a rate like '2/s', got 'fast'"
    )


def test_every_error_is_reported_together(tmp_path):
    text = """\
name: t
duration: soon
seed: many
traffic:
  - synthetic:
      rate: fast
      routs: [a]
faults:
  - kind: outage
    target: tools.nope
"""
    assert load_errors(tmp_path, text) == [
        "f.yaml:2:11 duration: expected a duration like '90s', '5m', '1h', got 'soon'",
        "f.yaml:3:7 seed: expected a whole number, got 'many'",
        "f.yaml:6:13 traffic[0].synthetic.rate: expected a rate like '2/s', got 'fast'",
        "f.yaml:7:7 traffic[0].synthetic.routs: unknown field 'routs'; did you mean 'routes'?",
        "f.yaml:10:13 faults[0].target: unknown target 'tools.nope'; valid targets: llm, "
        "llm.small, llm.large, tools.crm",
    ]


def test_checks_across_sections_run_even_when_fields_fail(tmp_path):
    """Fault targets and names and `expect:` paths are checked in the same pass as field
    errors, using the sections that did validate (and the routes as written)."""
    text = """\
name: t
duraton: 1h
traffic:
  - synthetic:
      rate: fast
      routes: [billing, tech]
faults:
  - {name: down, kind: outage, target: tools.nope, at: 1m}
  - {name: down, kind: latncy, at: 2m}
expect:
  routing.acuracy: ">= 0.8"
  routing.per_route.tech.f1: ">= 0.5"
  recovery.down.time_to_recover: "<= 60s"
"""
    errors = load_errors(tmp_path, text)
    assert errors[0].startswith("f.yaml:1:1: missing required field 'duration'")
    assert errors[1:3] == [
        "f.yaml:2:1 duraton: unknown field 'duraton'; did you mean 'duration'?",
        "f.yaml:5:13 traffic[0].synthetic.rate: expected a rate like '2/s', got 'fast'"]
    assert errors[3].startswith("f.yaml:8:40 faults[0].target: unknown target 'tools.nope'")
    assert errors[4] == "f.yaml:9:12 faults[1].name: duplicate fault name 'down' (also faults[0])"
    assert errors[5].startswith("f.yaml:9:24 faults[1].kind: unknown fault kind 'latncy' "
                                "(did you mean 'latency'?)")
    assert errors[6:] == ["f.yaml:11:3 expect[\"routing.acuracy\"]: unknown metric "
                          "'routing.acuracy'; did you mean 'routing.accuracy'?"]


def test_cross_section_checks_skip_what_they_cannot_know(tmp_path):
    """A broken `world:` says nothing about which targets exist: no guessed target error."""
    text = HEAD + "world: {llm: {tiers: {fast: {rpm: 0}}}}\n" \
        + "faults: [{kind: outage, target: llm.fast}]\n"
    assert load_errors(tmp_path, text) == [
        "f.yaml:6:35 world.llm.tiers.fast.rpm: must be at least 1, got 0"]


def test_error_messages_have_no_pydantic_noise(tmp_path):
    text = HEAD + "agent: {workers: 0, watchdog: -1}\nworld: {llm: {tiers: {}}}\n"
    errors = load_errors(tmp_path, text)
    assert errors == [
        "f.yaml:6:18 agent.workers: must be at least 1, got 0",
        "f.yaml:6:31 agent.watchdog: a duration cannot be negative, got -1",
        "f.yaml:7:22 world.llm.tiers: needs at least 1 entry",
    ]
    assert not any("Value error" in e or "pydantic" in e for e in errors)


def test_scenario_error_message_joins_all_lines():
    with pytest.raises(ScenarioError) as info:
        scenario_from_yaml("name: t\nduration: 0\ntraffic: []\n", "x.yaml")
    assert str(info.value) == (
        "x.yaml:2:11 duration: must be above 0, got 0\n"
        "x.yaml:3:10 traffic: needs at least 1 entry"
    )


def test_from_dict_names_fields_without_lines():
    data = {"name": "t", "duration": "1h", "traffic": [{"synthetic": {"rate": "fast"}}]}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert str(info.value) == (
        "<dict> traffic[0].synthetic.rate: expected a rate like '2/s', got 'fast'"
    )


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")


# ------------------------------------------------------------------ semantics

def test_defaults_and_fault_names(slow_kind):
    s = scenario_from_yaml(HEAD + """\
start: 2026-03-01 12:00:00
world:
  tools:
    search: {capacity: 2}
faults:
  - kind: test_slow
    target: tools.search
    from: 10m
    extra: 2s
  - {kind: outage, target: llm}
""")
    assert s.source == "<string>"
    assert s.start == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert list(s.world.tools) == ["crm", "search"]  # the CRM always exists
    assert s.fault_targets() == ["llm", "llm.small", "llm.large", "tools.crm", "tools.search"]
    assert [f.name for f in s.faults] == ["test_slow-0", "outage-1"]
    assert s.faults[0].window() == (600.0, math.inf)
    assert s.faults[0].params() == {"extra": "2s"}
    assert s.faults[1].window() == (0.0, math.inf)


def test_user_tiers_replace_the_defaults():
    s = scenario_from_yaml(HEAD + "world:\n  llm:\n    tiers:\n      only:\n"
                           "        aliases: [gpt-4o-mini]\n")
    assert list(s.world.llm.tiers) == ["only"]
    assert s.world.llm.resolve("gpt-4o-mini") == "only"
    assert s.world.llm.resolve("gpt-5") is None
    tier = s.world.llm.tiers["only"]
    assert (tier.latency.median, tier.latency.p95) == (0.5, 1.5)
    assert (tier.price.input_per_mtok, tier.accuracy.default) == (0.15, 0.9)
    assert tier.context_tokens == 128000


def test_schedule_rate_steps():
    s = scenario_from_yaml(HEAD.replace(
        "rate: 2/s", "schedule: [{at: 10m, rate: 120/m}, {at: 20m, rate: 0}]"))
    synth = s.traffic[0].synthetic
    assert synth.rate_steps() == [(0.0, 0.0), (600.0, 2.0), (1200.0, 0.0)]
    assert [synth.rate_at(t) for t in (0, 600, 1199, 5000)] == [0.0, 2.0, 2.0, 0.0]


def test_accuracy_for_tags_takes_the_hardest():
    acc = Accuracy(default=0.9, ambiguous=0.6, multi_issue=0.7)
    assert acc.for_tags([]) == 0.9
    assert acc.for_tags(["high_value"]) == 0.9
    assert acc.for_tags(["multi_issue", "ambiguous"]) == 0.6
    assert Accuracy(default=0.5, ambiguous=0.8).for_tags(["ambiguous"]) == 0.5


@pytest.mark.parametrize(
    ("dist", "mean"),
    [
        (FixedDist(value=2.0), 2.0),
        (ExponentialDist(mean=0.5), 0.5),
        (UniformDist(low=1, high=3), 2.0),
        (LognormalDist(median=1.0, p95=3.0), math.exp((math.log(3) / 1.6448536269514722) ** 2 / 2)),
    ],
)
def test_distribution_sample_and_mean(dist, mean):
    values = dist.sample(np.random.default_rng(1), 200_000)
    assert values.shape == (200_000,)
    assert dist.mean() == pytest.approx(mean)
    assert values.mean() == pytest.approx(mean, rel=0.02)


def test_lognormal_quantiles_match_median_and_p95():
    values = LognormalDist(median=0.4, p95=1.2).sample(np.random.default_rng(2), 200_000)
    assert np.quantile(values, 0.5) == pytest.approx(0.4, rel=0.02)
    assert np.quantile(values, 0.95) == pytest.approx(1.2, rel=0.03)


def test_fault_spec_windows():
    assert FaultSpec(kind="outage", at="20m", duration="5m").window() == (1200.0, 1500.0)
    assert FaultSpec(kind="outage", at="20m").window() == (1200.0, math.inf)
    spec = FaultSpec.model_validate({"kind": "x", "from": "1m", "until": "2m"})
    assert spec.window() == (60.0, 120.0)
    assert FaultSpec(kind="x", until="2m").window() == (0.0, 120.0)
    assert FaultSpec(kind="x", rate=0.5).params() == {"rate": 0.5}


@pytest.mark.parametrize(
    ("text", "op", "low", "high", "inside", "outside", "shown"),
    [
        (">= 0.8", ">=", 0.8, None, 0.8, 0.79, ">= 0.8"),
        ("<= 30s", "<=", 30.0, None, 30.0, 31.0, "<= 30"),
        ("< 5", "<", 5.0, None, 4.9, 5.0, "< 5"),
        ("> 1", ">", 1.0, None, 1.1, 1.0, "> 1"),
        ("== 0", "==", 0.0, None, 0.0, 0.1, "== 0"),
        ("between 0.1 and 0.3", "between", 0.1, 0.3, 0.3, 0.31, "between 0.1 and 0.3"),
        ("<= 2m", "<=", 120.0, None, 120.0, 121.0, "<= 120"),
        (">= -1", ">=", -1.0, None, 0.0, -2.0, ">= -1"),
    ],
)
def test_parse_bound(text, op, low, high, inside, outside, shown):
    bound = parse_bound(text)
    assert (bound.op, bound.low, bound.high) == (op, low, high)
    assert bound.check(inside) and not bound.check(outside)
    assert str(bound) == shown


@pytest.mark.parametrize("text", ["", "0.8", ">= lots", "between 3 and 1", "=> 1", 5])
def test_parse_bound_rejects(text):
    with pytest.raises(ValueError):
        parse_bound(text)


# ------------------------------------------------------------------ overrides, schema

def test_with_overrides_revalidates_a_copy():
    base = load_scenario(FIXTURES / "contract_basic.yaml")
    changed = base.with_overrides({
        "traffic[0].synthetic.rate": "4/s",
        "world.llm.tiers.large.accuracy.default": 0.5,
        "faults[0].duration": "10m",
        'expect["routing.accuracy"]': ">= 0.9",
        "agent.params.threshold": 3,
    })
    assert changed.traffic[0].synthetic.rate == 4.0
    assert changed.world.llm.tiers["large"].accuracy.default == 0.5
    assert changed.faults[0].window() == (1200.0, 1800.0)
    assert changed.expect["routing.accuracy"] == ">= 0.9"
    assert changed.agent.params == {"threshold": 3}
    assert changed.source == base.source
    # the original is untouched, and overrides chain
    assert base.traffic[0].synthetic.rate == 2.0
    assert base.agent.params == {}
    assert changed.with_overrides({"seed": 1}).traffic[0].synthetic.rate == 4.0


def test_with_overrides_reports_bad_values_and_paths():
    base = load_scenario(FIXTURES / "contract_basic.yaml")
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"traffic[0].synthetic.rate": "fast"})
    assert str(info.value) == (
        f"{base.source} traffic[0].synthetic.rate: expected a rate like '2/s', got 'fast' "
        "(set by override 'traffic[0].synthetic.rate')"
    )
    with pytest.raises(ScenarioError, match=r"traffic has no item 3"):
        base.with_overrides({"traffic[3].synthetic.rate": 1})
    with pytest.raises(ScenarioError, match=r"name is not a mapping"):
        base.with_overrides({"name.first": "x"})


def test_with_overrides_on_a_scenario_built_in_python():
    s = Scenario(name="py", duration=60, traffic=[{"synthetic": {"rate": 1}}])
    assert s.with_overrides({"duration": "2h"}).duration == 7200.0


def test_parse_path():
    assert parse_path("traffic[0].synthetic.rate") == ("traffic", 0, "synthetic", "rate")
    assert parse_path('expect["latency.p95"]') == ("expect", "latency.p95")
    with pytest.raises(ScenarioError):
        parse_path("a..b[")


def test_error_at_points_into_the_file():
    s = load_scenario(FIXTURES / "contract_basic.yaml")
    where = s.error_at("faults[0].at", "bad")
    assert (where.line, where.column, where.path) == (49, 9, "faults[0].at")


def test_direct_construction_still_checks_fault_targets():
    with pytest.raises(ValueError, match="unknown target 'bad'"):
        Scenario(name="t", duration=60, traffic=[{"synthetic": {"rate": 1}}],
                 faults=[{"kind": "outage", "target": "bad"}])


def test_json_schema_documents_every_field():
    schema = Scenario.json_schema()
    assert schema == Scenario.model_json_schema()

    def check(props: dict, where: str) -> None:
        for name, prop in props.items():
            assert prop.get("description"), f"{where}.{name} has no description"

    check(schema["properties"], "Scenario")
    for name, definition in schema["$defs"].items():
        check(definition.get("properties", {}), name)
    assert "from" in schema["$defs"]["FaultSpec"]["properties"]
    assert "mean" in schema["$defs"]["ExponentialDist"]["properties"]


# ------------------------------------------------------------------ faults against the registry

def test_unknown_fault_kind_names_the_closest_and_the_known_kinds(tmp_path):
    errors = load_errors(tmp_path, HEAD + "faults:\n  - kind: outgae\n    at: 1m\n")
    assert len(errors) == 1
    prefix = ("f.yaml:7:11 faults[0].kind: unknown fault kind 'outgae' "
              "(did you mean 'outage'?); known kinds: ")
    assert errors[0].startswith(prefix)
    known = errors[0].removeprefix(prefix).split(", ")
    assert known == fault_injectors.known_kinds() and "outage" in known


def test_unknown_fault_kind_without_a_close_match(tmp_path):
    errors = load_errors(tmp_path, HEAD + "faults:\n  - {kind: zzzzqqq}\n")
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:7:12 faults[0].kind: unknown fault kind 'zzzzqqq'; "
                                "known kinds: ")


def test_fault_param_typo_suggests_a_common_field(tmp_path):
    # `probabilty` used to land silently in params(); now it is an error at its key
    errors = load_errors(tmp_path, HEAD + "faults:\n  - kind: outage\n    probabilty: 0.5\n")
    assert errors == ["f.yaml:8:5 faults[0].probabilty: unknown field 'probabilty' for fault "
                      "kind 'outage'; did you mean 'probability'?"]


@pytest.mark.usefixtures("slow_kind")
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param("{kind: test_slow, extra: 1s, jiter: 2s}",
                     ["f.yaml:7:34 faults[0].jiter: unknown field 'jiter' for fault kind "
                      "'test_slow'; did you mean 'jitter'?"],
                     id="param-typo"),
        pytest.param("{kind: test_slow, extra: 1s, colour: red}",
                     ["f.yaml:7:34 faults[0].colour: unknown field 'colour' for fault kind "
                      "'test_slow' (its parameters: extra, jitter)"],
                     id="unknown-param-lists-params"),
        pytest.param("{kind: test_slow}",
                     ["f.yaml:7:5 faults[0]: missing required field 'extra' for fault kind "
                      "'test_slow'"],
                     id="missing-param"),
        pytest.param("{kind: test_slow, extra: soon}",
                     ["f.yaml:7:30 faults[0].extra: expected a duration like '90s', '5m', '1h', "
                      "got 'soon'"],
                     id="bad-param-value"),
        pytest.param("{kind: test_lax, levle: 2}",
                     ["f.yaml:7:22 faults[0].levle: unknown field 'levle' for fault kind "
                      "'test_lax'; did you mean 'level'?"],
                     id="params-that-ignore-extras-still-catch-typos"),
        pytest.param("{kind: test_lax, level: high}",
                     ["f.yaml:7:29 faults[0].level: expected a whole number, got 'high'"],
                     id="lax-bad-value"),
    ],
)
def test_fault_params_are_validated_with_line_numbers(tmp_path, fault, expected):
    assert load_errors(tmp_path, HEAD + f"faults:\n  - {fault}\n") == expected


def test_fault_errors_come_with_every_other_error(tmp_path):
    text = HEAD.replace("duration: 1h", "duration: soon") + """\
faults:
  - {kind: outage, probability: 2}
  - {kind: outage, at: 1m, colour: red}
"""
    assert load_errors(tmp_path, text) == [
        "f.yaml:2:11 duration: expected a duration like '90s', '5m', '1h', got 'soon'",
        "f.yaml:7:33 faults[0].probability: must be at most 1, got 2",
        "f.yaml:8:28 faults[1].colour: unknown field 'colour' for fault kind 'outage' "
        "(it takes no parameters)",
    ]


def test_fault_params_errors_in_overrides_name_the_override():
    base = load_scenario(FIXTURES / "contract_basic.yaml")
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"faults[0].kind": "outagee"})
    [error] = info.value.errors
    assert error.path == "faults[0].kind" and error.line is None
    assert "unknown fault kind 'outagee' (did you mean 'outage'?)" in error.message
    assert error.message.endswith("(set by override 'faults[0].kind')")


def test_direct_construction_checks_fault_kinds_and_params():
    traffic = [{"synthetic": {"rate": 1}}]
    with pytest.raises(ValueError, match=r"faults\[0\]\.kind: unknown fault kind 'outgae'"):
        Scenario(name="t", duration=60, traffic=traffic, faults=[{"kind": "outgae"}])
    with pytest.raises(ValueError, match=r"faults\[0\]\.durration: unknown field 'durration'"):
        Scenario(name="t", duration=60, traffic=traffic,
                 faults=[FaultSpec(kind="outage", at=0, durration=5)])
    ok = Scenario(name="t", duration=60, traffic=traffic, faults=[FaultSpec(kind="outage")])
    assert ok.faults[0].name == "outage-0"


def test_fault_schedule_fields_are_not_params():
    s = scenario_from_yaml(HEAD + """\
faults:
  - kind: outage
    target: llm.large
    from: 10m
    until: 50m
    ramp: 2m
    every: 10m
    for: 3m
    per: ticket
    probability: 0.5
""")
    fault = s.faults[0]
    assert (fault.ramp, fault.every, fault.for_, fault.per) == (120.0, 600.0, 180.0, "ticket")
    assert fault.window() == (600.0, 3000.0)
    assert fault.params() == {}
    plain = scenario_from_yaml(HEAD + "faults:\n  - {kind: outage}\n").faults[0]
    assert (plain.ramp, plain.every, plain.for_, plain.per) == (None, None, None, None)
    assert FaultSpec(kind="outage", every="1m", for_="10s").for_ == 10.0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param("every: 1m", "f.yaml:7:5 faults[0]: 'every' and 'for' go together: "
                     "give both or neither", id="every-alone"),
        pytest.param("for: 1m", "f.yaml:7:5 faults[0]: 'every' and 'for' go together: "
                     "give both or neither", id="for-alone"),
        pytest.param("every: 1m, for: 2m", "f.yaml:7:5 faults[0]: 'for' (120s) must be at most "
                     "'every' (60s)", id="for-longer-than-every"),
        pytest.param("every: 0, for: 0", "f.yaml:7:27 faults[0].every: must be above 0, got 0",
                     id="every-zero"),
        pytest.param("per: event", "f.yaml:7:25 faults[0].per: expected 'call' or 'ticket', "
                     "got 'event'", id="bad-per"),
        pytest.param("ramp: soon", "f.yaml:7:26 faults[0].ramp: expected a duration like "
                     "'90s', '5m', '1h', got 'soon'", id="bad-ramp"),
    ],
)
def test_fault_schedule_fields_are_checked(tmp_path, fields, expected):
    errors = load_errors(tmp_path, HEAD + f"faults:\n  - {{kind: outage, {fields}}}\n")
    assert errors[0] == expected


def test_fault_spec_schema_documents_the_schedule_fields():
    props = Scenario.json_schema()["$defs"]["FaultSpec"]["properties"]
    assert {"ramp", "every", "for", "per"} <= set(props)
