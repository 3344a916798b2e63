"""The client audit: how the agent's HTTP client behaves, graded from every exchange.

Unit tests pin each rule on hand-built exchanges; engine tests run a deliberately bad
client, the reference agents and the openai SDK's own retry logic through real faults.
"""

from __future__ import annotations

import pytest

import simharness as sh
from simharness.world.client_audit import Exchange, grade, logical_calls, retry_after_seconds

URL = "llm.sim/v1/chat/completions"


def ex(start: float, end: float, status: int | None = 200, *, failure: str | None = None,
       retry_after: float | None = None, body: bytes = b"{}", timeout: float | None = 10.0,
       url: str = URL, unfinished: bool = False) -> Exchange:
    return Exchange(start, end, "POST", url, body, None if failure else status, failure,
                    retry_after, timeout, unfinished)


def kinds(findings: list[str]) -> list[str]:
    return [f.split(":", 1)[0] for f in findings]


# ------------------------------------------------------------------ rules, one at a time

def test_a_clean_exchange_has_no_findings():
    assert grade([ex(0, 1)], deadline=600, answered=True) == []


def test_attempts_group_into_logical_calls_until_one_succeeds():
    calls = logical_calls([ex(0, 1, 503), ex(2, 3, 200), ex(4, 5, 200),
                           ex(0.5, 0.6, 200, body=b"other")])
    assert [len(c) for c in calls] == [2, 1, 1]


def test_retry_before_retry_after_elapsed_is_flagged():
    early = [ex(0, 1, 429, retry_after=5), ex(2, 3)]
    patient = [ex(0, 1, 429, retry_after=5), ex(6, 7)]
    assert kinds(grade(early, deadline=600, answered=True)) == ["retry_after_ignored"]
    assert grade(patient, deadline=600, answered=True) == []


def test_retrying_a_client_error_is_flagged_but_not_a_server_error():
    for status in (400, 401, 403, 404, 422):
        found = grade([ex(0, 1, status), ex(3, 4)], deadline=600, answered=True)
        assert "retried_non_retryable" in kinds(found), status
    assert grade([ex(0, 1, 503), ex(3, 4)], deadline=600, answered=True) == []


def test_more_attempts_than_the_limit_is_a_storm():
    attempts = [ex(2.0**i, 2.0**i + 0.5, 503) for i in range(6)]
    assert "retry_storm" in kinds(grade(attempts, deadline=600, answered=False,
                                        storm_attempts=5))
    assert "retry_storm" not in kinds(grade(attempts[:5], deadline=600, answered=False,
                                            storm_attempts=5))


def test_immediate_and_constant_retries_are_no_backoff_but_growing_ones_are_not():
    immediate = [ex(0, 1, 503), ex(1, 2)]
    constant = [ex(0, 1, 503), ex(2, 3, 503), ex(4, 5, 503), ex(6, 7)]
    exponential = [ex(0, 1, 503), ex(1.5, 2, 503), ex(3, 4, 503), ex(6, 7)]
    one_lucky_jitter = [ex(0, 1, 503), ex(1.0004, 2)]
    assert kinds(grade(immediate, deadline=600, answered=True)) == ["no_backoff"]
    assert kinds(grade(constant, deadline=600, answered=True)) == ["no_backoff"]
    assert grade(exponential, deadline=600, answered=True) == []
    assert grade(one_lucky_jitter, deadline=600, answered=True) == []


def test_waiting_exactly_what_retry_after_asks_is_not_constant_interval_backoff():
    honoured = [ex(0, 1, 429, retry_after=2), ex(3, 4, 429, retry_after=2),
                ex(6, 7, 429, retry_after=2), ex(9, 10)]
    assert grade(honoured, deadline=600, answered=True) == []


def test_an_unanswered_ticket_after_one_retryable_failure_gave_up():
    assert kinds(grade([ex(0, 1, 429)], deadline=600, answered=False)) == ["gave_up"]
    assert kinds(grade([ex(0, 1, failure="connect")], deadline=600,
                       answered=False)) == ["gave_up"]
    # an answer (a fallback), no time left, or a non-retryable failure is not giving up
    assert grade([ex(0, 1, 429)], deadline=600, answered=True) == []
    assert grade([ex(0, 599.5, 503)], deadline=600, answered=False) == []
    assert grade([ex(0, 1, 429, retry_after=900)], deadline=600, answered=False) == []
    assert grade([ex(0, 1, 400)], deadline=600, answered=False) == []
    # asking the same service something else (another model) is a fallback, not giving up
    other = ex(2, 3, body=b"other model")
    assert grade([ex(0, 1, 503), other], deadline=600, answered=False) == []


def test_missing_or_too_long_client_timeouts_are_flagged_once():
    found = grade([ex(0, 1, timeout=None), ex(2, 3, timeout=None)], deadline=600,
                  answered=True, ticket_timeout=600)
    assert kinds(found) == ["no_timeout"]
    assert "no timeout" in found[0]
    assert kinds(grade([ex(0, 1, timeout=900)], deadline=600, answered=True,
                       ticket_timeout=600)) == ["no_timeout"]
    assert grade([ex(0, 1, timeout=600)], deadline=600, answered=True,
                 ticket_timeout=600) == []


def test_answering_from_an_unfinished_stream_is_flagged():
    found = grade([ex(0, 1, unfinished=True)], deadline=600, answered=True)
    assert kinds(found) == ["truncated_stream_accepted"]
    retried = [ex(0, 1, unfinished=True), ex(1.5, 2)]
    assert grade(retried, deadline=600, answered=True) == []


