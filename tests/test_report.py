"""The run report: time series, figures, report.html, and rebuilding it from a run directory."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import make_scenario
from matplotlib.figure import Figure
from matplotlib.text import Text

import simharness as sh
from simharness.cli import main
from simharness.records import TicketRecord
from simharness.report import plots, series
from simharness.report.html import AUDIT_LIMIT, FIGURES, audit_selection, esc, write_report
from simharness.report.store import LoadedRun, load_run, snapshot
from simharness.scenario import scenario_from_yaml

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_NAMES = [name for name, _, _ in FIGURES]
RESILIENT = "simharness.agents.reference:ResilientRouter"
NAIVE = "simharness.agents.reference:NaiveRouter"
OUTAGE = {"name": "llm-down", "target": "llm", "kind": "outage", "at": "8m", "duration": "5m"}
INJECTION = "</td></tr></table><script>alert('pwned')</script>"

OUTAGE_YAML = """\
# a small outage: 20 simulated minutes, the LLM down from minute 8 to 13
name: small-outage
seed: 3
duration: 20m
agent:
  ref: simharness.agents.reference:NaiveRouter
  workers: 8
traffic:
  - synthetic:
      rate: 1/s
      routes: [billing, technical, account]
faults:
  - {name: llm-down, target: llm, kind: outage, at: 8m, duration: 5m}
expect:
  routing.accuracy: ">= 0.8"
  tickets.error: "== 0"
"""


def outage_scenario(agent: str) -> dict[str, Any]:
    return make_scenario(duration="20m", agent={"ref": agent, "workers": 8}, faults=[OUTAGE],
                         expect={"routing.accuracy": ">= 0.8", "tickets.error": "== 0"})


@pytest.fixture(scope="module")
def resilient() -> sh.Result:
    return sh.run(outage_scenario(RESILIENT))


@pytest.fixture(scope="module")
def naive() -> sh.Result:
    return sh.run(outage_scenario(NAIVE))


@pytest.fixture(scope="module")
def naive_report(naive: sh.Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of the NaiveRouter run (written once: drawing takes a second or two)."""
    return write_report(naive, tmp_path_factory.mktemp("naive") / "report")


def echoing_agent(payload: Any, ctx: Any) -> str:
    """Logs and raises with the (untrusted) message text, as careless agents do."""
    text = ""
    if isinstance(payload, dict) and payload.get("messages"):
        text = str(payload["messages"][-1].get("text"))
    ctx.log(f"customer wrote: {text}")
    ctx.log(INJECTION + "\x07\x1b[31m")
    if "instructions" in text.lower():
        raise ValueError(f"refusing {text!r} <img src=x onerror=alert(1)>")
    return "billing"


@pytest.fixture(scope="module")
def injected() -> sh.Result:
    faults = [{"name": "bad-input", "kind": "malformed_input", "rate": 0.5,
               "mutations": ["prompt_injection", "control_chars"]}]
    return sh.run(make_scenario(duration="3m", faults=faults), agent=echoing_agent)


# ------------------------------------------------------------------ an HTML reader

