"""A tier's `confusion:` and per-route accuracy shape the simulated model's mistakes, on
every API it speaks.

Statistical checks are exact two-sided binomial tests, each at ALPHA; the five in the
first test make a false-alarm rate of at most 5 * ALPHA = 0.05 % of seeds (Bonferroni).
The runs are seeded, so a pass is reproducible; a model that ignores the setting fails by
far (its wrong answers on refund would reach `technical` a third of the time).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from conftest import make_scenario
from pydantic import BaseModel
from scipy.stats import binomtest

import simharness as sh
from simharness.errors import ScenarioError
from simharness.scenario import scenario_from_dict
from simharness.world.llm.judgement import pick_weighted

ROUTES = ["billing", "cancellation", "refund", "technical"]
ALPHA = 1e-4
TIER = {"accuracy": {"default": 0.8, "by_route": {"refund": 0.3}},
        "confusion": {"refund": {"billing": 0.7, "cancellation": 0.3}}}


def confused(duration: str, rate: str, workers: int = 16) -> dict[str, Any]:
    return make_scenario(duration=duration, agent={"workers": workers},
                         traffic=[{"synthetic": {"rate": rate, "routes": ROUTES}}],
                         world={"llm": {"tiers": {"large": TIER}}})


def chat_agent(payload: dict[str, Any], ctx: Any) -> str:
    reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=60, json={
        "model": "large",
        "messages": [{"role": "user", "content": payload["messages"][0]["text"]}]})
    route: str = json.loads(reply.json()["choices"][0]["message"]["content"])["route"]
    return route


def row(result: sh.Result, route: str) -> dict[str, int]:
    """The confusion matrix's row of a true route: predicted label -> tickets."""
    confusion = result.metrics["routing"]["confusion"]
    labels = confusion["labels"]
    return dict(zip(labels, confusion["matrix"][labels.index(route)], strict=True))


def test_confusion_and_per_route_accuracy_shape_the_confusion_matrix():
    result = sh.run(confused("4m", "8/s"), agent=chat_agent)
    refund = row(result, "refund")
    total = sum(refund.values())
    wrong = refund["billing"] + refund["cancellation"]
    # every wrong answer on refund went where the confusion says, none elsewhere
    assert refund["refund"] + wrong == total > 400
    assert refund["technical"] == 0
    assert binomtest(refund["refund"], total, 0.3).pvalue > ALPHA
    assert binomtest(refund["billing"], wrong, 0.7).pvalue > ALPHA
    assert result.metrics["routing"]["by_route"]["refund"] == pytest.approx(
        refund["refund"] / total)
    # a route the confusion does not name: accuracy `default`, mistakes spread evenly
    technical = row(result, "technical")
    total = sum(technical.values())
    wrong_technical = total - technical["technical"]
    assert binomtest(technical["technical"], total, 0.8).pvalue > ALPHA
    others = ("billing", "cancellation", "refund")
    assert all(technical[o] > 0 for o in others)
    assert binomtest(technical["refund"], wrong_technical, 1 / 3).pvalue > ALPHA
    assert binomtest(technical["billing"], wrong_technical, 1 / 3).pvalue > ALPHA


# -- one judgement, every wire format --------------------------------------------------

class Routing(BaseModel):
    route: Literal["billing", "cancellation", "refund", "technical"]


def _prompt(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": payload["messages"][0]["text"]}]


def _api_agents() -> dict[str, Any]:
    openai = pytest.importorskip("openai")
    anthropic = pytest.importorskip("anthropic")

    def openai_client(ctx: Any) -> Any:
        return openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                             http_client=ctx.http, max_retries=0)

    def chat_tools(payload: dict[str, Any], ctx: Any) -> str:
        reply = openai_client(ctx).chat.completions.create(
            model="large", messages=_prompt(payload), tool_choice="required",
            tools=[openai.pydantic_function_tool(Routing, name="route_ticket")])
        call = reply.choices[0].message.tool_calls[0]
        return Routing.model_validate_json(call.function.arguments).route

    def chat_schema(payload: dict[str, Any], ctx: Any) -> str:
        reply = openai_client(ctx).chat.completions.parse(
            model="large", messages=_prompt(payload), response_format=Routing)
        return reply.choices[0].message.parsed.route

    def responses(payload: dict[str, Any], ctx: Any) -> str:
        reply = openai_client(ctx).responses.parse(
            model="large", input=_prompt(payload), text_format=Routing)
        return reply.output_parsed.route

    def messages(payload: dict[str, Any], ctx: Any) -> str:
        client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                     http_client=ctx.httpx2, max_retries=0)
        reply = client.messages.create(
            model="large", max_tokens=256, messages=_prompt(payload),
            tools=[{"name": "route_ticket", "input_schema": Routing.model_json_schema()}],
            tool_choice={"type": "tool", "name": "route_ticket"})
        return Routing.model_validate(reply.content[0].input).route

    return {"chat tools": chat_tools, "chat schema": chat_schema,
            "responses": responses, "anthropic messages": messages}


