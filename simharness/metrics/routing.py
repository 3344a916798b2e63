"""Routing and escalation quality: routes are SETS (a multi-issue ticket has several).

Per-route precision/recall/F1 follow scikit-learn's multilabel definitions exactly
(`MultiLabelBinarizer` + `precision_recall_fscore_support(zero_division=0)`), written
with numpy because scikit-learn is not a runtime dependency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..records import TicketRecord
from ._common import NAN, Window, ratio

#: The route an agent predicts to hand a ticket to a person instead of a queue.
REVIEW_ROUTE = "human_review"
#: Confusion-matrix columns for a failed/empty prediction and for several routes at once.
NONE_LABEL, MULTI_LABEL = "<none>", "<multi>"
#: The confusion-matrix column of every predicted label that is not a route: an agent
#: answering in free text makes thousands of distinct labels, and each is only "wrong".
OTHER_LABEL = "<other>"


def routing_accuracy(records: Sequence[TicketRecord]) -> float:
    """Exact set match of predicted and true routes; a failed ticket predicts nothing."""
    return ratio(sum(set(r.pred_route) == set(r.true_route) for r in records), len(records))


def label_order(records: Sequence[TicketRecord], routes: Iterable[str] = ()) -> list[str]:
    """Every label that is a route (configured, true for some ticket, or `human_review`)
    and occurs in `records`: configured routes first (scenario order), then the others
    sorted, so figures and matrices line up across runs. Predicted labels that are not
    routes are left out: they score as wrong answers, never as classes of their own."""
    routes = list(dict.fromkeys(routes))
    known = {*routes, REVIEW_ROUTE, *(label for r in records for label in r.true_route)}
    seen = {label for r in records for label in (*r.true_route, *r.pred_route)
            if label in known}
    first = [route for route in routes if route in seen]
    return first + sorted(seen - set(first))


def binarize(route_sets: Iterable[Iterable[str]], labels: Sequence[str]) -> np.ndarray:
    """Indicator matrix (tickets x labels), as `MultiLabelBinarizer(classes=labels)` gives;
    a label outside `labels` sets no column (scikit-learn warns and ignores it too)."""
    index = {label: j for j, label in enumerate(labels)}
    sets = list(route_sets)
    out = np.zeros((len(sets), len(labels)), dtype=bool)
    for i, routes in enumerate(sets):
        for label in routes:
            j = index.get(label)
            if j is not None:
                out[i, j] = True
    return out


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(num.shape, dtype=float), where=den > 0)


def label_scores(records: Sequence[TicketRecord], labels: Sequence[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1/support plus macro and micro F1 over `labels`."""
    if not labels:
        return {"per_route": {}, "macro_f1": NAN, "micro_f1": NAN}
    truth = binarize((r.true_route for r in records), labels)
    pred = binarize((r.pred_route for r in records), labels)
    tp = (truth & pred).sum(axis=0).astype(float)
    fp = (~truth & pred).sum(axis=0).astype(float)
    fn = (truth & ~pred).sum(axis=0).astype(float)
    precision, recall = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * tp, 2 * tp + fp + fn)
    micro = _safe_div(np.array([2 * tp.sum()]), np.array([2 * tp.sum() + fp.sum() + fn.sum()]))
    per_route = {label: {"precision": float(precision[j]), "recall": float(recall[j]),
                         "f1": float(f1[j]), "support": int(tp[j] + fn[j])}
                 for j, label in enumerate(labels)}
    return {"per_route": per_route, "macro_f1": float(f1.mean()), "micro_f1": float(micro[0])}


def macro_f1(records: Sequence[TicketRecord], order: Sequence[str] = ()) -> float:
    """Macro F1 over the labels that occur in `records` (used per tag)."""
    return float(label_scores(records, label_order(records, order))["macro_f1"])


def _predicted_column(pred: list[str], index: dict[str, int]) -> int:
    routes = set(pred)
    if not routes:
        return index[NONE_LABEL]
    if len(routes) > 1:
        return index[MULTI_LABEL]
    return index.get(next(iter(routes)), index[OTHER_LABEL])


def confusion(records: Sequence[TicketRecord], labels: Sequence[str]) -> dict[str, Any]:
    """Square matrix (rows true, columns predicted) over single-route tickets; labels are
    the routes then `<other>` (one label that is not a route), `<none>` (nothing
    predicted) and `<multi>` (several predicted)."""
    names = [*labels, OTHER_LABEL, NONE_LABEL, MULTI_LABEL]
    index = {name: k for k, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for r in records:
        truth = set(r.true_route)
        if len(truth) == 1:
            matrix[index[next(iter(truth))], _predicted_column(r.pred_route, index)] += 1
    return {"labels": names, "matrix": matrix.tolist()}


def in_windows(record: TicketRecord, spans: Sequence[tuple[float, float]]) -> bool:
    return any(start <= record.arrived_at < end for start, end in spans)


def by_fault_window(records: Sequence[TicketRecord],
                    windows: Sequence[Window]) -> dict[str, float]:
    """Routing accuracy of tickets that arrived inside fault windows, outside them, and per
    fault: `accuracy@faults`, `accuracy@baseline`, `accuracy@fault:<name>`."""
    if not windows:
        return {}
    spans = [(s, e) for _, s, e in windows]
    inside = [r for r in records if in_windows(r, spans)]
    out = {"accuracy@faults": routing_accuracy(inside),
           "accuracy@baseline": routing_accuracy([r for r in records
                                                  if not in_windows(r, spans)])}
    for name in dict.fromkeys(n for n, _, _ in windows):
        own = [(s, e) for n, s, e in windows if n == name]
        out[f"accuracy@fault:{name}"] = routing_accuracy(
            [r for r in records if in_windows(r, own)])
    return out


def routing_metrics(records: Sequence[TicketRecord], *, routes: Sequence[str] = (),
                    windows: Sequence[Window] = ()) -> dict[str, Any]:
    """The `routing` section. A `human_review` prediction counts as a wrong route (the
    ticket was not routed); `accuracy_excluding_review` shows the agent's own calls."""
    labels = label_order(records, routes)
    tags = sorted({t for r in records for t in r.tags})
    tagged = {t: [r for r in records if t in r.tags] for t in tags}
    kept = [r for r in records if REVIEW_ROUTE not in r.pred_route]
    return {
        "accuracy": routing_accuracy(records),
        **label_scores(records, labels),
        "by_route": {label: routing_accuracy([r for r in records if label in r.true_route])
                     for label in labels if any(label in r.true_route for r in records)},
        "by_tag": {t: routing_accuracy(own) for t, own in tagged.items()},
        "by_tag_f1": {t: macro_f1(own, labels) for t, own in tagged.items()},
        "accuracy_excluding_review": routing_accuracy(kept),
        "review_rate": ratio(len(records) - len(kept), len(records)),
        "confusion": confusion(records, labels),
        **by_fault_window(records, windows),
    }


def escalation_metrics(records: Sequence[TicketRecord]) -> dict[str, Any]:
    """Precision/recall of escalating, and the misses that matter most (high-value)."""
    should = sum(r.true_escalate for r in records)
    did = sum(r.pred_escalate for r in records)
    both = sum(r.true_escalate and r.pred_escalate for r in records)
    return {"precision": ratio(both, did), "recall": ratio(both, should),
            "missed": should - both,
            "missed_high_value": sum(r.true_escalate and not r.pred_escalate
                                     and "high_value" in r.tags for r in records),
            "false_escalations": did - both}