class Page(HTMLParser):
    """The parts of report.html the tests look at: tags, text, and tables by id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: list[str] = []
        self.text: list[str] = []
        self._tables: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "table":
            name = str(attributes.get("id") or f"table-{len(self.tables)}")
            self._tables.append(name)
            self.tables[name] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._tables.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._tables:
            self.tables[self._tables[-1]].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table: str) -> list[list[str]]:
        """Body rows (the header row dropped)."""
        return self.tables[table][1:]


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ------------------------------------------------------------------ series

def record(i: int, at: float, *, ok: bool = True, right: bool = True, latency: float = 1.0,
           cost: float = 0.01, status: str | None = None) -> TicketRecord:
    status = status or ("ok" if ok else "error")
    predicted = [] if status != "ok" else ["billing"] if right else ["refund"]
    return TicketRecord(
        ticket_id=f"T{i}", conversation_id=f"c{i}", arrived_at=at, started_at=at,
        finished_at=at + latency, status=status, true_route=["billing"], pred_route=predicted,
        cost_usd=cost, service_s=latency)


def test_default_bins_are_about_120_round_widths_never_under_10s():
    assert series.default_bin(3600) == 30
    assert series.default_bin(1200) == 10
    assert series.default_bin(60) == 10
    assert series.default_bin(86400) == 900
    edges = series.bin_edges(1200)
    assert edges[0] == 0 and edges[-1] == 1200 and len(edges) == 121
    assert list(series.bin_edges(95, bin_s=30)) == [0, 30, 60, 90, 120]


def test_accuracy_latency_failures_and_cost_series_from_records():
    records = [record(0, 5, latency=1), record(1, 6, right=False, latency=3),
               record(2, 15, ok=False, latency=2), record(3, 16, status="timeout"),
               record(4, 17, latency=9, cost=0.02)]
    edges = series.bin_edges(20, bin_s=10)
    acc = series.accuracy_over_time(records, edges)
    assert list(acc.total) == [2, 3]
    np.testing.assert_allclose(acc.rate, [0.5, 1 / 3])
    np.testing.assert_allclose(acc.centers, [5, 15])
    lat = series.latency_percentiles(records, edges, (50, 99))
    assert lat[50][0] == pytest.approx(2.0) and lat[50][1] == pytest.approx(2.0)
    assert lat[99][1] == pytest.approx(9.0, rel=0.05)
    failed = series.failures_over_time(records, edges)
    assert list(failed["error"]) == [0, 1] and list(failed["timeout"]) == [0, 1]
    times, spent = series.cumulative_cost(records)
    assert list(times) == sorted(times) and spent[-1] == pytest.approx(0.06)
    assert series.baseline_cost_rate(records, 10.0) == pytest.approx(0.02 / 10)
    assert series.baseline_cost_rate(records, 0.0) is None


def test_latency_is_plotted_when_the_work_finished_not_at_first_arrival():
    """A conversation arriving at 5 s whose slow follow-up ran at 300-330 s must not draw
    a 330 s latency spike at 5 s, before the fault that slowed it began."""
    follow_up = record(0, 5, latency=30)
    follow_up.finished_at = 330.0
    records = [follow_up, *(record(i, 10 * i, latency=1) for i in range(1, 30))]
    edges = series.bin_edges(400, bin_s=100)
    p95 = series.latency_percentiles(records, edges, (95,))[95]
    assert p95[0] == pytest.approx(1.0)
    assert p95[3] == pytest.approx(30.0)


def test_empty_bins_are_nan_not_zero():
    acc = series.accuracy_over_time([record(0, 25)], series.bin_edges(30, bin_s=10))
    assert math.isnan(acc.rate[0]) and acc.rate[2] == 1.0


# ------------------------------------------------------------------ figures

def spans(figure: Figure) -> list[tuple[str, float, float]]:
    """Every shaded fault window on every axes: (gid, x0, x1) in axis units."""
    out = []
    for ax in figure.axes:
        for patch in ax.patches:
            gid = patch.get_gid()
            if gid and gid.startswith("fault-window:"):
                box = patch.get_bbox()
                out.append((gid, box.x0, box.x1))
    return out


def texts(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text)]


@pytest.mark.parametrize("name", ["accuracy_over_time", "latency_over_time",
                                  "cumulative_cost"])
def test_time_plots_shade_the_fault_window_in_minutes(naive, name):
    figure = getattr(naive.plot, name)()
    assert isinstance(figure, Figure)
    shaded = spans(figure)
    assert shaded, "no fault window shaded"
    for gid, x0, x1 in shaded:  # 20 simulated minutes: the axis is in minutes
        assert gid == "fault-window:llm-down"
        assert (x0, x1) == pytest.approx((8.0, 13.0))
    assert "llm-down" in " ".join(texts(figure))
    labels = [ax.get_xlabel() for ax in figure.axes] + [ax.get_ylabel() for ax in figure.axes]
    assert any("simulated time (min)" in label for label in labels)


def test_accuracy_plot_shows_failed_tickets_per_bin(naive):
    figure = naive.plot.accuracy_over_time()
    bottom = figure.axes[1]
    heights = [p.get_height() for p in bottom.patches if not p.get_gid()]
    assert sum(heights) == naive.metrics["tickets"]["failed"] > 0


def test_plots_do_not_touch_pyplot_state(resilient):
    import matplotlib.pyplot as pyplot

    before = pyplot.get_fignums()
    resilient.plot.accuracy_over_time()
    resilient.plot.recovery()
    assert pyplot.get_fignums() == before


def test_png_bytes_are_reproducible(resilient):
    first = plots.to_png(resilient.plot.latency_over_time())
    assert first == plots.to_png(resilient.plot.latency_over_time())
    assert b"Software" not in first


def plot_input(metrics: dict[str, Any], windows: list[tuple[str, float, float]] | None = None
               ) -> plots.PlotInput:
    return plots.PlotInput([record(0, 5)], metrics, windows or [("llm-down", 60, 120)], 600)


def test_confusion_heatmap_annotates_counts_from_metrics():
    confusion = {"labels": ["billing", "refund", "(none)"],
                 "matrix": [[40, 3, 7], [5, 1234, 0], [0, 0, 0]]}
    figure = plots.confusion_heatmap(plot_input({"routing": {"confusion": confusion}}))
    shown = texts(figure)
    for count in ("40", "3", "7", "5", "1,234"):
        assert count in shown
    assert "predicted route" in [ax.get_xlabel() for ax in figure.axes]


def test_confusion_heatmap_says_so_when_metrics_have_none():
    figure = plots.confusion_heatmap(plot_input({"routing": {"accuracy": 0.9}}))
    assert any("no routing.confusion" in t for t in texts(figure))


def test_recovery_plot_says_never_for_inf_and_null():
    recovery = {
        "llm-down": {"start": 60, "end": 120, "time_to_detect": 2.5, "time_to_recover": 40.0,
                     "tickets": 60, "failed": 0, "unhandled": 0, "retry_amplification": 1.5,
                     "cost_amplification": 0.5},
        "crm-down": {"start": 200, "end": 300, "time_to_detect": None,
                     "time_to_recover": float("inf"), "tickets": 90, "failed": 30,
                     "unhandled": 12},
    }
    figure = plots.recovery(plot_input({"recovery": recovery}))
    shown = texts(figure)
    assert "time to detect: never" in shown and "time to recover: never" in shown
    assert "2.5 s" in shown and "40.0 s" in shown
    assert " 30" in shown and " 12" in shown
    assert any(t.startswith("llm-down\ncalls ×1.50") for t in shown)


def test_never_is_a_band_across_the_panel_not_a_bar_of_seconds():
    """With no finite time, the old bar ran to 60 on a 0-60 s axis: it read as 60 s."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    row = {"start": 60, "end": 120, "time_to_detect": None, "time_to_recover": math.inf,
           "tickets": 60, "failed": 60, "unhandled": 60}
    figure = plots.recovery(plot_input({"recovery": {"llm-down": row}}))
    FigureCanvasAgg(figure).draw()
    left = figure.axes[0]
    bands = [p for p in left.patches if (p.get_gid() or "").startswith("never:")]
    assert len(bands) == 2
    panel = left.get_window_extent()
    for band in bands:
        box = band.get_window_extent()
        assert box.x0 == pytest.approx(panel.x0, abs=1) and box.x1 == pytest.approx(
            panel.x1, abs=1)
    assert list(left.get_xticks()) == [] and "no detection or recovery times" in \
        left.get_xlabel()