def test_every_api_answers_with_the_same_confused_judgement():
    agents = _api_agents()
    scenario = confused("30s", "3/s", workers=4)
    chat = sh.run(scenario, agent=chat_agent)
    refund = row(chat, "refund")
    assert refund["billing"] and refund["cancellation"] and not refund["technical"]
    expected = [(r.ticket_id, r.pred_route) for r in chat.records]
    for name, agent in agents.items():
        result = sh.run(scenario, agent=agent)
        assert all(r.status == "ok" for r in result.records), name
        assert [(r.ticket_id, r.pred_route) for r in result.records] == expected, name


# -- the setting itself -----------------------------------------------------------------

def test_pick_weighted_covers_each_label_by_its_share():
    weights = {"billing": 7.0, "cancellation": 3.0}  # unnormalised: shares 0.7, 0.3
    assert pick_weighted(weights, 0.0) == "billing"
    assert pick_weighted(weights, 0.69) == "billing"
    assert pick_weighted(weights, 0.71) == "cancellation"
    assert pick_weighted(weights, 0.999999) == "cancellation"
    assert pick_weighted({"a": 0.1, "b": 0.2, "c": 0.7}, 0.3 - 1e-12) == "b"


def test_without_confusion_or_per_route_accuracy_the_model_behaves_as_before():
    scenario = make_scenario(duration="1m", traffic=[{"synthetic": {"rate": "2/s",
                                                                    "routes": ROUTES}}])
    plain = sh.run(scenario, agent=chat_agent)
    scenario["world"] = {"llm": {"tiers": {
        "small": {"accuracy": {"default": 0.86, "ambiguous": 0.6, "multi_issue": 0.55}},
        "large": {"accuracy": {"default": 0.96, "ambiguous": 0.8, "multi_issue": 0.85,
                               "by_route": {}},
                  "confusion": {}},
    }}}
    # the default tiers' accuracies, an empty confusion and by_route: the same answers
    again = sh.run(scenario, agent=chat_agent)
    assert [r.pred_route for r in plain.records] == [r.pred_route for r in again.records]
    assert any(r.pred_route != r.true_route for r in plain.records)


def test_per_route_accuracy_is_lowered_by_a_harder_tag():
    from simharness.world.config import Accuracy

    accuracy = Accuracy(default=0.9, ambiguous=0.6, by_route={"refund": 0.7, "billing": 0.95})
    assert accuracy.for_ticket(["refund"], []) == 0.7
    assert accuracy.for_ticket(["billing"], []) == 0.95
    assert accuracy.for_ticket(["technical"], []) == 0.9
    assert accuracy.for_ticket(["refund", "billing"], []) == 0.7  # the lowest route
    assert accuracy.for_ticket(["billing"], ["ambiguous"]) == 0.6
    assert accuracy.for_ticket(["refund"], ["high_value"]) == 0.7  # no value set for it


def test_a_confusion_naming_the_route_itself_is_an_error():
    scenario = make_scenario(world={"llm": {"tiers": {"large": {
        "confusion": {"refund": {"refund": 0.5, "billing": 0.5}}}}}})
    with pytest.raises(ScenarioError, match="confusion of 'refund' names 'refund' itself"):
        scenario_from_dict(scenario)


@pytest.mark.parametrize("spread", [{}, {"billing": 0}, {"billing": -1}])
def test_a_confusion_without_a_positive_weight_is_an_error(spread):
    scenario = make_scenario(world={"llm": {"tiers": {"large": {
        "confusion": {"refund": spread}}}}})
    with pytest.raises(ScenarioError, match="confusion"):
        scenario_from_dict(scenario)


TYPO_YAML = """\
name: typo
duration: 1m
traffic: [{synthetic: {rate: 1/s, routes: [billing, refund, technical]}}]
world:
  llm:
    tiers:
      small:
        accuracy: {by_route: {refnud: 0.5}}
        confusion:
          refund: {biling: 0.7, technical: 0.3}
          shipping: {billing: 1}
"""


def test_per_route_settings_naming_no_route_are_warned_about_with_lines(tmp_path):
    from simharness.checks import warnings
    from simharness.scenario import scenario_from_yaml

    found = {w.path: w for w in warnings(scenario_from_yaml(TYPO_YAML, "typo.yaml"))}
    assert set(found) == {"world.llm.tiers.small.accuracy.by_route.refnud",
                          "world.llm.tiers.small.confusion.refund.biling",
                          "world.llm.tiers.small.confusion.shipping"}
    assert found["world.llm.tiers.small.confusion.refund.biling"].line == 10
    assert "not a route" in found["world.llm.tiers.small.confusion.refund.biling"].message
    assert "never applies" in found["world.llm.tiers.small.confusion.shipping"].message
    # a replayed file without `routes:` may hold any label: nothing to say before it is read
    (tmp_path / "past.csv").write_text("text,queue\nMy card was charged twice,refund\n")
    replayed = scenario_from_dict(make_scenario(
        traffic=[{"replay": {"path": str(tmp_path / "past.csv"), "timing": {"every": "2s"},
                             "columns": {"text": "text", "route": "queue"}}}],
        world={"llm": {"tiers": {"small": {"confusion": {"refund": {"biling": 1}}}}}}))
    assert warnings(replayed) == []
