"""Routing and escalation quality: routes are SETS (a multi-issue ticket has several).

Per-route precision/recall/F1 follow scikit-learn's multilabel definitions exactly
(`MultiLabelBinarizer` + `precision_recall_fscore_support(zero_division=0)`), written
with numpy because scikit-learn is not a runtime dependency. Everything is computed from
`Columns` (see simharness/columns.py): list-valued fields are codes into a small table of
distinct lists, so a label question is asked once per distinct list, not once per ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..columns import Columns
from ..records import TicketRecord
from ._common import NAN, Window, as_columns, ratio

#: The route an agent predicts to hand a ticket to a person instead of a queue.
REVIEW_ROUTE = "human_review"
#: Confusion-matrix columns for a failed/empty prediction and for several routes at once.
NONE_LABEL, MULTI_LABEL = "<none>", "<multi>"
#: The confusion-matrix column of every predicted label that is not a route: an agent
#: answering in free text makes thousands of distinct labels, and each is only "wrong".
OTHER_LABEL = "<other>"


def _accuracy(cols: Columns, rows: np.ndarray | None = None) -> float:
    correct = cols.correct if rows is None else cols.correct[rows]
    return ratio(int(correct.sum()), int(correct.size))


def routing_accuracy(records: Sequence[TicketRecord] | Columns) -> float:
    """Exact set match of predicted and true routes; a failed ticket predicts nothing."""
    return _accuracy(as_columns(records))


def _routes(cols: Columns, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The (true, predicted) route codes of `rows` (all rows when None)."""
    if rows is None:
        return cols.true_route, cols.pred_route
    return cols.true_route[rows], cols.pred_route[rows]


def label_order(records: Sequence[TicketRecord] | Columns, routes: Iterable[str] = (),
                rows: np.ndarray | None = None) -> list[str]:
    """Every label that is a route (configured, true for some ticket, or `human_review`)
    and occurs in `records` (or its `rows`): configured routes first (scenario order),
    then the others sorted, so figures and matrices line up across runs. Predicted labels
    that are not routes are left out: they score as wrong answers, never as classes of
    their own."""
    cols = as_columns(records)
    true, pred = _routes(cols, rows)
    routes = list(dict.fromkeys(routes))
    truth = cols.labels_in(true)
    known = {*routes, REVIEW_ROUTE, *truth}
    seen = truth | (cols.labels_in(pred) & known)
    first = [route for route in routes if route in seen]
    return first + sorted(seen - set(first))


