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
import warnings
from dataclasses import dataclass

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
from simharness.metrics.routing import MULTI_LABEL, NONE_LABEL, OTHER_LABEL, label_order
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
    # Routes are the true labels (and human_review); "shipping" is only ever predicted
    # and "spam" is off-taxonomy: wrong answers, not classes of their own.
    assert {"human_review", "cancellation"} <= set(labels)
    assert not {"spam", "shipping"} & set(labels)

    # Accuracy is exact set match, a label that is not a route included: one indicator
    # column stands for every such label.
    def with_other(routes: list[str]) -> list[str]:
        return [label if label in labels else OTHER_LABEL for label in routes]

    exact = MultiLabelBinarizer(classes=[*labels, OTHER_LABEL])
    assert routing["accuracy"] == pytest.approx(accuracy_score(
        exact.fit_transform([r.true_route for r in records]),
        exact.transform([with_other(r.pred_route) for r in records])), abs=1e-12)

    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform([r.true_route for r in records])
    with warnings.catch_warnings():  # "unknown class(es) ... will be ignored", as ours
        warnings.simplefilter("ignore", UserWarning)
        y_pred = binarizer.transform([r.pred_route for r in records])

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
                      "human_review"]


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


def time_average(starts: np.ndarray, ends: np.ndarray, t0: float, t1: float) -> float:
    """Time-average over [t0, t1) of how many of the intervals [start, end) are open."""
    overlap = np.minimum(ends, t1) - np.maximum(starts, t0)
    return float(np.clip(overlap, 0.0, None).sum() / (t1 - t0))


# M/M/2 at utilisation 0.5: lambda = 1/s, mu = 1/s, Wq = C(2, 1) / (2 mu - lambda) = 1/3 s
# and P(wait) = 1/3. Run length: pilot runs of this queue (400,000 customers, 40 batch
# means, 4 seeds) give a batch-means variance of the mean wait of about 50 Wq^2 / n for n
# customers. The goal is "within 3 %" with a false-alarm rate under 0.3 % (3 standard
# errors), so the standard error must be at most 1 % of Wq: n >= 50 / 0.01^2 = 500,000.
# Five seeds of 100,000 tickets each give that, in about a minute of CPU. (Heavier traffic
# costs more: at utilisation 0.8 on 4 workers the same precision needs about 2,000,000.)
MMC = {"lam": 1.0, "mu": 1.0, "workers": 2}
SEEDS = range(5)
TICKETS_PER_SEED = 100_000
WARM_UP = 0.01  # of each run's tickets, dropped: the queue starts empty
TOLERANCE = 0.03


@dataclass(frozen=True)
class QueueRun:
    """What the queueing tests read from one run (the records themselves are dropped)."""

    metrics: dict
    all_ok: bool
    arrived: np.ndarray  # sorted by arrival
    started: np.ndarray
    finished: np.ndarray
    wait: np.ndarray  # the records' own wait_s and service_s
    service: np.ndarray

    @classmethod
    def of(cls, result: sh.Result) -> QueueRun:
        records = sorted(result.records, key=lambda r: r.arrived_at)

        def column(name: str) -> np.ndarray:
            return np.array([getattr(r, name) for r in records], dtype=float)

        return cls(result.metrics, all(r.status == "ok" for r in records), column("arrived_at"),
                   column("started_at"), column("finished_at"), column("wait_s"),
                   column("service_s"))


@pytest.fixture(scope="module")
def mmc_runs() -> list[QueueRun]:
    return [QueueRun.of(run_queue(MMC["lam"], MMC["mu"], MMC["workers"], TICKETS_PER_SEED,
                                  seed)[0]) for seed in SEEDS]


@pytest.mark.timeout(1200)  # a minute alone; far longer on a machine busy with other work
def test_mmc_mean_queue_wait_is_within_3_percent_of_erlang_c(mmc_runs):
    lam, mu, c = MMC["lam"], MMC["mu"], MMC["workers"]
    c_prob = erlang_c(c, lam / mu)
    expected = c_prob / (c * mu - lam)
    batch_waits, batch_shares, means = [], [], []
    for run in mmc_runs:
        assert len(run.wait) > 0.95 * TICKETS_PER_SEED and run.all_ok
        # The figure users read is the one tested.
        assert run.metrics["latency"]["wait"]["mean"] == pytest.approx(run.wait.mean())
        assert run.metrics["latency"]["service"]["mean"] == pytest.approx(1 / mu, rel=0.02)
        kept = run.wait[int(WARM_UP * len(run.wait)):]
        means.append(kept.mean())
        batch_waits += [b.mean() for b in np.array_split(kept, 10)]
        batch_shares += [(b > 0).mean() for b in np.array_split(kept, 10)]
    mean, se = float(np.mean(batch_waits)), float(np.std(batch_waits, ddof=1)
                                                  / math.sqrt(len(batch_waits)))
    per_seed = ", ".join(f"{m:.4f}" for m in means)
    message = (f"mean wait {mean:.4f} s over {len(means)} seeds ({per_seed}) vs Erlang C "
               f"{expected:.4f} s: {mean / expected - 1:+.2%} (standard error {se / expected:.2%})")
    assert se <= 0.015 * expected, "too noisy to test to 3 %: " + message
    assert abs(mean - expected) <= TOLERANCE * expected, message
    share = float(np.mean(batch_shares))
    assert abs(share - c_prob) <= TOLERANCE * c_prob, f"P(wait) {share:.4f} vs {c_prob:.4f}"


@pytest.mark.timeout(600)
def test_littles_law_holds_on_the_mmc_runs(mmc_runs):
    """L = lambda W, with L the time-average number of tickets in the system (and in the
    queue) swept from the records' timestamps, W the run's own latency figures and lambda
    the configured rate. The noise is the realised arrival rate's: a relative standard
    error of 1/sqrt(99,000) = 0.32 % per run, so 1.5 % is 4.7 of them (a false alarm in
    under 1 in 100,000 sets of five runs); edge effects of the window are smaller still."""
    lam = MMC["lam"]
    for run in mmc_runs:
        t0, t1 = float(run.arrived[int(WARM_UP * len(run.arrived))]), float(run.arrived[-1])
        inside = (run.arrived >= t0) & (run.arrived < t1)
        # W over the tickets that arrived in the window, from the records' wait and service
        wait = run.wait[inside].mean()
        total = (run.wait + run.service)[inside].mean()
        in_system = time_average(run.arrived, run.finished, t0, t1)
        in_queue = time_average(run.arrived, run.started, t0, t1)
        assert in_system == pytest.approx(lam * total, rel=0.015), (in_system, lam * total)
        assert in_queue == pytest.approx(lam * wait, rel=0.015), (in_queue, lam * wait)
        assert run.metrics["latency"]["mean"] == pytest.approx((run.wait + run.service).mean())
