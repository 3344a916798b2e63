"""Seeded global randomness for agent code, so a run is reproducible from its seed.

tenacity's jittered backoff (and many agents) call `random.uniform` and friends on the
module-level generator, which Python seeds from the OS. During a run, those calls made on
the simulation thread draw from a generator seeded by the run seed; other threads (a
progress bar, a Dask worker's own machinery) keep the real one. numpy's legacy global
generator is seeded too. Both are restored when the run ends.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .rng import derive_seed


@contextlib.contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Route `random.*` on this thread to a generator seeded from `seed`, for the block."""
    thread = threading.get_ident()
    private = random.Random(derive_seed(seed, "global-random"))
    shared = getattr(random, "_inst")  # noqa: B009 (the instance behind random.uniform etc.)
    originals = {name: getattr(random, name) for name in dir(random)
                 if not name.startswith("_")
                 and getattr(getattr(random, name), "__self__", None) is shared}

    def routed(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        own = getattr(private, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == thread:
                return own(*args, **kwargs)
            return original(*args, **kwargs)

        return call

    np_state = np.random.get_state()
    np.random.seed(derive_seed(seed, "global-numpy") % 2**32)
    for name, original in originals.items():
        setattr(random, name, routed(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(random, name, original)
        np.random.set_state(np_state)
