"""JSON text for the world's answers: exactly what `json.dumps` writes with its defaults
(or with compact separators), without its per-call set-up; and requests read into exactly
what `json.loads` gives, faster when orjson is installed.

`json.dumps` builds a new encoder on every call; for the small bodies the simulated APIs
answer with, that set-up costs more than the encoding. These encoders are built once, by
the same C function with the same options, except the circular-reference check (a value
with a cycle is handed to `json.dumps`, which names the problem). Without the C
accelerator they fall back to `json.dumps`.
"""

from __future__ import annotations

import json
from json.encoder import (  # type: ignore[attr-defined]  # c_make_encoder: not in typeshed
    JSONEncoder,
    c_make_encoder,
    encode_basestring_ascii,
)
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # optional: json.loads does the same, slower
    _orjson = None  # type: ignore[assignment]

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


#: orjson reads an integer beyond 64 bits as a float; a text with a run of 19 digits
#: (anywhere) goes to json.loads instead. Found by mapping every digit to "0" and looking
#: for nineteen of them (a regular expression takes far longer than orjson's parse).
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_LONG_DIGITS = b"0" * 19


def _long_digits(data: bytes) -> bool:
    return data.translate(_DIGITS_TO_ZERO).find(_LONG_DIGITS) >= 0


def loads(data: bytes) -> Any:
    """`json.loads(data)`: the same value, or the same error.

    With orjson installed, it reads the text unless the text has a run of 19 digits (a
    number orjson would read differently); what orjson refuses (NaN, lone surrogates,
    a byte-order mark, bad JSON) goes to `json.loads`, which accepts it or raises.
    """
    if _orjson is not None and not _long_digits(data):
        try:
            return _orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)
