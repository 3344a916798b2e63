"""Validity: the metrics mean what they claim.

Routing and escalation figures are checked against scikit-learn (a test-only dependency)
on random records with multi-label and empty predictions; queue waits measured through the
real harness are checked against queueing theory (Erlang C for M/M/c, P(wait) = rho for
M/M/1). Regression tests of specific runs live in test_metrics.py.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest
from conftest import make_scenario
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from sklearn.preprocessing import MultiLabelBinarizer

import simharness as sh
from simharness.metrics import compute
from simharness.metrics.routing import MULTI_LABEL, NONE_LABEL, label_order
from simharness.records import TicketRecord
from simharness.scenario import scenario_from_dict

ROUTES = ["billing", "technical", "account", "shipping"]


def random_records(seed: int, n: int = 400) -> list[TicketRecord]:
    """Tickets with one or two true routes; predictions that are right, wrong, several,
    off-taxonomy ("spam"), handed to a person, or empty (a failed ticket)."""
    rng = random.Random(seed)
    # "shipping" is never true and "cancellation" never predicted: zero_division paths.
    truths = ROUTES[:3] + ["cancellation"]
    records = []
    for i in range(n):
        true = rng.sample(truths, 2 if rng.random() < 0.25 else 1)
        roll = rng.random()
        if roll < 0.55:
            pred = list(true)
        elif roll < 0.70:
            pred = [rng.choice(ROUTES[:3])]
        elif roll < 0.80:
            pred = rng.sample(ROUTES + ["spam"], rng.choice([2, 3]))
        elif roll < 0.87:
            pred = ["human_review"]
        else:
            pred = []
        escalate = rng.random() < 0.3
        records.append(TicketRecord(
            ticket_id=f"T{i}", conversation_id=f"C{i}", arrived_at=float(i),
            finished_at=float(i) + 1.0, status="ok" if pred else "error",
            true_route=true, pred_route=pred, true_escalate=escalate,
            pred_escalate=escalate if rng.random() < 0.7 else not escalate,
            tags=["high_value"] if rng.random() < 0.2 else [], service_s=1.0))
    return records


@pytest.mark.parametrize("seed", range(6))
def test_routing_figures_equal_scikit_learn(seed):
    records = random_records(seed)
    routing = compute(records, sim_seconds=400.0)["routing"]
    labels = list(routing["per_route"])
    assert labels == label_order(records)
    assert {"spam", "human_review", "shipping", "cancellation"} <= set(labels)

    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform([r.true_route for r in records])
    y_pred = binarizer.transform([r.pred_route for r in records])
    assert routing["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    for j, label in enumerate(labels):
        got = routing["per_route"][label]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx(
            (p[j], r[j], f[j]), abs=1e-12), label
        assert got["support"] == s[j]
    for average in ("macro", "micro"):
        _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, average=average,
                                                      zero_division=0)
        assert routing[f"{average}_f1"] == pytest.approx(f1, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_confusion_matrix_equals_scikit_learn_on_single_route_tickets(seed):
    records = random_records(seed)
    confusion = compute(records, sim_seconds=400.0)["routing"]["confusion"]
    labels = confusion["labels"]
    assert labels[-2:] == [NONE_LABEL, MULTI_LABEL]
    single = [r for r in records if len(set(r.true_route)) == 1]
    y_true = [r.true_route[0] for r in single]
    y_pred = [NONE_LABEL if not r.pred_route else r.pred_route[0]
              if len(set(r.pred_route)) == 1 else MULTI_LABEL for r in single]
    expected = confusion_matrix(y_true, y_pred, labels=labels)
    assert np.array_equal(np.array(confusion["matrix"]), expected)
    assert np.array(confusion["matrix"]).sum() == len(single)


@pytest.mark.parametrize("seed", range(6))
def test_escalation_figures_equal_scikit_learn(seed):
    records = random_records(seed)
    escalation = compute(records, sim_seconds=400.0)["escalation"]
    y_true = [r.true_escalate for r in records]
    y_pred = [r.pred_escalate for r in records]
    assert escalation["precision"] == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert escalation["recall"] == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
    assert escalation["missed"] == sum(t and not p for t, p in zip(y_true, y_pred, strict=True))
    assert escalation["false_escalations"] == sum(
        p and not t for t, p in zip(y_true, y_pred, strict=True))
    assert escalation["missed_high_value"] == sum(
        r.true_escalate and not r.pred_escalate and "high_value" in r.tags for r in records)


def test_configured_routes_come_first_in_scenario_order():
    records = random_records(0)
    scenario = scenario_from_dict(make_scenario(traffic=[{"synthetic": {
        "rate": "1/s", "routes": ["shipping", "technical", "billing", "account",
                                  "cancellation"]}}]))
    labels = list(compute(records, sim_seconds=400.0, config=scenario)["routing"]["per_route"])
    assert labels == ["shipping", "technical", "billing", "account", "cancellation",
                      "human_review", "spam"]


def test_by_tag_f1_is_macro_f1_within_the_tag():
    records = random_records(3)
    routing = compute(records, sim_seconds=400.0)["routing"]
    tagged = [r for r in records if "high_value" in r.tags]
    labels = label_order(tagged)
    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform([r.true_route for r in tagged])
    y_pred = binarizer.transform([r.pred_route for r in tagged])
    _, _, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="macro",
                                                  zero_division=0)
    assert routing["by_tag_f1"]["high_value"] == pytest.approx(f1, abs=1e-12)


# ------------------------------------------------------------------ queueing theory

def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in an M/M/c queue with offered load a = lambda/mu."""
    top = a**c / math.factorial(c) / (1 - a / c)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def run_queue(lam: float, mu: float, workers: int, tickets: int, seed: int):
    """Poisson arrivals into `workers` agent workers whose service is exponential: the
    agent sleeps Exp(mu) seconds, on the simulated clock."""
    service = random.Random(seed)

    def agent(payload):
        time.sleep(service.expovariate(mu))
        return "billing"

    scenario = make_scenario(seed=seed, duration=f"{tickets / lam:.0f}s",
                             agent={"workers": workers},
                             traffic=[{"synthetic": {"rate": f"{lam}/s", "routes": ["billing"]}}])
    started = time.perf_counter()
    result = sh.run(scenario, agent=agent)
    return result, time.perf_counter() - started


