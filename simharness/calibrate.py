"""Calibrate a simulated LLM tier from a log of real model calls.

A log is JSON lines, one call each: latency in seconds, prompt and completion tokens, the
true route, the predicted route, optional tags (field names are mappable, dotted paths
reach nested fields). From it `calibrate` fits what a tier needs:

- latency: time to first token is `latency - per_output_token x completion tokens`, where
  the per-token term comes from a least-squares fit when the log supports it (a slope at
  least three standard errors from zero), else 0; then lognormal, exponential, uniform and
  fixed distributions are fitted to it (maximum likelihood) and the one closest to the
  data by the Kolmogorov-Smirnov distance is kept, with its error on p50 and p95 shown;
- accuracy: the share of calls whose predicted routes equal the true ones, on calls
  without a hard tag (`default`), per route (`by_route`) and per tag;
- accuracy per route (`by_route`) and, per true route, how the wrong answers spread over
  the other labels (`confusion`), so the simulated model's mistakes look like the real
  one's.

Everything is computed with numpy from the rows; nothing is sampled.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SimHarnessError

#: Canonical fields and the names tried for each when no mapping is given.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "latency_s", "duration", "elapsed"),
    "prompt_tokens": ("prompt_tokens", "usage.prompt_tokens", "input_tokens",
                      "usage.input_tokens"),
    "completion_tokens": ("completion_tokens", "usage.completion_tokens", "output_tokens",
                          "usage.output_tokens"),
    "true_route": ("true_route", "truth", "label", "expected"),
    "pred_route": ("pred_route", "predicted", "prediction", "route"),
    "tags": ("tags",),
}
#: Tags a tier's accuracy can name (as in the scenario format).
TAGS = ("multi_issue", "mind_change", "high_value", "ambiguous", "malformed")
#: Fewest calls a per-route or per-tag accuracy is reported from.
MIN_CALLS = 20
#: Unreadable lines listed by number (all are counted).
LISTED = 10
_Z95 = 1.6448536269514722


class CalibrationError(SimHarnessError):
    """The log cannot be calibrated from (missing, empty, no usable field)."""


@dataclass
class Call:
    latency: float
    prompt_tokens: float
    completion_tokens: float
    truth: tuple[str, ...] | None
    predicted: tuple[str, ...] | None
    tags: tuple[str, ...]


@dataclass
class LogRead:
    calls: list[Call] = field(default_factory=list)
    unreadable: int = 0
    first_unreadable: list[tuple[int, str]] = field(default_factory=list)


def _lookup(row: dict[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    node: Any = row
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _labels(value: Any) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return tuple(sorted({str(v) for v in value}))
    return (str(value),)


def read_log(path: Path, mapping: dict[str, str] | None = None, *,
             only: dict[str, str] | None = None, latency_scale: float = 1.0) -> LogRead:
    """The calls of a JSONL log; lines that are not usable are counted and listed."""
    if not path.is_file():
        raise CalibrationError(f"cannot read {path}: no such file")
    mapping = mapping or {}
    out = LogRead()
    names: dict[str, str | None] = {}
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                _bad(out, number, f"invalid JSON: {exc}")
                continue
            if only and any(str(_lookup(row, k)) != v for k, v in only.items()):
                continue
            for f in FIELD_NAMES:  # a field is found where it first appears
                if names.get(f) is None:
                    names[f] = mapping.get(f) or next(
                        (n for n in FIELD_NAMES[f] if _lookup(row, n) is not None), None)
            if names["latency"] is None:
                raise CalibrationError(
                    f"{path}:{number}: no latency field (tried "
                    f"{', '.join(FIELD_NAMES['latency'])}); map it with "
                    "--field latency=NAME")
            try:
                latency = float(_lookup(row, names["latency"] or "")) * latency_scale
                if not (math.isfinite(latency) and latency >= 0):
                    raise ValueError(f"latency {latency}")
                tokens_in = _number(row, names["prompt_tokens"])
                tokens_out = _number(row, names["completion_tokens"])
            except (TypeError, ValueError) as exc:
                _bad(out, number, f"bad number: {exc}")
                continue
            tags = _labels(_lookup(row, names["tags"] or "")) or ()
            out.calls.append(Call(latency, tokens_in, tokens_out,
                                  _labels(_lookup(row, names["true_route"] or "")),
                                  _labels(_lookup(row, names["pred_route"] or "")),
                                  tuple(t for t in tags if t in TAGS)))
    if not out.calls:
        raise CalibrationError(f"{path}: no usable calls"
                               + (f" (first problem: line {out.first_unreadable[0][0]}: "
                                  f"{out.first_unreadable[0][1]})" if out.first_unreadable
                                  else ""))
    return out


def _number(row: dict[str, Any], name: str | None) -> float:
    if name is None:
        return math.nan
    value = _lookup(row, name)
    return math.nan if value is None else float(value)


def _bad(out: LogRead, number: int, reason: str) -> None:
    out.unreadable += 1
    if len(out.first_unreadable) < LISTED:
        out.first_unreadable.append((number, reason))


# ------------------------------------------------------------------------ latency

@dataclass
class Fit:
    """One candidate distribution fitted to time to first token."""

    dist: str
    params: dict[str, float]
    ks: float
    p50: float
    p95: float

    def yaml(self) -> str:
        values = ", ".join(f"{k}: {_seconds(v)}" for k, v in self.params.items())
        return f"{{dist: {self.dist}, {values}}}"


def _seconds(value: float) -> str:
    return f"{value:.4g}s"


def _ks(sample: np.ndarray, cdf: Any) -> float:
    """Kolmogorov-Smirnov distance between a sorted sample and a model CDF."""
    n = len(sample)
    model = cdf(sample)
    upper = np.arange(1, n + 1) / n - model
    lower = model - np.arange(0, n) / n
    return float(max(upper.max(), lower.max()))


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    from math import erf, sqrt

    return np.array([0.5 * (1 + erf(v / sqrt(2))) for v in z])


def fit_latency(values: np.ndarray) -> list[Fit]:
    """Every candidate fitted to `values` (seconds), best (smallest KS distance) first."""
    x = np.sort(values[np.isfinite(values)])
    fits: list[Fit] = []
    if len(x) == 0:
        return fits
    if np.ptp(x) <= 1e-9 * max(1.0, float(x[0])):
        value = float(x[0])
        return [Fit("fixed", {"value": value}, 0.0, value, value)]
    positive = x[x > 0]
    if len(positive) == len(x):
        logs = np.log(x)
        mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
        median, p95 = math.exp(mu), math.exp(mu + _Z95 * sigma)
        fits.append(Fit("lognormal", {"median": median, "p95": p95},
                        _ks(x, lambda v: _normal_cdf((np.log(v) - mu) / sigma)), median, p95))
    mean = float(x.mean())
    fits.append(Fit("exponential", {"mean": mean}, _ks(x, lambda v: 1 - np.exp(-v / mean)),
                    mean * math.log(2), mean * math.log(20)))
    low, high = float(x[0]), float(x[-1])
    fits.append(Fit("uniform", {"low": low, "high": high},
                    _ks(x, lambda v: np.clip((v - low) / (high - low), 0, 1)),
                    low + 0.5 * (high - low), low + 0.95 * (high - low)))
    return sorted(fits, key=lambda f: f.ks)


def per_token_slope(latency: np.ndarray, tokens: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of latency on completion tokens and its standard error."""
    ok = np.isfinite(latency) & np.isfinite(tokens)
    x, y = tokens[ok], latency[ok]
    if len(x) < 3 or np.ptp(x) == 0:
        return 0.0, math.inf
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc ** 2).sum())
    residual = y - y.mean() - slope * xc
    se = float(math.sqrt((residual ** 2).sum() / (len(x) - 2) / (xc ** 2).sum()))
    return slope, se


