"""Deterministic randomness: every stream is derived from the scenario seed by name."""

from __future__ import annotations

import hashlib
import random
import struct

import numpy as np


def derive_seed(seed: int, *names: object) -> int:
    """A 64-bit seed for the stream `names` of a run seeded with `seed`."""
    text = "\x1f".join([str(seed), *map(str, names)]).encode()
    return struct.unpack("<Q", hashlib.blake2b(text, digest_size=8).digest())[0]


def hash_uniform(seed: int, *keys: object) -> float:
    """A uniform draw in [0, 1) that depends only on (seed, keys).

    Used where comparing two agents on the same scenario should give both the same luck
    (common random numbers): the nth LLM call on ticket T is right or wrong for both.
    """
    return derive_seed(seed, *keys) / 2**64


def hash_uniforms(seed: int, count: int, *keys: object) -> tuple[float, ...]:
    """`count` independent uniform draws in [0, 1) from one hash of (seed, keys)."""
    return uniforms_of_key(key_text(seed, *keys), count)


def key_text(seed: int, *keys: object) -> str:
    """The text `hash_uniforms(seed, count, *keys)` hashes: seed and keys as `str` gives
    them, separated by U+001F. Hot paths build it with an f-string on a prefix made
    here, and draw with `uniforms_of_key`, for the same draws."""
    return "\x1f".join([str(seed), *map(str, keys)])


_UNPACK = {n: struct.Struct(f"<{n}Q").unpack for n in range(1, 9)}


def uniforms_of_key(text: str, count: int) -> tuple[float, ...]:
    """`count` uniform draws in [0, 1) from the hash of a key's text (see `key_text`)."""
    digest = hashlib.blake2b(text.encode(), digest_size=8 * count).digest()
    unpack = _UNPACK.get(count) or struct.Struct(f"<{count}Q").unpack
    return tuple([v / 2**64 for v in unpack(digest)])


def numpy_stream(seed: int, *names: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *names))


def python_stream(seed: int, *names: object) -> random.Random:
    return random.Random(derive_seed(seed, *names))


class BufferedSampler:
    """Draws from a distribution in numpy batches; one scalar per call, cheaply."""

    __slots__ = ("_draw", "_buffer", "_index")

    def __init__(self, distribution: object, rng: np.random.Generator, batch: int = 1024) -> None:
        sample = distribution.sample  # type: ignore[attr-defined]
        self._draw = lambda: sample(rng, batch).tolist()
        self._buffer: list[float] = []
        self._index = 0

    def __call__(self) -> float:
        if self._index >= len(self._buffer):
            self._buffer = self._draw()
            self._index = 0
        value = self._buffer[self._index]
        self._index += 1
        return value
