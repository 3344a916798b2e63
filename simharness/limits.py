"""Bounds on what one input file may cost to read, checked before the work starts.

A scenario, a replayed data file or a grid value is read whole and turned into Python
objects. Without a bound, a mistaken or hostile file costs gigabytes: a YAML "billion
laughs" (aliases of aliases) expands a few hundred bytes into billions of values. Every
reader of user files goes through these helpers, so the limit and the message that names
the file are the same everywhere; a caller with bigger legitimate inputs passes its own
limit.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ErrorLocation, ScenarioError

__all__ = ["MAX_SCENARIO_BYTES", "MAX_YAML_DEPTH", "MAX_YAML_VALUES", "check_text_size",
           "read_bytes_bounded", "read_text_bounded", "too_large"]

#: Largest scenario file read (a scenario is configuration: a few kilobytes).
MAX_SCENARIO_BYTES = 1 << 20
#: Most values a YAML document may hold once every alias is expanded.
MAX_YAML_VALUES = 100_000
#: Deepest nesting of mappings and lists a YAML document may have.
MAX_YAML_DEPTH = 64


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def too_large(filename: str, size: int | None, limit: int, what: str = "file") -> ScenarioError:
    """The error for an input over `limit` bytes (`size` None: more than the limit)."""
    actual = f"{_size(size)}" if size is not None else f"more than {_size(limit)}"
    return ScenarioError([ErrorLocation(
        filename, None, None, "",
        f"the {what} is {actual}, over the limit of {_size(limit)}; is this the right file?")])


def read_bytes_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The file's bytes, or a ScenarioError naming it when it holds more than `limit`.

    Never reads more than `limit + 1` bytes, whatever the file's size (a FIFO or a file
    still growing included). An unreadable file is a ScenarioError too.
    """
    filename = str(path)
    try:
        with Path(path).open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise too_large(filename, size, limit, what)
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ScenarioError([ErrorLocation(filename, None, None, "",
                                           f"cannot read: {exc.strerror or exc}")]) from None
    if len(data) > limit:
        raise too_large(filename, None, limit, what)
    return data


def read_text_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> str:
    """`read_bytes_bounded` decoded as UTF-8; other encodings are a ScenarioError."""
    data = read_bytes_bounded(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([ErrorLocation(str(path), None, None, "",
                                           f"not UTF-8 text: {exc.reason}")]) from None


def check_text_size(text: str, filename: str, limit: int, what: str = "file") -> None:
    """Raise the ScenarioError of `too_large` when `text` is over `limit` bytes as UTF-8."""
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise too_large(filename, len(text.encode("utf-8", "surrogatepass")), limit, what)
