"""The report's figures, drawn with matplotlib on its Agg canvas.

Each function takes a run (a live `Result` through `result.plot`, a `LoadedRun` from disk,
or a `PlotInput`) and returns a `matplotlib.figure.Figure` built directly, never through
pyplot: no global figure registry fills up in a notebook or a long sweep, and nothing
depends on the user's backend. A run's tickets reach the plots as a `series.Timeline` (a
few numbers per ticket), never as records, so a million tickets plot in tens of megabytes.
`to_png` renders with a fixed DPI and no "Software" metadata, so the same run gives the
same PNG bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory

from ..records import TicketRecord
from . import series
from .series import Timeline

__all__ = ["DPI", "PlotInput", "RunLike", "accuracy_over_time", "confusion_heatmap",
           "cumulative_cost", "latency_over_time", "recovery", "recovery_time", "to_png"]

DPI = 100
#: One colour per fault name, in order of first appearance.
FAULT_COLORS = ("#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
STATUS_COLORS = {"error": "#d62728", "timeout": "#ff7f0e", "hung": "#9467bd",
                 "invalid_output": "#8c564b"}
NEVER_COLOR = "#f4c7c3"
#: Most steps drawn in the cumulative cost curve: a bigger run's curve is drawn through the
#: last ticket of each of this many equal slices of time, far finer than a pixel.
MAX_STEPS = 20_000

Window = tuple[str, float, float]


class RunLike(Protocol):
    """What the plots need from a run: its timeline, metrics, fault windows, duration."""

    @property
    def timeline(self) -> Timeline: ...

    @property
    def metrics(self) -> dict[str, Any]: ...

    @property
    def fault_windows(self) -> Sequence[Window]: ...

    @property
    def duration(self) -> float: ...


@dataclass(frozen=True)
class PlotInput:
    """A run's plottable parts, for callers that hold them loose (a timeline, or the records
    to make one from, + metrics + windows)."""

    timeline: Timeline
    metrics: dict[str, Any]
    fault_windows: Sequence[Window]
    duration: float

    def __init__(self, timeline: Timeline | Sequence[TicketRecord], metrics: dict[str, Any],
                 fault_windows: Sequence[Window], duration: float) -> None:
        object.__setattr__(self, "timeline", series.as_timeline(timeline))
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "fault_windows", fault_windows)
        object.__setattr__(self, "duration", duration)


def to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, reproducible for the same input."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


# --------------------------------------------------------------------------- shared pieces

def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _time_unit(horizon: float) -> tuple[float, str]:
    """Seconds for short runs, minutes up to a few hours, then hours."""
    if horizon <= 600:
        return 1.0, "s"
    if horizon <= 6 * 3600:
        return 60.0, "min"
    return 3600.0, "h"


def _bin_label(width: float) -> str:
    if width >= 3600 and width % 3600 == 0:
        return f"{width / 3600:g} h"
    if width >= 60 and width % 60 == 0:
        return f"{width / 60:g} min"
    return f"{width:g} s"


def _fault_colors(windows: Sequence[Window]) -> dict[str, str]:
    names = dict.fromkeys(name for name, _, _ in windows)
    return {name: FAULT_COLORS[i % len(FAULT_COLORS)] for i, name in enumerate(names)}


def shade_windows(ax: Axes, windows: Sequence[Window], scale: float,
                  label: bool = True) -> list[Artist]:
    """Shade every fault span (gid `fault-window:<name>`); name each fault once, at the top
    of its first span. Returns legend handles, one per fault."""
    colors = _fault_colors(windows)
    where = blended_transform_factory(ax.transData, ax.transAxes)
    named: set[str] = set()
    for name, start, end in windows:
        span = ax.axvspan(start / scale, end / scale, facecolor=colors[name], alpha=0.13,
                          linewidth=0, zorder=0)
        span.set_gid(f"fault-window:{name}")
        if label and name not in named:
            row = len(named)
            ax.text(start / scale, 0.97 - 0.08 * row, f" {name}", transform=where, ha="left",
                    va="top", fontsize=9, fontweight="bold", color=colors[name], clip_on=True)
        named.add(name)
    handles: list[Artist] = [Patch(facecolor=color, alpha=0.3, label=f"fault window: {name}")
                             for name, color in colors.items()]
    return handles


def _message(ax: Axes, text: str) -> None:
    """A figure that says why it is empty, instead of blank axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=11,
            color="#555555", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _time_axes(ax: Axes, horizon: float, scale: float, unit: str, what: str) -> None:
    ax.set_xlim(0, horizon / scale)
    ax.set_xlabel(f"simulated time ({unit}), {what}")
    ax.grid(True, alpha=0.3)


# --------------------------------------------------------------------------- figures