def test_recovery_time_reads_never_or_na_even_after_json_nulls():
    row = {"start": 60.0, "end": 120.0, "time_to_detect": None, "time_to_recover": None}
    assert plots.recovery_time(row, "time_to_detect", 600) == "never"
    assert plots.recovery_time(row, "time_to_recover", 600) == "never"
    assert plots.recovery_time({**row, "end": 600.0}, "time_to_recover", 600) == "n/a"
    assert plots.recovery_time({**row, "end": None}, "time_to_recover", 600) == "n/a"
    assert plots.recovery_time({**row, "time_to_recover": math.inf}, "time_to_recover",
                               600) == "never"
    assert plots.recovery_time({**row, "time_to_detect": 3}, "time_to_detect", 600) == 3.0
    figure = plots.recovery(plot_input({"recovery": {"slow": {**row, "end": 600.0}}}))
    assert "time to recover: n/a (fault lasts to the end)" in texts(figure)


def test_recovery_plot_without_faults_says_so():
    figure = plots.recovery(plots.PlotInput([record(0, 5)], {}, [], 600))
    assert "no fault windows in this run" in texts(figure)


# ------------------------------------------------------------------ report.html

def test_write_report_writes_five_pngs_and_one_html(naive_report):
    assert naive_report.name == "report.html" and naive_report.is_file()
    for name in PNG_NAMES:
        data = (naive_report.parent / name).read_bytes()
        width, height = png_size(data)
        assert width >= 600 and height >= 250
        assert len(data) > 5_000


