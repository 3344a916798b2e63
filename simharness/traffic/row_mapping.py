"""How one replayed row becomes ticket fields: column mapping, templates, labels, filters.

`RowMapper` is compiled once from a `replay:` section and the file's columns; `parse`
then turns a row's raw values into a `ReplayRow`, or says (field, reason) why the row is
unreadable. Everything here is per row and stateless, so a row parses the same way on
every pass over the file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .config import ReplayTraffic

#: Largest label-map file read, in bytes.
MAX_LABEL_MAP_BYTES = 16 << 20

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class MappingError(Exception):
    """A `replay:` setting that cannot work with this file; `field` is its path under
    `replay`, e.g. ("columns", "text")."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(slots=True)
class ReplayRow:
    """A readable row: every mapped field parsed. `at` is epoch seconds."""

    line: int
    offset: int
    text: str
    at: float | None
    conversation: str | None
    routes: list[str]
    subject: str
    customer: str | None
    customer_name: str | None
    customer_email: str | None
    tier: str | None
    account_value: float | None
    channel: str
    language: str
    escalate: bool | None
    tags: list[str]
    past_routes: list[str] | None
    past_escalate: bool | None


def cell_text(value: Any) -> str:
    """A raw value as text: CSV cells already are; JSON numbers and booleans are written
    the way a person would type them in a filter."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def lookup(values: dict[str, Any], column: str) -> Any:
    """A column's value; `a.b` reaches into nested JSON objects when no column is named so."""
    if column in values:
        return values[column]
    if "." in column:
        node: Any = values
        for part in column.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node
    return None


def has_column(columns: Iterable[str], column: str) -> bool:
    names = set(columns)
    return column in names or ("." in column and column.split(".", 1)[0] in names)


class Template:
    """`{subject}: {body}` over columns; `{{` and `}}` are literal braces."""

    def __init__(self, text: str) -> None:
        self.parts: list[tuple[bool, str]] = []  # (is a column, text or column name)
        pos = 0
        for match in _FIELD.finditer(text):
            self.parts.append((False, text[pos:match.start()]))
            token = match.group(0)
            if token in ("{{", "}}"):
                self.parts.append((False, token[0]))
            else:
                name = match.group(1).strip()
                if not name:
                    raise ValueError("empty {} in template")
                self.parts.append((True, name))
            pos = match.end()
        rest = text[pos:]
        if "{" in rest or "}" in rest:
            raise ValueError("unbalanced brace in template (write {{ or }} for a literal one)")
        self.parts.append((False, rest))
        self.columns = [name for is_column, name in self.parts if is_column]

    def render(self, values: dict[str, Any]) -> tuple[str, bool]:
        """The text, and whether any column it names had a value."""
        out: list[str] = []
        filled = False
        for is_column, part in self.parts:
            if is_column:
                value = cell_text(lookup(values, part)).strip()
                filled = filled or bool(value)
                out.append(value)
            else:
                out.append(part)
        return "".join(out), filled


def compile_field(spec: str) -> Template | str:
    """A column name, or a Template when the spec contains a `{...}` field."""
    return Template(spec) if _FIELD.search(spec) else spec


def spec_columns(spec: Template | str) -> list[str]:
    return spec.columns if isinstance(spec, Template) else [spec]


# -------------------------------------------------------------------- label maps

def _read_mapping_file(path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_LABEL_MAP_BYTES:
        raise ValueError(f"{path}: {size:,} bytes is over the {MAX_LABEL_MAP_BYTES:,} byte "
                         "limit of a label map")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                         f"{str(exc).splitlines()[0]}") from None