def _indicators(cols: Columns, column: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Indicator matrix (tickets x labels), as `MultiLabelBinarizer(classes=labels)` gives;
    a label outside `labels` sets no column (scikit-learn warns and ignores it too)."""
    table = np.array([[label in values for label in labels] for values in cols.values]
                     or [[False] * len(labels)], dtype=bool).reshape(-1, len(labels))
    return table[column]


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(num.shape, dtype=float), where=den > 0)


def label_scores(cols: Columns, labels: Sequence[str],
                 rows: np.ndarray | None = None) -> dict[str, Any]:
    """Per-label precision/recall/F1/support plus macro and micro F1 over `labels`."""
    if not labels:
        return {"per_route": {}, "macro_f1": NAN, "micro_f1": NAN}
    true_codes, pred_codes = _routes(cols, rows)
    truth = _indicators(cols, true_codes, labels)
    pred = _indicators(cols, pred_codes, labels)
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


def macro_f1(cols: Columns, order: Sequence[str] = (), rows: np.ndarray | None = None) -> float:
    """Macro F1 over the labels that occur in `rows` (used per tag)."""
    return float(label_scores(cols, label_order(cols, order, rows), rows)["macro_f1"])


def _predicted_column(pred: Sequence[str], index: dict[str, int]) -> int:
    routes = set(pred)
    if not routes:
        return index[NONE_LABEL]
    if len(routes) > 1:
        return index[MULTI_LABEL]
    return index.get(next(iter(routes)), index[OTHER_LABEL])


def confusion(cols: Columns, labels: Sequence[str]) -> dict[str, Any]:
    """Square matrix (rows true, columns predicted) over single-route tickets; labels are
    the routes then `<other>` (one label that is not a route), `<none>` (nothing
    predicted) and `<multi>` (several predicted)."""
    names = [*labels, OTHER_LABEL, NONE_LABEL, MULTI_LABEL]
    index = {name: k for k, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    single = cols.lengths(cols.true_route) == 1
    if not single.any():
        return {"labels": names, "matrix": matrix.tolist()}
    width = max(len(cols.values), 1)
    keys, counts = np.unique(cols.true_route[single].astype(np.int64) * width
                             + cols.pred_route[single], return_counts=True)
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        true_code, pred_code = divmod(key, width)
        row = index[next(iter(cols.values[true_code]))]
        matrix[row, _predicted_column(cols.values[pred_code], index)] += count
    return {"labels": names, "matrix": matrix.tolist()}


def in_windows(arrived: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """Rows whose arrival time falls in any of `spans` (start inclusive, end exclusive)."""
    inside = np.zeros(arrived.shape, dtype=bool)
    for start, end in spans:
        inside |= (start <= arrived) & (arrived < end)
    return inside


def by_fault_window(records: Sequence[TicketRecord] | Columns,
                    windows: Sequence[Window]) -> dict[str, float]:
    """Routing accuracy of tickets that arrived inside fault windows, outside them, and per
    fault: `accuracy@faults`, `accuracy@baseline`, `accuracy@fault:<name>`."""
    if not windows:
        return {}
    cols = as_columns(records)
    inside = in_windows(cols.arrived_at, [(s, e) for _, s, e in windows])
    out = {"accuracy@faults": _accuracy(cols, inside),
           "accuracy@baseline": _accuracy(cols, ~inside)}
    for name in dict.fromkeys(n for n, _, _ in windows):
        own = [(s, e) for n, s, e in windows if n == name]
        out[f"accuracy@fault:{name}"] = _accuracy(cols, in_windows(cols.arrived_at, own))
    return out


def routing_metrics(cols: Columns, *, routes: Sequence[str] = (),
                    windows: Sequence[Window] = ()) -> dict[str, Any]:
    """The `routing` section. A `human_review` prediction counts as a wrong route (the
    ticket was not routed); `accuracy_excluding_review` shows the agent's own calls."""
    labels = label_order(cols, routes)
    tags = sorted(cols.labels_in(cols.tags))
    tagged = {t: cols.has(cols.tags, t) for t in tags}
    kept = ~cols.has(cols.pred_route, REVIEW_ROUTE)
    n = len(cols)
    by_route = {}
    for label in labels:
        rows = cols.has(cols.true_route, label)
        if rows.any():
            by_route[label] = _accuracy(cols, rows)
    return {
        "accuracy": _accuracy(cols),
        **label_scores(cols, labels),
        "by_route": by_route,
        "by_tag": {t: _accuracy(cols, rows) for t, rows in tagged.items()},
        "by_tag_f1": {t: macro_f1(cols, labels, rows) for t, rows in tagged.items()},
        "accuracy_excluding_review": _accuracy(cols, kept),
        "review_rate": ratio(n - int(kept.sum()), n),
        "confusion": confusion(cols, labels),
        **by_fault_window(cols, windows),
    }


def escalation_metrics(cols: Columns) -> dict[str, Any]:
    """Precision/recall of escalating, and the misses that matter most (high-value)."""
    true, pred = cols.true_escalate, cols.pred_escalate
    should, did = int(true.sum()), int(pred.sum())
    both = int((true & pred).sum())
    return {"precision": ratio(both, did), "recall": ratio(both, should),
            "missed": should - both,
            "missed_high_value": int((true & ~pred & cols.has(cols.tags, "high_value")).sum()),
            "false_escalations": did - both}