def accuracy_over_time(run: RunLike, *, bin_s: float | None = None) -> Figure:
    """Routing accuracy per arrival bin above failed tickets per bin, fault windows shaded:
    the dip and the recovery are what an outage looks like to customers."""
    horizon = run.duration
    edges = series.bin_edges(horizon, bin_s)
    scale, unit = _time_unit(horizon)
    acc = series.accuracy_over_time(run.timeline, edges)
    failed = series.failures_over_time(run.timeline, edges)
    fig = _figure(11, 6.2)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    width = edges[1] - edges[0]
    fig.suptitle(f"Routing accuracy over time ({_bin_label(width)} bins, by arrival)",
                 fontsize=13)
    handles = shade_windows(top, run.fault_windows, scale)
    shade_windows(bottom, run.fault_windows, scale, label=False)
    (line,) = top.plot(acc.centers / scale, acc.rate, color="#1f77b4", linewidth=1.6,
                       marker="o", markersize=2.5, label="accuracy per bin")
    handles.insert(0, line)
    overall = run.metrics.get("routing", {}).get("accuracy")
    if isinstance(overall, (int, float)) and math.isfinite(overall):
        handles.insert(1, top.axhline(overall, color="#444444", linestyle="--", linewidth=1,
                                      label=f"whole run: {overall:.3f}"))
    top.set_ylim(0, 1.05)
    top.yaxis.set_major_formatter(PercentFormatter(1.0))
    top.set_ylabel("tickets routed right (%)")
    top.grid(True, alpha=0.3)
    top.legend(handles=handles, loc="lower left", fontsize=9, framealpha=0.9)

    stacked = np.zeros(len(edges) - 1)
    for status, counts in failed.items():
        if counts.any():
            bottom.bar(edges[:-1] / scale, counts, width=width / scale, bottom=stacked,
                       align="edge", color=STATUS_COLORS.get(status, "#7f7f7f"), label=status,
                       linewidth=0)
            stacked = stacked + counts
    if stacked.any():
        bottom.legend(loc="upper right", fontsize=9, title="status", title_fontsize=9)
    else:
        bottom.text(0.5, 0.5, "no failed tickets", transform=bottom.transAxes, ha="center",
                    va="center", color="#2ca02c", fontsize=11)
    bottom.set_ylim(0, max(1.0, float(stacked.max()) * 1.15))
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    bottom.set_ylabel("failed tickets\nper bin")
    _time_axes(bottom, horizon, scale, unit, "tickets by arrival")
    return fig


def latency_over_time(run: RunLike, *, bin_s: float | None = None) -> Figure:
    """p50/p95/p99 of end-to-end latency per bin of finish time (when the work happened):
    tails move first under faults."""
    horizon = run.duration
    edges = series.bin_edges(horizon, bin_s)
    scale, unit = _time_unit(horizon)
    quantiles = series.latency_percentiles(run.timeline, edges, (50, 95, 99))
    centers = (edges[:-1] + edges[1:]) / 2 / scale
    fig = _figure(11, 4.8)
    ax = fig.subplots()
    ax.set_title(f"Latency over time ({_bin_label(edges[1] - edges[0])} bins, by finish "
                 "time)", fontsize=13)
    handles = shade_windows(ax, run.fault_windows, scale)
    styles = {50: ("#2ca02c", "-"), 95: ("#ff7f0e", "-"), 99: ("#d62728", "--")}
    lines = [ax.plot(centers, quantiles[q], color=styles[q][0], linestyle=styles[q][1],
                     linewidth=1.5, label=f"p{q:g}")[0] for q in (50, 95, 99)]
    values = np.concatenate([v[np.isfinite(v)] for v in quantiles.values()])
    if values.size == 0:
        _message(ax, "no finished tickets")
        return fig
    typical = float(np.nanmedian(quantiles[50])) if np.isfinite(quantiles[50]).any() else 0.0
    high = float(values.max())
    if typical > 0 and high / typical > 40:  # a tail that would flatten everything else
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylabel("latency (s, log scale): queue wait + service")
    else:
        ax.set_ylim(0, high * 1.1 if high > 0 else 1.0)
        ax.set_ylabel("latency (s): queue wait + service")
    _time_axes(ax, horizon, scale, unit, "tickets by when their work finished")
    ax.legend(handles=lines + handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=9, borderaxespad=0)
    return fig


