"""Seeded global randomness for agent code, so a run is reproducible from its seed.

tenacity's jittered backoff (and many agents) call `random.uniform` and friends on the
module-level generator, which Python seeds from the OS; the openai SDK even captured one of
its methods at import (`from random import random`, for its retry jitter). So during a run
that shared generator itself is reseeded from the run seed, and its state is restored when
the run ends. Calls through the `random` module from other threads (a progress bar, a Dask
worker's own machinery) go to a generator of their own meanwhile, so they neither shift the
run's sequence nor see it. numpy's legacy global generator is seeded and restored too.
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
    """Seed the global `random` (and numpy's) for this thread from `seed`, for the block."""
    thread = threading.get_ident()
    shared = getattr(random, "_inst")  # noqa: B009 (the instance behind random.uniform etc.)
    saved = shared.getstate()
    outside = random.Random()
    outside.setstate(saved)  # other threads go on with the sequence they would have seen
    originals = {name: getattr(random, name) for name in dir(random)
                 if not name.startswith("_")
                 and getattr(getattr(random, name), "__self__", None) is shared}

    def routed(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        other = getattr(outside, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == thread:
                return original(*args, **kwargs)
            return other(*args, **kwargs)

        return call

    np_state = np.random.get_state()
    np.random.seed(derive_seed(seed, "global-numpy") % 2**32)
    shared.seed(derive_seed(seed, "global-random"))
    for name, original in originals.items():
        setattr(random, name, routed(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(random, name, original)
        shared.setstate(saved)
        np.random.set_state(np_state)
