"""YAML loading that remembers where every value came from.

Validation errors are only useful when they point at a line, so we compose the YAML node
tree ourselves and record the position of every key and value while building plain data.
Aliases are expanded while building, so the builder counts what it builds and stops at
`limits.MAX_YAML_VALUES`: a few hundred bytes of nested aliases ("billion laughs") cannot
cost gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ErrorLocation, ScenarioError
from .limits import MAX_SCENARIO_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES, check_text_size

Path = tuple[str | int, ...]
Position = tuple[int, int]

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class SourceMap:
    """1-based (line, column) of every value and mapping key, by data path.

    `values[path]` is where the value at `path` starts (the root is `()`); `keys[path]` is
    where the key naming it is written, for mapping entries only.
    """

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def value(self, path: Path) -> Position | None:
        """Position of the value at `path`, or None if it is not in the file."""
        return self.values.get(tuple(path))

    def key(self, path: Path) -> Position | None:
        """Position of the key of the entry at `path`, falling back to its value."""
        path = tuple(path)
        return self.keys.get(path) or self.values.get(path)


def format_path(path: Path) -> str:
    """`("traffic", 0, "synthetic", "rate")` -> `traffic[0].synthetic.rate`.

    Keys that would read ambiguously (dots, brackets, spaces) are written `["a.b"]`.
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and part and not any(c in part for c in '.[]" '):
            out += f".{part}" if out else part
        else:
            out += f"[{_quote(part)}]"
    return out


def _quote(part: object) -> str:
    text = str(part).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _pos(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


class _TooBig(Exception):
    """The document expands past the limits; carries the user-facing error."""

    def __init__(self, error: ErrorLocation) -> None:
        super().__init__(error.message)
        self.error = error


class _Builder:
    """Turns a composed node tree into plain data, filling a SourceMap as it goes."""

    def __init__(self, loader: yaml.SafeLoader, filename: str, max_values: int) -> None:
        self.loader = loader
        self.filename = filename
        self.map = SourceMap()
        self.errors: list[ErrorLocation] = []
        self.max_values = max_values
        self.built = 0

    def _count(self, node: yaml.Node, path: Path) -> None:
        """Stop at the first value past the limits (aliases count once per use)."""
        self.built += 1
        if self.built > self.max_values:
            raise _TooBig(ErrorLocation(
                self.filename, *_pos(node.start_mark), format_path(path),
                f"the document holds more than {self.max_values:,} values once its aliases "
                "are expanded (aliases of aliases, a 'billion laughs'?); a scenario is "
                "much smaller"))
        if len(path) > MAX_YAML_DEPTH:
            raise _TooBig(ErrorLocation(
                self.filename, *_pos(node.start_mark), "",
                f"values are nested more than {MAX_YAML_DEPTH} levels deep"))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self._count(node, path)
        self.map.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path, skip: frozenset = frozenset()) -> dict:
        """Own entries first, then `<<` merges for keys not set yet (earlier sources win)."""
        self._count(node, path)  # merges of merges cost work even when every key is taken
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            if key is None or key in skip:
                continue
            key_pos = _pos(key_node.start_mark)
            if key in first_seen:
                line = first_seen[key][0]
                self._error(key_pos, (*path, key), f"duplicate key {key!r} (first on line {line})")
                continue
            first_seen[key] = key_pos
            self.map.keys[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key))
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self._error(_pos(source.start_mark), path, "'<<' can only merge mappings")
                    continue
                result.update(self._mapping(source, path, skip | frozenset(result)))
        return result

    def _key(self, node: yaml.Node, path: Path) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._error(_pos(node.start_mark), path, "mapping keys must be plain values")
            return None
        key = self.loader.construct_object(node, deep=True)
        if key is None:
            self._error(_pos(node.start_mark), path, "empty mapping key")
        return key

    def _error(self, pos: Position, path: Path, message: str) -> None:
        self.errors.append(ErrorLocation(self.filename, pos[0], pos[1], format_path(path), message))


def load_yaml(text: str, filename: str = "<string>", *, max_bytes: int = MAX_SCENARIO_BYTES,
              max_values: int = MAX_YAML_VALUES) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data and the positions of its keys and values.

    An empty document gives `(None, SourceMap())`. Syntax errors and duplicate keys raise
    ScenarioError pointing at the offending line and column; so does a document over
    `max_bytes`, or one holding more than `max_values` values once aliases are expanded.
    """
    check_text_size(text, filename, max_bytes, "YAML document")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, SourceMap()
        builder = _Builder(loader, filename, max_values)
        data = builder.build(node, ())
    except _TooBig as exc:
        raise ScenarioError([exc.error]) from None
    except RecursionError:  # the composer recurses per level of nesting
        error = ErrorLocation(filename, None, None, "",
                              f"values are nested more than {MAX_YAML_DEPTH} levels deep")
        raise ScenarioError([error]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark is not None else (None, None)
        problem = exc.problem or exc.context or "cannot parse"
        if problem.startswith("but ") and exc.context:  # "expected X" / "but found Y"
            problem = f"{exc.context}, {problem}"
        error = ErrorLocation(filename, line, col, "", f"invalid YAML: {problem}")
        raise ScenarioError([error]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        error = ErrorLocation(filename, None, None, "", f"invalid YAML: {exc}")
        raise ScenarioError([error]) from None
    finally:
        loader.dispose()
    if builder.errors:
        raise ScenarioError(list(dict.fromkeys(builder.errors)))
    return data, builder.map