def test_report_html_has_slos_metrics_plots_audit_and_scenario(naive, naive_report):
    page = read_page(naive_report)
    assert [row[0] for row in page.rows("slos")] == [s.metric for s in naive.slos]
    verdicts = {row[0]: row[3] for row in page.rows("slos")}
    assert verdicts == {"routing.accuracy": "PASS" if naive.slos[0].passed else "FAIL",
                        "tickets.error": "FAIL"}
    assert "reproduce with --seed 1" in " ".join(page.text)
    for section in ("tickets", "routing", "escalation", "latency", "cost"):
        assert f"metrics-{section}" in page.ids
    per_route = naive.metrics["routing"].get("per_route")
    if per_route:
        assert {row[0] for row in page.rows("per-route")} == set(per_route)
    if "recovery" in naive.metrics:  # NaiveRouter never notices the outage
        rows = page.tables["recovery"]
        detect = rows[0].index("time_to_detect")
        assert [row[0] for row in rows[1:]] == ["llm-down"]
        assert rows[1][detect] == "never"

    images = [a["src"] for tag, a in page.tags if tag == "img"]
    assert len(images) == 5
    for src in images:
        assert src is not None and src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC

    failed = naive.metrics["tickets"]["failed"]
    audit = audit_rows(page)
    assert len(audit) == min(AUDIT_LIMIT, failed + sum(
        r.status == "ok" and set(r.pred_route) != set(r.true_route) for r in naive.records))
    assert any("ConnectError" in row[5] and row[2] == "error" for row in audit)
    if len(audit) == AUDIT_LIMIT:
        assert "left out" in " ".join(page.text)
    assert "name: test" in " ".join(page.text)  # the scenario, as YAML


def test_report_opens_with_what_happened_for_a_support_lead(naive_report):
    page = read_page(naive_report)
    assert page.ids.index("summary") < page.ids.index("slo")
    text = " ".join(page.text)
    assert f"Agent {NAIVE} handled" in text
    assert "Fault llm-down (08:00 to 13:00):" in text
    assert "ConnectError" in text and "The agent never showed it noticed" in text
    kinds = page.rows("failures-by-kind")
    assert kinds and kinds[0][0] == "ConnectError"