def cumulative_cost(run: RunLike) -> Figure:
    """Money spent so far, with the pre-fault spending rate drawn on: retries and fallbacks
    bend the curve away from it."""
    times, spent = series.cumulative_cost(run.timeline)
    horizon = max(run.duration, float(times[-1]) if times.size else 0.0)
    scale, unit = _time_unit(horizon)
    fig = _figure(11, 4.8)
    ax = fig.subplots()
    ax.set_title("Cumulative cost (by ticket finish)", fontsize=13)
    handles = shade_windows(ax, run.fault_windows, scale)
    if times.size == 0:
        _message(ax, "no tickets")
        return fig
    steps_at, steps = series.thin_steps(times, spent, MAX_STEPS)
    (line,) = ax.step(np.concatenate([[0.0], steps_at]) / scale,
                      np.concatenate([[0.0], steps]), where="post", color="#1f77b4",
                      linewidth=1.8, label="cumulative cost")
    handles.insert(0, line)
    starts = [s for _, s, _ in run.fault_windows]
    rate = series.baseline_cost_rate(run.timeline, min(starts)) if starts else None
    if rate is not None:
        (ref,) = ax.plot([0, horizon / scale], [0, rate * horizon], color="#555555",
                         linestyle=":", linewidth=1.3, label="pre-fault rate, extended")
        handles.insert(1, ref)
    total = float(spent[-1])
    ax.annotate(f"${total:,.4f}", xy=(times[-1] / scale, total), xytext=(-6, 6),
                textcoords="offset points", ha="right", va="bottom", fontsize=10)
    ax.set_ylim(0, max(total, rate * horizon if rate else 0.0) * 1.12 or 1.0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.4g}"))
    ax.set_ylabel("cost so far (USD)")
    _time_axes(ax, horizon, scale, unit, "tickets by finish")
    ax.legend(handles=handles, loc="upper left", fontsize=9, framealpha=0.9)
    return fig


def confusion_heatmap(run: RunLike) -> Figure:
    """True vs predicted route (metrics' `routing.confusion`), coloured by the share of each
    true route, annotated with counts: which routes get mixed up, not just how often."""
    confusion = run.metrics.get("routing", {}).get("confusion")
    labels = list(confusion.get("labels", [])) if isinstance(confusion, dict) else []
    matrix = np.array(confusion.get("matrix", []) if isinstance(confusion, dict) else [],
                      dtype=float)
    n = len(labels)
    empty = "no routing.confusion in this run's metrics"
    if n and matrix.shape == (n, n):  # drop labels no ticket has on either axis
        empty = "no tickets in routing.confusion"
        used = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
        labels = [label for label, keep in zip(labels, used, strict=True) if keep]
        matrix = matrix[np.ix_(used, used)]
        n = len(labels)
    if n == 0 or matrix.shape != (n, n):
        fig = _figure(7, 3)
        ax = fig.subplots()
        ax.set_title("Routing confusion matrix", fontsize=13)
        _message(ax, empty)
        return fig
    side = min(max(5.5, 0.55 * n + 3.0), 16.0)
    fig = _figure(side + 1.2, side)
    ax = fig.subplots()
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    bar = fig.colorbar(image, ax=ax, shrink=0.8, format=PercentFormatter(1.0))
    bar.set_label("share of the true route's tickets")
    font = 10 if n <= 8 else 8 if n <= 16 else 0
    if font:
        for i in range(n):
            for j in range(n):
                count = int(matrix[i, j])
                ax.text(j, i, f"{count:,}", ha="center", va="center", fontsize=font,
                        color="white" if share[i, j] > 0.55 else "#222222")
    ax.set_xticks(range(n), labels, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted route")
    ax.set_ylabel("true route")
    ax.set_title(f"Routing confusion matrix ({int(matrix.sum()):,} tickets)", fontsize=13)
    return fig


def _seconds(value: Any) -> float | None:
    """A finite number, or None (inf, NaN, or null once saved)."""
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def recovery_time(row: dict[str, Any], key: str, duration: float) -> float | str:
    """`time_to_detect` / `time_to_recover` of one fault: seconds, or why there are none.

    Saved JSON turns both inf ("never") and NaN ("unknowable") into null, so the fault's
    end decides: a fault lasting to the end of arrivals (or forever) has no "after" to
    recover in ("n/a"); any other missing time means the agent never got there ("never").
    """
    value = row.get(key)
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    if isinstance(value, float) and math.isinf(value):
        return "never"
    end = _seconds(row.get("end"))
    if key == "time_to_recover" and (end is None or end >= duration):
        return "n/a"
    return "never"


def _recovery_rows(run: RunLike) -> dict[str, dict[str, Any]]:
    section = run.metrics.get("recovery")
    if not isinstance(section, dict):
        return {}
    return {str(k): v for k, v in section.items() if isinstance(v, dict)}


def recovery(run: RunLike) -> Figure:
    """Per fault: time to detect (from its start) and to recover (from its end) as bars,
    "never" when the agent did not; and the tickets of its window that failed or raised."""
    rows = _recovery_rows(run)
    if not rows:
        fig = _figure(8, 3)
        ax = fig.subplots()
        ax.set_title("Recovery per fault", fontsize=13)
        _message(ax, "no fault windows in this run" if not run.fault_windows
                 else "no recovery metrics in this run's metrics")
        return fig
    names = list(rows)
    fig = _figure(12, 2.4 + 1.0 * len(names))
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    fig.suptitle("Recovery per fault", fontsize=13)
    y = np.arange(len(names), dtype=float)
    times = {name: {key: recovery_time(rows[name], key, run.duration)
                    for key in ("time_to_detect", "time_to_recover")} for name in names}
    _recovery_times(left, times, names, y)
    _recovery_counts(right, rows, names, y)
    labels = []
    for name in names:
        parts = [f"{key} ×{value:.2f}" for key, value in (
            ("calls", _seconds(rows[name].get("retry_amplification"))),
            ("cost", _seconds(rows[name].get("cost_amplification")))) if value is not None]
        labels.append(name + ("\n" + ", ".join(parts) + "\nper ticket vs baseline"
                              if parts else ""))
    left.set_yticks(y, labels)
    right.set_yticks(y, [""] * len(names))
    for ax in (left, right):
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.grid(True, axis="x", alpha=0.3)
    return fig


#: Legends of the recovery panels sit above them, clear of the bars.
_LEGEND_ABOVE: dict[str, Any] = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.01),
                                 "fontsize": 9, "borderaxespad": 0, "frameon": False}