def load_label_map(spec: Any, base_dir: Path) -> dict[str, str]:
    """label -> route from `label_map:`: a mapping, a file, or a list of them (merged in
    order). `{label: route}` renames; `{route: [labels]}` groups labels under a route."""
    out: dict[str, str] = {}
    parts = spec if isinstance(spec, list) else [spec]
    for part in parts:
        data = _read_mapping_file(base_dir / part) if isinstance(part, str) else part
        if not isinstance(data, dict):
            raise ValueError(f"a label map is a mapping, got {type(data).__name__}"
                             + (f" in {part}" if isinstance(part, str) else ""))
        for key, value in data.items():
            pairs = ([(str(label), str(key)) for label in value] if isinstance(value, list)
                     else [(str(key), cell_text(value))])
            for label, route in pairs:
                if not route:
                    raise ValueError(f"label {label!r} maps to an empty route")
                if out.get(label, route) != route:
                    raise ValueError(f"label {label!r} maps to both {out[label]!r} and "
                                     f"{route!r}")
                out[label] = route
    return out


# -------------------------------------------------------------------- value parsers

def _timestamp_parser(fmt: str) -> Callable[[Any], float]:
    """Epoch seconds from a cell, per `timestamp_format`; ValueError when it does not parse.
    Times without a zone are UTC."""

    def iso(value: Any) -> float:
        text = cell_text(value).strip()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    def epoch(scale: float) -> Callable[[Any], float]:
        def parse(value: Any) -> float:
            number = float(cell_text(value).strip())
            if not math.isfinite(number):
                raise ValueError("not a finite number")
            return number * scale
        return parse

    def auto(value: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            text = cell_text(value).strip()
            try:
                number = float(text)
            except ValueError:
                return iso(text)
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number / 1000.0 if abs(number) >= 1e11 else number  # ms since 1973

    def strptime(value: Any) -> float:
        moment = datetime.strptime(cell_text(value).strip(), fmt)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    return {"auto": auto, "iso": iso, "epoch_s": epoch(1.0),
            "epoch_ms": epoch(0.001)}.get(fmt, strptime)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true/false, yes/no or 1/0, got {cell_text(value)!r}")


def split_labels(value: Any, delimiter: str | None) -> list[str]:
    """One label, a JSON list, or a delimited string -> labels (stripped, no empties)."""
    if isinstance(value, list):
        items = [cell_text(v) for v in value]
    else:
        text = cell_text(value)
        items = text.split(delimiter) if delimiter else [text]
    return [label for label in (item.strip() for item in items) if label]


# -------------------------------------------------------------------- the mapper

class RowMapper:
    """Compiled `replay:` settings for one file: filters first, then field parsing."""

    def __init__(self, config: ReplayTraffic, columns: list[str] | None,
                 base_dir: Path) -> None:
        self.config = config
        self.fields: dict[str, Template | str] = {}
        for name, spec in config.columns.mapped().items():
            try:
                self.fields[name] = compile_field(spec)
            except ValueError as exc:
                raise MappingError(("columns", name), f"bad template {spec!r}: {exc}") from None
        if columns is not None:
            self._check_columns(columns)
        try:
            self.label_map = (load_label_map(config.label_map, base_dir)
                              if config.label_map is not None else {})
        except ValueError as exc:
            raise MappingError(("label_map",), str(exc)) from None
        self.routes = set(config.routes) if config.routes else None
        self.parse_time = _timestamp_parser(config.timestamp_format)
        self.filters = [(column, *self._allowed(value)) for column, value in
                        config.where.items()]

    def _check_columns(self, columns: list[str]) -> None:
        shown = ", ".join(columns[:40]) + (", ..." if len(columns) > 40 else "")
        for name, spec in self.fields.items():
            for column in spec_columns(spec):
                if not has_column(columns, column):
                    raise MappingError(("columns", name), _unknown_column(column, columns,
                                                                          shown))
        for column in self.config.where:
            if not has_column(columns, column):
                raise MappingError(("where", column), _unknown_column(column, columns, shown))

    @staticmethod
    def _allowed(value: Any) -> tuple[bool, frozenset[str]]:
        negate = isinstance(value, dict)
        if negate:
            value = value["not"]
        values = value if isinstance(value, list) else [value]
        return negate, frozenset(cell_text(v) for v in values)

    def keep(self, values: dict[str, Any]) -> bool:
        """Whether a row passes the `where:` filters."""
        for column, negate, allowed in self.filters:
            if (cell_text(lookup(values, column)) in allowed) == negate:
                return False
        return True

    def _get(self, values: dict[str, Any], name: str) -> str | None:
        """A mapped text field, stripped; None when unmapped or empty."""
        spec = self.fields.get(name)
        if spec is None:
            return None
        if isinstance(spec, Template):
            text, filled = spec.render(values)
            return text.strip() if filled else None
        return cell_text(lookup(values, spec)).strip() or None

    def _labels(self, raw: Any) -> list[str]:
        """Labels mapped to routes; ValueError for a label outside `routes`."""
        out: list[str] = []
        for label in split_labels(raw, self.config.route_delimiter):
            route = self.label_map.get(label, label)
            if self.routes is not None and route not in self.routes:
                mapped = f" (mapped to {route!r})" if route != label else ""
                raise ValueError(f"unknown label {label!r}{mapped}: not in routes and no "
                                 "label_map entry")
            if route not in out:
                out.append(route)
        return out

    def parse(self, values: dict[str, Any], line: int,
              offset: int) -> ReplayRow | tuple[str, str]:
        """The row's fields, or (field, reason) when the row is unreadable."""
        text = self._get(values, "text")
        if text is None:
            return "text", "missing text"
        field = ""
        try:
            field = "timestamp"
            stamp = self._get(values, "timestamp")
            at: float | None = None
            if "timestamp" in self.fields:
                if stamp is None:
                    return field, "missing timestamp"
                at = self.parse_time(stamp)
            field = "route"
            routes: list[str] = []
            if "route" in self.fields:
                routes = self._labels(self._raw(values, "route"))
                if not routes and "conversation_id" not in self.fields:
                    return field, "missing route label"
            field = "past_route"
            past_routes = (self._labels(self._raw(values, "past_route"))
                           if "past_route" in self.fields else None)
            field = "escalate"
            escalate = (parse_bool(self._raw(values, "escalate"))
                        if "escalate" in self.fields else None)
            field = "past_escalate"
            past_escalate = None
            if "past_escalate" in self.fields:
                raw = self._raw(values, "past_escalate")
                past_escalate = None if cell_text(raw).strip() == "" else parse_bool(raw)
            field = "account_value"
            value = self._get(values, "account_value")
            account_value = float(value.replace(",", "")) if value is not None else None
            if account_value is not None and not math.isfinite(account_value):
                raise ValueError(f"not a finite number: {value!r}")
        except (ValueError, OverflowError, OSError) as exc:
            if field in ("route", "past_route"):
                return field, str(exc)
            shown = cell_text(self._raw(values, field))[:60]
            return field, f"bad {field} {shown!r}: {exc}"
        tags = (split_labels(self._raw(values, "tags"), self.config.tags_delimiter)
                if "tags" in self.fields else [])
        return ReplayRow(
            line=line, offset=offset, text=text, at=at,
            conversation=self._get(values, "conversation_id"), routes=routes,
            subject=self._get(values, "subject") or "",
            customer=self._get(values, "customer"),
            customer_name=self._get(values, "customer_name"),
            customer_email=self._get(values, "customer_email"),
            tier=self._get(values, "tier"), account_value=account_value,
            channel=self._get(values, "channel") or "email",
            language=self._get(values, "language") or "en",
            escalate=escalate, tags=tags, past_routes=past_routes,
            past_escalate=past_escalate)

    def _raw(self, values: dict[str, Any], name: str) -> Any:
        """A field's raw value (a list stays a list), for labels and booleans."""
        spec = self.fields.get(name)
        if spec is None:
            return None
        if isinstance(spec, Template):
            return self._get(values, name) or ""
        return lookup(values, spec)


def _unknown_column(column: str, columns: list[str], shown: str) -> str:
    import difflib

    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    lowered = {c.lower(): c for c in columns}
    if not close and column.lower() in lowered:
        close = [lowered[column.lower()]]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown column {column!r}{hint} (the file's columns: {shown})"