def test_report_says_when_the_agent_noticed_and_which_safety_nets_it_used(resilient, tmp_path):
    page = read_page(write_report(resilient, tmp_path))
    text = " ".join(page.text)
    detect = resilient.metrics["recovery"]["llm-down"]["time_to_detect"]
    assert math.isfinite(detect)
    assert "The agent noticed" in text and "after it began" in text
    nets = dict((row[0], row[1]) for row in page.rows("safety-nets"))
    assert int(nets["keyword/rule fallback"].replace(",", "")) == sum(
        "fallback" in r.actions for r in resilient.records)
    recovery = page.tables["recovery"]
    cost = recovery[0].index("cost_amplification")
    assert re.fullmatch(r"×\d+\.\d\d \((\d+% (more|less)|the same)\)", recovery[1][cost])
    assert "not every ticket in its window" in text


def test_audit_trail_carries_the_agents_log_lines(resilient, tmp_path):
    page = read_page(write_report(resilient, tmp_path))
    logged = [row for row in audit_rows(page) if row[8].strip()]
    assert logged, "no audit row shows ctx.log lines"
    by_id = {r.ticket_id: r for r in resilient.records}
    for row in logged:
        assert row[8].strip() == "\n".join(by_id[row[0]].log).strip()


def test_report_is_self_contained(naive_report):
    text = naive_report.read_text(encoding="utf-8")
    page = Page(text)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "iframe", "object", "embed"}
    for _, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http:", "https:", "//")), value
            assert value.startswith(("data:image/png;base64,", "#")) or not value
    assert "url(" not in text and "@import" not in text


def test_untrusted_text_is_escaped(injected, tmp_path):
    assert any("instructions" in (r.error or "") for r in injected.records)
    text = write_report(injected, tmp_path).read_text(encoding="utf-8")
    page = Page(text)
    assert [tag for tag, _ in page.tags if tag in ("script", "img")] == ["img"] * 5
    joined = " ".join(page.text)
    assert INJECTION in joined  # shown as text, not markup
    assert "<img src=x onerror=alert(1)>" in joined
    assert "\\x07\\x1b[31m" in joined  # control characters made visible
    assert not any(ch in text for ch in "\x00\x07\x1b\x7f")


def test_escape_handles_control_characters_surrogates_and_size():
    assert esc("a\x00b\u202ec\u200b") == "a\\x00b\\u202ec\\u200b"
    assert esc("bad \udcff byte") == "bad \\udcff byte"
    assert esc("<b>&'\"") == "&lt;b&gt;&amp;&#x27;&quot;"
    assert esc("x" * 50, limit=10).startswith("x" * 10 + "… (40 more characters)")


def audit_rows(page: Page) -> list[list[str]]:
    """The rows of every audit-trail table, in page order."""
    return [row for name in page.tables if name.startswith("audit-")
            for row in page.rows(name)]


def test_audit_selection_shares_the_rows_and_spreads_over_the_run():
    failed = [record(i, float(i), ok=False) for i in range(100)]
    misrouted = [record(100 + i, float(i) + 0.5, right=False) for i in range(10)]
    chosen, n_failed, n_misrouted = audit_selection(failed + misrouted, limit=30)
    assert (n_failed, n_misrouted, len(chosen)) == (100, 10, 30)
    assert sum(r.status != "ok" for r in chosen) == 20
    failures = [r.arrived_at for r in chosen if r.status != "ok"]
    assert failures == sorted(failures) and 0.0 in failures and 99.0 in failures


def test_audit_trail_starts_with_the_failures_of_the_fault_windows():
    windows = [("llm-down", 40.0, 60.0)]
    failed = [record(i, float(i), ok=False) for i in range(100)]
    misrouted = [record(100 + i, float(i) + 0.5, right=False) for i in range(100)]
    chosen, _, _ = audit_selection(failed + misrouted, limit=40, windows=windows)
    first = chosen[:20]
    assert all(r.status != "ok" and 40 <= r.arrived_at < 60 for r in first)
    assert {r.arrived_at for r in first} == {float(i) for i in range(40, 60)}
    rest = chosen[20:]
    assert rest and all(not 40 <= r.arrived_at < 60 or r.status == "ok" for r in rest)
    assert any(r.status == "ok" for r in rest)  # misrouted tickets still get rows