# ------------------------------------------------------------------------ accuracy

def _right(call: Call) -> bool:
    return call.predicted is not None and call.predicted == call.truth


def accuracy_table(calls: Iterable[Call]) -> dict[str, Any]:
    """default (calls without a hard tag), by_route (idem, per single true route), per tag,
    and the confusion of wrong single-route answers; counts alongside."""
    labelled = [c for c in calls if c.truth is not None]
    plain = [c for c in labelled if not c.tags]
    out: dict[str, Any] = {"labelled": len(labelled), "plain": len(plain)}
    out["default"] = (sum(map(_right, plain)) / len(plain)) if plain else None
    by_route: dict[str, tuple[float, int]] = {}
    routes = sorted({c.truth[0] for c in plain if c.truth and len(c.truth) == 1})
    for route in routes:
        own = [c for c in plain if c.truth == (route,)]
        if len(own) >= MIN_CALLS:
            by_route[route] = (sum(map(_right, own)) / len(own), len(own))
    out["by_route"] = by_route
    tags: dict[str, tuple[float, int]] = {}
    for tag in TAGS:
        own = [c for c in labelled if tag in c.tags]
        if len(own) >= MIN_CALLS:
            tags[tag] = (sum(map(_right, own)) / len(own), len(own))
    out["tags"] = tags
    confusion: dict[str, dict[str, float]] = {}
    wrong: dict[str, Counter[str]] = {}
    for c in labelled:
        if c.truth and len(c.truth) == 1 and c.predicted and len(c.predicted) == 1 \
                and not _right(c):
            wrong.setdefault(c.truth[0], Counter())[c.predicted[0]] += 1
    for route in sorted(wrong):
        counts = wrong[route]
        total = sum(counts.values())
        confusion[route] = {label: n / total for label, n in
                            sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    out["confusion"] = confusion
    out["confusion_counts"] = {route: sum(c.values()) for route, c in wrong.items()}
    return out


# ------------------------------------------------------------------------ the report

@dataclass
class Calibration:
    source: str
    tier: str
    calls: int
    unreadable: list[tuple[int, str]]
    unreadable_count: int
    per_output_token: float
    slope: tuple[float, float]
    fits: list[Fit]
    observed: tuple[float, float]
    tokens: dict[str, tuple[float, float]]
    accuracy: dict[str, Any]

    @property
    def best(self) -> Fit:
        return self.fits[0]

    def yaml(self) -> str:
        """The `world.llm.tiers.<tier>` block, with what it was fitted from as comments."""
        best, (p50, p95) = self.best, self.observed
        lines = [f"# calibrated from {self.source}: {self.calls:,} calls"]
        if self.unreadable_count:
            listed = ", ".join(str(n) for n, _ in self.unreadable)
            lines.append(f"# {self.unreadable_count:,} unreadable lines skipped "
                         f"(first: {listed})")
        slope, se = self.slope
        if self.per_output_token:
            lines.append(f"# per output token: {slope:.4g} s (standard error {se:.2g} s)")
        elif math.isfinite(se):
            lines.append(f"# no per-token latency term: slope {slope:.3g} s per token is "
                         f"within 3 standard errors ({se:.2g} s) of 0")
        lines.append(f"# time to first token: observed p50 {p50:.4g} s, p95 {p95:.4g} s; "
                     f"{best.dist} fit p50 {best.p50:.4g} s ({_error(best.p50, p50)}), "
                     f"p95 {best.p95:.4g} s ({_error(best.p95, p95)})")
        lines.append("# KS distance: " + ", ".join(f"{f.dist} {f.ks:.3f}" for f in self.fits))
        for kind, (mean, high) in self.tokens.items():
            lines.append(f"# {kind} tokens per call: mean {mean:.1f}, p95 {high:.0f}")
        acc = self.accuracy
        lines += ["world:", "  llm:", "    tiers:", f"      {self.tier}:",
                  f"        latency: {best.yaml()}"]
        if self.per_output_token:
            lines.append(f"        per_output_token: {_seconds(self.per_output_token)}")
        if acc["default"] is not None or acc["tags"] or acc["by_route"]:
            lines.append("        accuracy:")
            if acc["default"] is not None:
                lines.append(f"          default: {acc['default']:.3f}"
                             f"  # {acc['plain']:,} calls without a hard tag")
            for tag, (value, n) in acc["tags"].items():
                lines.append(f"          {tag}: {value:.3f}  # {n:,} calls")
            if acc["by_route"]:
                lines.append("          by_route:  # calls without a hard tag")
                for route, (value, n) in acc["by_route"].items():
                    lines.append(f"            {_key(route)}: {value:.3f}  # {n:,} calls")
        if acc["confusion"]:
            lines.append("        confusion:  # how wrong answers spread, per true route")
            for route, spread in acc["confusion"].items():
                shown = ", ".join(f"{_key(label)}: {p:.3f}" for label, p in spread.items())
                lines.append(f"          {_key(route)}: {{{shown}}}"
                             f"  # {acc['confusion_counts'][route]:,} wrong")
        return "\n".join(lines) + "\n"


def _error(fitted: float, observed: float) -> str:
    return f"{(fitted - observed) / observed:+.1%}" if observed else "n/a"


def _key(name: str) -> str:
    """A YAML key, quoted when it would not read back as the same string."""
    import yaml

    plain = yaml.safe_dump({name: 0}, default_flow_style=True).strip()
    return plain[1:plain.rindex(":")]


def calibrate(path: Path, tier: str, mapping: dict[str, str] | None = None, *,
              only: dict[str, str] | None = None, latency_scale: float = 1.0) -> Calibration:
    """Fit a tier to the log at `path`."""
    log = read_log(path, mapping, only=only, latency_scale=latency_scale)
    latency = np.array([c.latency for c in log.calls], dtype=float)
    out_tokens = np.array([c.completion_tokens for c in log.calls], dtype=float)
    slope, se = per_token_slope(latency, out_tokens)
    per_token = slope if slope > 0 and math.isfinite(se) and slope > 3 * se else 0.0
    first_token = latency - per_token * np.nan_to_num(out_tokens)
    fits = fit_latency(first_token)
    observed = (float(np.percentile(first_token, 50)), float(np.percentile(first_token, 95)))
    tokens = {}
    for kind, values in (("prompt", [c.prompt_tokens for c in log.calls]),
                         ("completion", [c.completion_tokens for c in log.calls])):
        array = np.array(values, dtype=float)
        array = array[np.isfinite(array)]
        if array.size:
            tokens[kind] = (float(array.mean()), float(np.percentile(array, 95)))
    return Calibration(str(path), tier, len(log.calls), log.first_unreadable, log.unreadable,
                       per_token, (slope, se), fits, observed, tokens,
                       accuracy_table(log.calls))