def batch_means(values: np.ndarray, batches: int = 10) -> tuple[float, float]:
    """Mean and its standard error from `batches` consecutive batch means.

    Consecutive waits are strongly correlated, so the naive SE (sd/sqrt(n)) is far too
    small; means of long batches are nearly independent, and their spread gives the SE."""
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(batches))


# Tolerance: 4 batch-means standard errors. With 10 batches the studentised error follows
# a t distribution with 9 degrees of freedom; P(|t_9| > 4) ~= 0.003, so a correct harness
# fails this about 3 times in 1000 seeds. The first 2% of tickets (the queue starting
# empty) are dropped as warm-up. A companion check keeps the bound meaningful: 4 SE must
# be under 25% of the expected mean wait (measured: SE ~ 0.04 s on Wq ~ 0.75 s).
Z = 4.0


@pytest.mark.timeout(300)
def test_mmc_mean_queue_wait_matches_erlang_c():
    lam, mu, c = 3.2, 1.0, 4  # utilisation rho = lam / (c mu) = 0.8
    result, wall = run_queue(lam, mu, c, tickets=60_000, seed=0)
    records = result.records
    assert len(records) > 55_000 and all(r.status == "ok" for r in records)
    assert wall < 120, f"the M/M/c run took {wall:.0f} s of wall time"
    waits = np.array([r.wait_s for r in records])
    assert result.metrics["latency"]["wait"]["mean"] == pytest.approx(waits.mean())
    assert result.metrics["latency"]["service"]["mean"] == pytest.approx(1 / mu, rel=0.02)

    c_prob = erlang_c(c, lam / mu)
    expected = c_prob / (c * mu - lam)  # Wq = C(c, a) / (c mu - lambda) ~= 0.7455 s
    mean, se = batch_means(waits[len(waits) // 50:])
    assert Z * se < 0.25 * expected, f"too noisy to test: SE {se:.4f}"
    assert abs(mean - expected) <= Z * se, f"Wq {mean:.4f} vs Erlang C {expected:.4f} " \
                                           f"(SE {se:.4f})"
    share, share_se = batch_means((waits[len(waits) // 50:] > 0).astype(float))
    assert abs(share - c_prob) <= Z * share_se, f"P(wait) {share:.4f} vs {c_prob:.4f}"


@pytest.mark.timeout(300)
def test_mm1_probability_of_waiting_is_rho():
    lam, mu = 0.8, 1.0
    result, _ = run_queue(lam, mu, 1, tickets=30_000, seed=1)
    waits = np.array([r.wait_s for r in result.records])
    share, se = batch_means((waits[len(waits) // 50:] > 0).astype(float))
    assert Z * se < 0.03, f"too noisy to test: SE {se:.4f}"
    assert abs(share - lam / mu) <= Z * se, f"P(wait > 0) {share:.4f} vs rho {lam / mu}"