# ------------------------------------------------------------------ saving and rebuilding

def test_save_writes_the_scenario_and_load_run_reads_the_run_back(naive, tmp_path):
    naive.save(tmp_path)
    saved = yaml.safe_load((tmp_path / "scenario.yaml").read_text())
    assert scenario_from_yaml(yaml.safe_dump(saved)).model_dump() == naive.scenario.model_dump()
    run = load_run(tmp_path)
    assert isinstance(run, LoadedRun)
    assert run.records == naive.records
    assert (run.name, run.seed, run.passed) == ("test", 1, naive.passed)
    assert run.fault_windows == naive.fault_windows
    assert run.duration == naive.scenario.duration
    assert [s.metric for s in run.slos] == [s.metric for s in naive.slos]


def test_save_keeps_the_original_scenario_file_text(tmp_path):
    path = tmp_path / "outage.yaml"
    path.write_text(OUTAGE_YAML)
    result = sh.run(path)
    result.save(tmp_path / "run")
    assert (tmp_path / "run" / "scenario.yaml").read_text() == OUTAGE_YAML
    changed = result.scenario.with_overrides({"duration": "1m"})
    assert "# a small outage" not in snapshot_text(changed)


def snapshot_text(scenario: Any) -> str:
    from simharness.report.store import scenario_text

    return scenario_text(scenario)


def test_snapshot_equals_what_load_run_reads(resilient, tmp_path):
    resilient.save(tmp_path)
    live, loaded = snapshot(resilient), load_run(tmp_path)
    assert live == loaded and live.records == loaded.records


def test_cli_run_writes_the_report_and_report_rebuilds_it_identically(capsys, tmp_path):
    scenario = tmp_path / "outage.yaml"
    scenario.write_text(OUTAGE_YAML)
    out = tmp_path / "run"
    code = main(["run", str(scenario), "--out", str(out), "--quiet"])
    stdout = capsys.readouterr().out
    assert code == 1  # NaiveRouter fails tickets.error
    assert f"report written to {out / 'report.html'}" in stdout
    files = ["report.html", *PNG_NAMES]
    original = {name: (out / name).read_bytes() for name in files}
    for name in files:
        (out / name).unlink()

    assert main(["report", str(out)]) == 0
    assert f"report written to {out / 'report.html'}" in capsys.readouterr().out
    for name in files:
        assert (out / name).read_bytes() == original[name], name


def test_report_command_on_a_missing_or_incomplete_directory(capsys, tmp_path):
    missing = tmp_path / "nope"
    assert main(["report", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: no such run directory: {missing}\n"
    (tmp_path / "results.json").write_text(json.dumps({"scenario": "x", "seed": 1}))
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "records.jsonl is missing" in err
    (tmp_path / "records.jsonl").write_text('{"ticket_id": "T1"}\nnot json\n')
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'records.jsonl'}:1: not a ticket record")
    assert "Traceback" not in err


def test_report_of_an_older_run_without_scenario_file(naive, tmp_path):
    naive.save(tmp_path)
    (tmp_path / "scenario.yaml").unlink()
    page = read_page(write_report(load_run(tmp_path), tmp_path))
    assert "The scenario was not saved with this run." in page.text


# ------------------------------------------------------------------ it renders in a browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = ("NOT CHECKED: report.html was not rendered in a browser: /usr/bin/chromium is "
                    "missing (apt-get install chromium; .ci/run does this where apt works)")


@pytest.mark.skipif(not CHROMIUM.exists(), reason=CHROMIUM_MISSING)
def test_report_renders_in_headless_chromium(naive_report, tmp_path):
    report = naive_report
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1200,3000", report.resolve().as_uri()],
        check=True, capture_output=True, timeout=50)
    data = shot.read_bytes()
    assert png_size(data) == (1200, 3000)
    assert len(data) > 50_000  # text, tables and plots, not a blank page

