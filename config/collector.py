"""Python's cyclic garbage collector paused around a batch: `collector_paused`.

A batch (a FHIR bulk import's chunk, a care-gap recompute of 1,000 patients)
allocates tens of thousands of container objects (parsed JSON resources, facts,
rows) that stay alive until the batch ends. Each allocation counts towards the
collector's thresholds, so a batch sets off collection after collection, and the
objects it promotes set off full ones, which walk the worker's whole heap (Django
and every module loaded, ~100,000 objects): ~20% of a bulk import batch's Python
time, a third of a care-gap batch's, for garbage that reference counting frees
anyway. Cycles made meanwhile are collected after the batch, and the batch's
memory is bounded by its size as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside the block and back on after it, failed or not; one
    that was already off (an outer block, the caller's choice) is left off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