def _recovery_times(ax: Axes, times: dict[str, dict[str, float | str]], names: list[str],
                    y: np.ndarray) -> None:
    kinds = (("time_to_detect", "time to detect", "from the fault's start", "#1f77b4", -0.2),
             ("time_to_recover", "time to recover", "from its end", "#2ca02c", 0.2))
    finite = [v for row in times.values() for v in row.values() if isinstance(v, float)]
    limit = max(finite, default=0.0) * 1.3 or 60.0
    across = blended_transform_factory(ax.transAxes, ax.transData)
    handles: list[Artist] = [Patch(color=color, label=f"{label} ({origin})")
                             for _, label, origin, color, _ in kinds]
    for key, label, _, color, offset in kinds:
        for i, name in enumerate(names):
            value = times[name][key]
            if isinstance(value, float):
                ax.barh(y[i] + offset, value, height=0.36, color=color)
                text = f"{value:,.1f} s" if value > 0 else f"{label}: 0 s (at once)"
                ax.text(value + limit * 0.01, y[i] + offset, text, va="center", fontsize=9)
            elif value == "never":
                # A hatched band across the whole panel (axes coordinates), not a bar: its
                # length must not read as a number of seconds.
                band = ax.barh(y[i] + offset, 1.0, left=0.0, height=0.36, color=NEVER_COLOR,
                               hatch="//", edgecolor="#d62728", linewidth=0,
                               transform=across)
                band.patches[0].set_gid(f"never:{name}:{key}")
                ax.text(0.02, y[i] + offset, f"{label}: never", va="center",
                        fontsize=9, color="#b22222", fontweight="bold", transform=across,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
            else:
                ax.text(limit * 0.02, y[i] + offset, f"{label}: n/a (fault lasts to the end)",
                        va="center", fontsize=9, color="#555555")
    if any(v == "never" for row in times.values() for v in row.values()):
        handles.append(Patch(facecolor=NEVER_COLOR, edgecolor="#d62728", hatch="//",
                             label="never: no time, the band is not to scale"))
    ax.set_xlim(0, limit * 1.08)
    if any(v > 0 for v in finite):
        ax.set_xlabel("seconds")
    else:  # no time above 0 to put on a scale: a 0-60 s axis would suggest one
        ax.set_xticks([])
        ax.set_xlabel("no detection or recovery times above 0 s to show")
    ax.legend(handles=handles, ncol=2, **_LEGEND_ABOVE)


def _recovery_counts(ax: Axes, rows: dict[str, dict[str, Any]], names: list[str],
                     y: np.ndarray) -> None:
    kinds = (("tickets", "tickets in window", "#7f7f7f"), ("failed", "failed", "#d62728"),
             ("unhandled", "unhandled", "#8c564b"))
    height = 0.8 / len(kinds)
    top = 0.0
    for k, (key, label, color) in enumerate(kinds):
        values = [rows[name].get(key) for name in names]
        counts = [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0
                  for v in values]
        top = max(top, *counts)
        offset = (k - (len(kinds) - 1) / 2) * height
        ax.barh(y + offset, counts, height=height * 0.95, color=color, label=label)
        for i, value in enumerate(values):
            text = f"{int(value):,}" if isinstance(value, (int, float)) and math.isfinite(
                value) else "n/a"
            ax.text(counts[i], y[i] + offset, f" {text}", va="center", fontsize=8)
    ax.set_xlim(0, max(top, 1.0) * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_xlabel("tickets")
    ax.legend(ncol=3, **_LEGEND_ABOVE)
