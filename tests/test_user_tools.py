"""The user's own integrations as simulated tools: YAML routes, a respx router from their
tests, a VCR.py cassette; served with latency and faults, unknown routes listed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import make_scenario

import simharness as sh
from simharness.errors import ScenarioError
from simharness.scenario import scenario_from_yaml

ORDERS_ROUTES = [
    {"method": "GET", "path": "/orders/{order_id}",
     "json": {"id": "{order_id}", "status": "shipped", "customer": "{customer.id}",
              "value": "{customer.account_value}", "note": "order {order_id} for {ticket.id}"}},
    {"method": "POST", "path": "/refunds", "status": 201,
     "json": {"refund_for": "{body.order_id}", "amount": "{body.amount}"},
     "headers": {"x-refund": "{body.order_id}"}},
]


def orders_agent(payload: dict[str, Any], ctx: Any) -> str:
    """Looks the order up before routing; a failure to reach the tool is logged, not fatal."""
    try:
        reply = ctx.http.get(f"{ctx.base_urls['orders']}/orders/A-{payload['id']}", timeout=2)
        ctx.log(f"orders: {reply.status_code} {reply.text}")
    except httpx.HTTPError as exc:
        ctx.log(f"orders unreachable: {type(exc).__name__}")
        return "human_review"
    return "billing"


def with_tool(tool: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return make_scenario(**{"duration": "2m", "world": {"tools": {"orders": tool}},
                            **overrides})


# -- routes: --------------------------------------------------------------------------------

def test_yaml_routes_answer_from_templates_with_the_ticket_and_path():
    seen = []

    def agent(payload, ctx):
        order = ctx.http.get(f"{ctx.base_urls['orders']}/orders/A%2017").json()
        refund = ctx.http.post(f"{ctx.base_urls['orders']}/refunds",
                               json={"order_id": "A-17", "amount": 12.5})
        seen.append((payload, order, refund.status_code, refund.json(),
                     refund.headers["x-refund"]))
        return "billing"

    sh.run(with_tool({"routes": ORDERS_ROUTES}, duration="3s"), agent=agent)
    payload, order, status, refund, header = seen[0]
    assert order["id"] == "A 17" and order["status"] == "shipped"
    assert order["customer"] == payload["customer"]["id"]
    assert isinstance(order["value"], float)  # a whole placeholder keeps its type
    assert order["note"] == f"order A 17 for {payload['id']}"
    assert (status, refund, header) == (201, {"refund_for": "A-17", "amount": 12.5}, "A-17")


def test_an_unknown_route_is_a_404_listing_the_known_ones_and_is_counted():
    answers = []

    def agent(payload, ctx):
        answers.append(ctx.http.get(f"{ctx.base_urls['orders']}/shipments/1"))
        answers.append(ctx.http.delete(f"{ctx.base_urls['orders']}/orders/1"))
        return "billing"

    result = sh.run(with_tool({"routes": ORDERS_ROUTES}, duration="5s"), agent=agent)
    missing, wrong_method = answers[0], answers[1]
    assert missing.status_code == 404
    assert missing.json()["known_routes"] == ["GET /health", "GET /orders/{order_id}",
                                              "POST /refunds"]
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "GET")
    tickets = result.metrics["tickets"]["total"]
    stats = result.diagnostics["tools"]["orders"]
    assert stats["unmatched"] == tickets
    assert stats["unmatched_requests"] == {"GET /shipments/1": tickets}
    assert any("matched no route of the simulated tool 'orders'" in line
               for line in result.records[0].log)


def test_unknown_template_placeholder_is_a_load_error_with_its_line(tmp_path):
    text = ("name: x\nduration: 1m\ntraffic: [{synthetic: {rate: 1/s}}]\nworld:\n  tools:\n"
            "    orders:\n      routes:\n        - path: /orders/{id}\n"
            "          json: {who: '{customer.phone}'}\n")
    with pytest.raises(ScenarioError, match=r"f.yaml:8:11 world.tools.orders.routes\[0\]: "
                                            r"unknown placeholder \{customer.phone\}"):
        scenario_from_yaml(text, "f.yaml")


def test_only_one_endpoint_form_per_tool():
    from simharness.scenario import scenario_from_dict

    with pytest.raises(ScenarioError, match="give at most one of routes, respx, cassette"):
        scenario_from_dict(with_tool({"routes": ORDERS_ROUTES, "cassette": "c.yaml"}))


# -- outages reach the agent through every form ---------------------------------------------

def _outage(tool: dict[str, Any]) -> sh.Result:
    scenario = with_tool(tool, faults=[{"name": "orders-down", "target": "tools.orders",
                                        "kind": "outage", "at": "30s", "duration": "30s"}])
    return sh.run(scenario, agent=orders_agent)


def _assert_outage_shows(result: sh.Result) -> None:
    inside = [r for r in result.records if 30 <= r.arrived_at < 60]
    outside = [r for r in result.records if r.arrived_at < 29 or r.arrived_at > 62]
    assert inside and outside
    assert all("orders-down" in r.faults and r.pred_route == ["human_review"] for r in inside)
    assert all(any("orders unreachable: ConnectError" in line for line in r.log)
               for r in inside)
    assert not any("orders-down" in r.faults for r in outside)
    assert all(r.pred_route == ["billing"] for r in outside)
    assert result.metrics["faults"]["orders-down"] == len(inside)


def test_a_yaml_routes_tool_under_an_outage():
    _assert_outage_shows(_outage({"routes": ORDERS_ROUTES}))


RESPX_MODULE = '''
import httpx
import respx

router = respx.MockRouter(base_url="https://shop.example", assert_all_called=False)


def _order(request, order_id):
    return httpx.Response(200, json={"id": order_id, "status": "shipped"})


router.get(path__regex=r"^/orders/(?P<order_id>[^/]+)$", name="order").mock(side_effect=_order)
router.post("/refunds").mock(side_effect=httpx.ConnectTimeout("refunds are slow"))
router.get("/stock").respond(503, json={"error": "maintenance"})
'''


@pytest.fixture
def respx_module(tmp_path, monkeypatch):
    name = f"user_shop_mocks_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(RESPX_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_respx_router_is_the_service_with_its_side_effects(respx_module):
    seen = []

    def agent(payload, ctx):
        base = ctx.base_urls["orders"]
        order = ctx.http.get(f"{base}/orders/A-9")
        try:
            ctx.http.post(f"{base}/refunds", json={})
            refund = "ok"
        except httpx.ConnectTimeout as exc:
            refund = f"ConnectTimeout: {exc}"
        stock = ctx.http.get(f"{base}/stock")
        nothing = ctx.http.get(f"{base}/nothing")
        seen.append((order.json(), refund, stock.status_code, nothing.status_code,
                     nothing.json()["known_routes"]))
        return "billing"

    result = sh.run(with_tool({"respx": f"{respx_module}:router"}, duration="3s"), agent=agent)
    order, refund, stock, nothing, known = seen[0]
    assert order == {"id": "A-9", "status": "shipped"}
    assert refund == "ConnectTimeout: refunds are slow"
    assert (stock, nothing) == (503, 404)
    assert known == ["GET /health", "GET ^/orders/(?P<order_id>[^/]+)$ (regex)",
                     "POST /refunds", "GET /stock"]
    assert result.diagnostics["tools"]["orders"]["unmatched"] == len(seen)


def test_a_respx_router_tool_under_an_outage(respx_module):
    _assert_outage_shows(_outage({"respx": {"router": f"{respx_module}:router",
                                            "base_url": "https://shop.example"}}))


def test_a_respx_reference_that_does_not_import_is_a_clear_error(tmp_path):
    scenario = with_tool({"respx": "no_such_module_here:router"})
    with pytest.raises(ScenarioError, match=r"world.tools.orders.respx: cannot import "
                                            r"'no_such_module_here'"):
        sh.run(scenario, agent=orders_agent)


# -- cassettes ------------------------------------------------------------------------------

SECRET = "sk-live-0123456789abcdef"


def write_cassette(path: Path) -> Path:
    """A cassette in the format vcrpy writes, made with vcrpy's own serializer."""
    from vcr import serialize
    from vcr.request import Request
    from vcr.serializers import yamlserializer

    def response(status: int, data: Any, **headers: str) -> dict[str, Any]:
        return {"status": {"code": status, "message": "OK"},
                "headers": {"Content-Type": ["application/json"],
                            **{k: [v] for k, v in headers.items()}},
                "body": {"string": json.dumps(data).encode()}}

    requests = [
        Request("GET", "https://shop.example/orders/A-1", None,
                {"Authorization": f"Bearer {SECRET}"}),
        Request("POST", "https://shop.example/search", b'{"q": "red"}',
                {"Content-Type": "application/json"}),
        Request("POST", "https://shop.example/search", b'{"q": "blue"}',
                {"Content-Type": "application/json"}),
    ]
    responses = [
        response(200, {"id": "A-1", "status": "delivered"}, **{
            "Set-Cookie": f"session={SECRET}", "X-Api-Key": SECRET, "X-Request-Id": "r-1"}),
        response(200, {"results": ["red shoes"]}),
        response(200, {"results": ["blue hat"]}),
    ]
    text = serialize.serialize({"requests": requests, "responses": responses}, yamlserializer)
    path.write_text(text)
    return path


