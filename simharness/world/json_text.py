"""JSON text for the world's answers: exactly what `json.dumps` writes with its defaults
(or with compact separators), without its per-call set-up.

`json.dumps` builds a new encoder on every call; for the small bodies the simulated APIs
answer with, that set-up costs more than the encoding. These encoders are built once, by
the same C function with the same options, except the circular-reference check (a value
with a cycle is handed to `json.dumps`, which names the problem). Without the C
accelerator they fall back to `json.dumps`.
"""

from __future__ import annotations

import json
from json.encoder import JSONEncoder, c_make_encoder, encode_basestring_ascii
from typing import Any

_DEFAULT = JSONEncoder().default


def _encoder(item_separator: str, key_separator: str) -> Any:
    if c_make_encoder is None:  # pragma: no cover (CPython always has it)
        return None
    return c_make_encoder(None, _DEFAULT, encode_basestring_ascii, None, key_separator,
                          item_separator, False, False, True)


_STANDARD = _encoder(", ", ": ")
_COMPACT = _encoder(",", ":")


def dumps(value: Any) -> str:
    """`json.dumps(value)`, the same text."""
    if _STANDARD is None:  # pragma: no cover
        return json.dumps(value)
    try:
        return "".join(_STANDARD(value, 0))
    except RecursionError:
        return json.dumps(value)


def dumps_compact(value: Any) -> str:
    """`json.dumps(value, separators=(",", ":"))`, the same text."""
    if _COMPACT is None:  # pragma: no cover
        return json.dumps(value, separators=(",", ":"))
    try:
        return "".join(_COMPACT(value, 0))
    except RecursionError:
        return json.dumps(value, separators=(",", ":"))
