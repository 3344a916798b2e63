"""What Jupyter shows for a Result, a SweepResult and a Scenario (`_repr_html_`), and the
pandas DataFrames they convert to. Compact on purpose: verdicts, headline metrics and fault
windows at a glance; the full report is `result.save()` + `report.html`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..result import Result
    from ..scenario import Scenario
    from ..sweep import SweepResult

_STYLE = ("<style>.simharness table{border-collapse:collapse;margin:2px 0}"
          ".simharness td,.simharness th{padding:1px 8px;text-align:left;"
          "border-bottom:1px solid #ddd}.simharness .pass{color:#1a7f37;font-weight:bold}"
          ".simharness .fail{color:#cf222e;font-weight:bold}</style>")
_HEADLINE = (("tickets", "tickets.total", "{:.0f}"), ("accuracy", "routing.accuracy", "{:.3f}"),
             ("accuracy in faults", "routing.accuracy@faults", "{:.3f}"),
             ("failed tickets", "tickets.failed", "{:.0f}"),
             ("p95 latency (s)", "latency.p95", "{:.2f}"),
             ("cost per ticket (USD)", "cost.per_ticket_usd", "{:.6f}"))


def require_pandas() -> Any:
    """pandas, or an ImportError that says how to get it (it is an optional extra)."""
    try:
        import pandas
    except ImportError:
        raise ImportError("to_pandas() needs pandas, an optional dependency: "
                          "pip install 'simharness[pandas]'") from None
    return pandas


def _verdict(passed: bool) -> str:
    return '<span class="pass">PASS</span>' if passed else '<span class="fail">FAIL</span>'


def _table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "never"
    return spec.format(value)


def result_html(result: Result) -> str:
    from ..metrics import lookup
    from ..units import format_duration

    def metric(path: str) -> Any:
        try:
            return lookup(result.metrics, path)
        except KeyError:
            return None

    scenario = result.scenario
    title = (f"<b>{escape(scenario.name)}</b> (seed {result.seed}, "
             f"{format_duration(scenario.duration)}) {_verdict(result.passed)}")
    headline = _table([(escape(name), _fmt(metric(path), spec))
                       for name, path, spec in _HEADLINE if metric(path) is not None])
    slos = _table([(_verdict(s.passed), f"<code>{escape(s.metric)}</code>",
                    escape(_fmt(s.value, "{:.4g}")), escape(s.bound)) for s in result.slos],
                  ("", "SLO", "value", "bound")) if result.slos else "<i>no SLOs</i>"
    windows = _windows(result.fault_windows)
    return (f'<div class="simharness">{_STYLE}{title}<div style="display:flex;gap:24px">'
            f"<div>{headline}</div><div>{slos}</div><div>{windows}</div></div></div>")


def _windows(windows: list[tuple[str, float, float]]) -> str:
    from ..units import format_duration

    if not windows:
        return "<i>no faults</i>"
    return _table([(escape(name), format_duration(start), format_duration(end))
                   for name, start, end in windows], ("fault", "from", "until"))


def scenario_html(scenario: Scenario) -> str:
    from ..units import format_duration

    rates = []
    for source in scenario.traffic:
        if source.synthetic is not None:
            steps = source.synthetic.rate_steps()
            rates.append(" → ".join(f"{r:g}/s" for _, r in steps))
    faults = [(escape(f.name or f.kind), escape(f.kind), escape(f.target or "–"),
               _span(f.window())) for f in scenario.faults]
    rows = [("agent", escape(scenario.agent.ref or "(none: pass agent=)")),
            ("duration", format_duration(scenario.duration)),
            ("traffic", escape("; ".join(rates) or "–")),
            ("seed", str(scenario.seed)),
            ("SLOs", "<br>".join(f"<code>{escape(k)}</code> {escape(v)}"
                                 for k, v in scenario.expect.items()) or "<i>none</i>")]
    fault_table = _table(faults, ("fault", "kind", "target", "window")) if faults \
        else "<i>no faults</i>"
    return (f'<div class="simharness">{_STYLE}<b>scenario {escape(scenario.name)}</b>'
            f'<div style="display:flex;gap:24px"><div>{_table(rows)}</div>'
            f"<div>{fault_table}</div></div></div>")


def _span(window: tuple[float, float]) -> str:
    from ..units import format_duration

    start, end = window
    return f"{format_duration(start)} – {'end' if math.isinf(end) else format_duration(end)}"


def sweep_html(sweep: SweepResult) -> str:
    k = len(sweep.seeds)
    header = ("grid point", "n", "accuracy (95% CI)", "p95 latency (s)", "cost/ticket (USD)",
              "pass^1", f"pass^{k}")
    rows = []
    for point in sweep.summary:
        m = point["metrics"]
        rows.append((escape(point["label"]), str(point["n"]),
                     _ci(m.get("routing.accuracy"), "{:.3f}"),
                     _ci(m.get("latency.p95"), "{:.2f}"),
                     _ci(m.get("cost.per_ticket_usd"), "{:.6f}"),
                     f"{point['pass_hat_k'][1]:.2f}", f"{point['pass_hat_k'][k]:.2f}"))
    title = (f"<b>sweep of {escape(sweep.scenario)}</b>: {len(sweep.points)} grid points × "
             f"{k} seeds")
    return f'<div class="simharness">{_STYLE}{title}{_table(rows, header)}</div>'


def _ci(stats: dict[str, float] | None, spec: str) -> str:
    if not stats:
        return "–"
    mean = _fmt(stats.get("mean"), spec)
    low, high = stats.get("ci_low"), stats.get("ci_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return mean
    return f"{mean} [{_fmt(low, spec)}, {_fmt(high, spec)}]"


def sweep_frame(sweep: SweepResult, summary: bool = False) -> Any:
    """One row per run (grid values, seed, passed, every metric), or per grid point with
    `summary=True` (mean and CI bounds of every metric, pass^1 and pass^k)."""
    pd = require_pandas()
    if not summary:
        return pd.DataFrame([{**row["grid"], "seed": row["seed"], "passed": row["passed"],
                              **row["metrics"]} for row in sweep.rows])
    k = len(sweep.seeds)
    records = []
    for point in sweep.summary:
        record: dict[str, Any] = {**point["grid"], "n": point["n"],
                                  "pass^1": point["pass_hat_k"][1],
                                  f"pass^{k}": point["pass_hat_k"][k]}
        for name, stats in point["metrics"].items():
            record[name] = stats["mean"]
            record[f"{name}:ci_low"] = stats["ci_low"]
            record[f"{name}:ci_high"] = stats["ci_high"]
        records.append(record)
    return pd.DataFrame(records)


_INLINE = False


def show_figures_inline() -> None:
    """Let Jupyter draw the plain matplotlib Figures `.plot` returns.

    They bypass pyplot (so no global figure registry fills up), which also means IPython
    has no display formatter for them until one is registered; outside IPython this does
    nothing.
    """
    global _INLINE
    if _INLINE:
        return
    _INLINE = True
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return
    from matplotlib.figure import Figure

    formatters["image/png"].for_type(Figure, _png)


def _png(figure: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