def test_a_cassette_replays_recorded_responses_and_never_echoes_secrets(tmp_path, capsys):
    from simharness.cli import main

    write_cassette(tmp_path / "shop.yaml")
    (tmp_path / "cassette_agent.py").write_text(
        "def route(payload, ctx):\n"
        "    base = ctx.base_urls['orders']\n"
        "    reply = ctx.http.get(base + '/orders/A-1')\n"
        "    ctx.log(f'headers: {dict(reply.headers)} body: {reply.text}')\n"
        "    red = ctx.http.post(base + '/search', json={'q': 'red'}).json()\n"
        "    blue = ctx.http.post(base + '/search', json={'q': 'blue'}).json()\n"
        "    ctx.log(f'red={red} blue={blue}')\n"
        "    missing = ctx.http.get(base + '/orders/Z-9')\n"
        "    ctx.log(f'missing: {missing.status_code} {missing.text}')\n"
        "    return 'billing'\n")
    (tmp_path / "s.yaml").write_text(
        "name: cassette\nduration: 5s\nagent: {ref: 'cassette_agent:route'}\n"
        "traffic: [{synthetic: {rate: 1/s}}]\n"
        "world:\n  tools:\n    orders:\n"
        "      cassette: {path: shop.yaml, match_on: [method, path, body]}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        code = main(["run", str(tmp_path / "s.yaml"), "--quiet", "--out",
                     str(tmp_path / "out")])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cassette_agent", None)
    assert code == 0, capsys.readouterr()
    records = [json.loads(line) for line in (tmp_path / "out" / "records.jsonl").open()]
    log = "\n".join(records[0]["log"])
    assert '"status": "delivered"' in log
    assert "x-request-id" in log.lower()
    assert "red={'results': ['red shoes']} blue={'results': ['blue hat']}" in log
    assert "missing: 404" in log and "GET /orders/A-1" in log and "POST /search" in log
    for name in ("records.jsonl", "results.json", "report.html"):
        text = (tmp_path / "out" / name).read_text()
        assert SECRET not in text, name
        assert "set-cookie" not in text.lower(), name
    assert SECRET not in capsys.readouterr().out


