"""Curves across a sweep's grid: a metric's mean with its 95 % CI against one grid path.

One line per combination of the other grid paths, so a 2-D grid (load x fault rate) reads
as a family of curves. Figures are plain `matplotlib.figure.Figure` objects (no pyplot
state, Agg when saved) and PNGs carry no version or date, so the same sweep gives the
same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from ..sweep import SweepResult

#: PNG metadata without the matplotlib version, so files are byte-identical across installs.
_PNG_METADATA: dict[str, Any] = {"Software": None}
#: The metrics each overview figure shows, with axis labels.
OVERVIEW = (("routing.accuracy", "routing accuracy"), ("latency.p95", "latency p95 (s)"),
            ("cost.per_ticket_usd", "cost per ticket (USD)"))


def _label(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _x_axis(result: SweepResult, x: str) -> tuple[list[float], list[str] | None]:
    """Per point, where it sits on the x axis: the validated number (a rate in /s) when
    every value has one, else the position of its value in the grid list (with labels)."""
    numbers = [n[x] for n in result.numeric]
    if all(v is not None for v in numbers):
        return [float(v) for v in numbers if v is not None], None
    values = result.grid[x]
    labels = [_label(v) for v in values]
    return [float(labels.index(_label(p[x]))) for p in result.points], labels


def _pick(result: SweepResult, x: str | None, pattern: str, what: str) -> str:
    """`x` when given, else the first grid path matching `pattern`, else the only one."""
    paths = list(result.grid)
    if x is not None:
        if x not in result.grid:
            raise ValueError(f"{x!r} is not a grid path; the grid has: {', '.join(paths)}")
        return x
    for path in paths:
        if re.search(pattern, path):
            return path
    if len(paths) == 1:
        return paths[0]
    raise ValueError(f"no grid path looks like {what}; pass x= one of: "
                     f"{', '.join(paths) or '(empty grid)'}")


def _lines(result: SweepResult, x: str, xs: list[float]) -> list[tuple[str | None, list[int]]]:
    """Points grouped by the values of the other grid paths (those with several values),
    each group sorted along x."""
    others = [p for p, values in result.grid.items() if p != x and len(values) > 1]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, point in enumerate(result.points):
        groups.setdefault(tuple(_label(point[p]) for p in others), []).append(i)
    return [(", ".join(f"{p}={v}" for p, v in zip(others, key, strict=True)) or None,
             sorted(members, key=lambda i: xs[i])) for key, members in groups.items()]


def draw_curve(ax: Axes, result: SweepResult, x: str, y: str, ylabel: str | None = None) -> None:
    """Mean of `y` against grid path `x`, error bars at the 95 % CI, one line per
    combination of the other grid paths."""
    if y not in result.metric_names:
        raise ValueError(f"no metric {y!r} in this sweep (e.g. routing.accuracy, latency.p95,"
                         " cost.per_ticket_usd)")
    xs, labels = _x_axis(result, x)
    for name, members in _lines(result, x, xs):
        stats = [result.summary[i]["metrics"].get(y) for i in members]
        px = [xs[i] for i, s in zip(members, stats, strict=True) if s is not None]
        mean = [s["mean"] for s in stats if s is not None]
        half = [s["half_width"] if math.isfinite(s["half_width"]) else 0.0
                for s in stats if s is not None]
        line = ax.errorbar(px, mean, yerr=half, marker="o", capsize=3, label=name)
        if len(px) > 1 and any(half):
            ax.fill_between(px, [m - h for m, h in zip(mean, half, strict=True)],
                            [m + h for m, h in zip(mean, half, strict=True)],
                            color=line.lines[0].get_color(), alpha=0.15, linewidth=0)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    ax.grid(True, alpha=0.3)
    if sum(len(values) > 1 for p, values in result.grid.items() if p != x):
        ax.legend(fontsize="small")


def _draw_pass(ax: Axes, result: SweepResult, x: str) -> None:
    """pass^1 (solid) and pass^n (dashed) per grid point: estimates over all n runs, no CI."""
    xs, labels = _x_axis(result, x)
    for name, members in _lines(result, x, xs):
        px = [xs[i] for i in members]
        suffix = f" ({name})" if name else ""
        line = ax.plot(px, [result.summary[i]["pass_hat_k"][1] for i in members], "o-",
                       label=f"pass^1{suffix}")[0]
        ax.plot(px, [result.summary[i]["pass_hat_k"][result.summary[i]["n"]] for i in members],
                "s--", color=line.get_color(), label=f"pass^{len(result.seeds)}{suffix}")
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(x)
    ax.set_ylabel("pass^k")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


class SweepPlots:
    """`result.plot`: curves of a SweepResult, each returned as a Figure."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result

    def curve(self, x: str, y: str, *, title: str | None = None) -> Figure:
        """Metric `y` (a dotted path like `routing.accuracy`) against grid path `x`."""
        if x not in self.result.grid:
            raise ValueError(f"{x!r} is not a grid path; the grid has: "
                             f"{', '.join(self.result.grid) or '(empty grid)'}")
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
        draw_curve(ax, self.result, x, y)
        ax.set_title(title or f"{self.result.scenario}: {y} vs {x} "
                              f"(mean, 95% CI, {len(self.result.seeds)} seeds)", fontsize="medium")
        return fig

    def cost_vs_load(self, x: str | None = None) -> Figure:
        """Cost per ticket against the traffic rate in the grid (or `x`)."""
        return self.curve(_pick(self.result, x, r"^traffic\[\d+\]\..*rate", "a traffic rate"),
                          "cost.per_ticket_usd")

    def accuracy_vs_fault_rate(self, x: str | None = None) -> Figure:
        """Routing accuracy against a fault's probability, rate or factor in the grid."""
        return self.curve(_pick(self.result, x, r"^faults\[", "a fault setting"),
                          "routing.accuracy")

    def cost_vs_threshold(self, x: str | None = None) -> Figure:
        """Cost per ticket against a threshold in the grid (an agent's confidence
        threshold, say: the knob that trades large-model calls for accuracy)."""
        return self.curve(_pick(self.result, x, r"threshold", "a threshold"),
                          "cost.per_ticket_usd")

    def overview(self, x: str, metrics: Sequence[tuple[str, str]] = OVERVIEW) -> Figure:
        """Accuracy, p95 latency, cost per ticket and pass^k against grid path `x`."""
        fig = Figure(figsize=(6 * (len(metrics) + 1) / 2, 8), layout="constrained")
        axes = fig.subplots(2, math.ceil((len(metrics) + 1) / 2), squeeze=False).ravel()
        known = set(self.result.metric_names)
        for ax, (y, label) in zip(axes, metrics, strict=False):
            if y in known:
                draw_curve(ax, self.result, x, y, label)
            else:
                ax.set_axis_off()
        _draw_pass(axes[len(metrics)], self.result, x)
        for ax in axes[len(metrics) + 1:]:
            ax.set_axis_off()
        fig.suptitle(f"{self.result.scenario}: sweep over {x} "
                     f"(mean, 95% CI, {len(self.result.seeds)} seeds)")
        return fig


def slug(path: str) -> str:
    """`traffic[0].synthetic.rate` -> `traffic-0-synthetic-rate` (for file names)."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-") or "grid"


def save_png(fig: Figure, path: str | Path) -> Path:
    """A PNG with no version or timestamp in it."""
    out = Path(path)
    fig.savefig(out, format="png", dpi=100, metadata=_PNG_METADATA)
    return out


def save_overviews(result: SweepResult, directory: str | Path) -> list[Path]:
    """`sweep-<path>.png` per grid path with several values (one value is no curve)."""
    return [save_png(SweepPlots(result).overview(x), Path(directory) / f"sweep-{slug(x)}.png")
            for x, values in result.grid.items() if len(values) > 1]