def test_an_in_flight_request_is_neither_a_failure_nor_a_success():
    in_flight = ex(2, 2, status=None)
    in_flight.status = None
    assert grade([ex(0, 1, 504), in_flight], deadline=20, answered=False) == []


def test_retry_after_headers_in_seconds_milliseconds_and_dates():
    assert retry_after_seconds({"retry-after": "2"}) == 2
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = "Mon, 05 Jan 2026 09:00:30 GMT"
    now = 1767603600.0  # 2026-01-05T09:00:00Z
    assert retry_after_seconds({"retry-after": date}, now) == 30
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({}) is None


# ------------------------------------------------------------------ through the engine

def scenario(faults: list[dict], minutes: float = 3, **agent: object) -> dict:
    return {
        "name": "client-audit", "seed": 7, "duration": f"{minutes}m",
        "agent": {"workers": 8, **agent},
        "traffic": [{"synthetic": {"rate": "1/s"}}],
        "faults": faults,
        "expect": {"client.retry_after_ignored": "== 0"},
    }


class CarelessClient:
    """Retries everything at once, eight times, whatever the server says."""

    def handle(self, payload, ctx):
        body = {"model": "small", "messages": [
            {"role": "user", "content": payload["messages"][0]["text"]}]}
        for _ in range(8):
            reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json=body)
            if reply.status_code == 200:
                return "billing"
        return "billing"


RATE_LIMITED = {"name": "quota", "target": "llm", "kind": "rate_limit", "retry_after": "2s",
                "probability": 0.5, "at": "30s", "duration": "1m"}
TOO_LONG = {"name": "too-long", "target": "llm", "kind": "context_overflow",
            "probability": 0.3, "at": "1m", "duration": "1m"}


def test_a_careless_client_is_flagged_for_each_bad_habit():
    result = sh.run(scenario([RATE_LIMITED, TOO_LONG]), agent=CarelessClient())
    client = result.metrics["client"]
    for kind in ("retry_after_ignored", "retried_non_retryable", "no_backoff"):
        assert client[kind] > 10, (kind, client)
    assert client["retry_storm"] > 0
    assert client["tickets_flagged"] <= result.metrics["tickets"]["total"]
    assert client["examples"]["retry_after_ignored"][0]["ticket"]
    slo = next(s for s in result.slos if s.metric == "client.retry_after_ignored")
    assert not slo.passed and not result.passed
    flagged = [r for r in result.records if r.client]
    assert any("harness: client retry_after_ignored" in line
               for r in flagged for line in r.log)


@pytest.mark.parametrize("faults", [
    [RATE_LIMITED],
    [{"name": "down", "target": "llm", "kind": "outage", "at": "1m", "duration": "1m"}],
    [{"name": "slow", "target": "llm", "kind": "latency", "multiply": 10, "at": "1m",
      "duration": "1m"}],
    [{"name": "crm-down", "target": "tools.crm", "kind": "outage", "at": "1m",
      "duration": "1m"}],
], ids=["rate-limit", "outage", "latency", "crm-outage"])
def test_the_reference_resilient_router_passes_the_audit(faults):
    result = sh.run(scenario(faults, ref="simharness.agents.reference:ResilientRouter"))
    client = result.metrics["client"]
    assert result.metrics["tickets"]["total"] > 100
    assert client["tickets_flagged"] == 0, client["examples"]


def test_the_naive_router_gives_up_on_an_outage_and_has_no_timeout_for_a_tight_deadline():
    outage = [{"name": "down", "target": "llm", "kind": "outage", "at": "1m",
               "duration": "1m"}]
    result = sh.run(scenario(outage, ref="simharness.agents.reference:NaiveRouter"))
    assert result.metrics["client"]["gave_up"] > 30
    tight = sh.run(scenario([], ref="simharness.agents.reference:NaiveRouter",
                            ticket_timeout="20s"))
    assert tight.metrics["client"]["no_timeout"] == tight.metrics["tickets"]["total"]


def test_the_openai_sdk_retry_logic_honours_retry_after_and_backs_off():
    openai = pytest.importorskip("openai")

    class SDKAgent:
        def __init__(self):
            self.client = None

        def handle(self, payload, ctx):
            if self.client is None:
                self.client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1",
                                            api_key="sim", http_client=ctx.http,
                                            max_retries=4)
            try:
                self.client.chat.completions.create(model="small", messages=[
                    {"role": "user", "content": payload["messages"][0]["text"]}])
            except openai.APIError:
                return "human_review"
            return "billing"

    storm = dict(RATE_LIMITED, probability=0.6)
    result = sh.run(scenario([storm]), agent=SDKAgent())
    client = result.metrics["client"]
    assert result.metrics["calls"]["total"] > result.metrics["tickets"]["total"]
    assert client["retry_after_ignored"] == 0, client["examples"]
    assert client["no_backoff"] == 0, client["examples"]
    assert client["retried_non_retryable"] == 0


def test_client_findings_are_saved_and_reported(tmp_path):
    from simharness.report.html import write_report
    from simharness.report.store import load_run

    result = sh.run(scenario([RATE_LIMITED], minutes=2), agent=CarelessClient())
    out = result.save(tmp_path / "run")
    loaded = load_run(out)
    assert sum(len(r.client) for r in loaded.records) == sum(
        result.metrics["client"][k] for k in ("retry_after_ignored", "retried_non_retryable",
                                              "retry_storm", "no_backoff", "gave_up",
                                              "no_timeout", "truncated_stream_accepted"))
    html = write_report(loaded, out).read_text()
    assert 'id="client"' in html and "retry_after_ignored" in html