def test_without_body_matching_the_first_recording_answers(tmp_path):
    write_cassette(tmp_path / "shop.yaml")
    answers = []

    def agent(payload, ctx):
        answers.append(ctx.http.post(ctx.base_urls["orders"] + "/search",
                                     json={"q": "blue"}).json())
        return "billing"

    sh.run(with_tool({"cassette": str(tmp_path / "shop.yaml")}, duration="2s"), agent=agent)
    assert answers[0] == {"results": ["red shoes"]}


def test_a_cassette_tool_under_an_outage(tmp_path):
    from vcr import serialize
    from vcr.request import Request
    from vcr.serializers import yamlserializer

    recorded = {"status": {"code": 200, "message": "OK"},
                "headers": {"Content-Type": ["application/json"]},
                "body": {"string": b'{"status": "shipped"}'}}
    # the agent asks for /orders/A-<ticket id>: record the ones this run will ask for
    requests = [Request("GET", f"https://shop.example/orders/A-T{i:06d}", None, {})
                for i in range(300)]
    (tmp_path / "orders.yaml").write_text(serialize.serialize(
        {"requests": requests, "responses": [recorded] * len(requests)}, yamlserializer))
    _assert_outage_shows(_outage({"cassette": str(tmp_path / "orders.yaml")}))


def test_a_missing_or_broken_cassette_is_a_load_error(tmp_path):
    base = ("name: x\nduration: 1m\ntraffic: [{{synthetic: {{rate: 1/s}}}}]\nworld:\n"
            "  tools:\n    orders:\n      cassette: {file}\n")
    with pytest.raises(ScenarioError, match=r"f.yaml:7:17 world.tools.orders.cassette: cannot "
                                            r"read .*nope.yaml: no such file"):
        scenario_from_yaml(base.format(file="nope.yaml"), str(tmp_path / "f.yaml"))
    (tmp_path / "bad.yaml").write_text("just: a mapping\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml is not a VCR.py cassette: KeyError"):
        scenario_from_yaml(base.format(file="bad.yaml"), str(tmp_path / "f.yaml"))
