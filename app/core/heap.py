"""Keep the garbage collector off the objects that live as long as the process."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Move everything start-up allocated out of the collector's reach; returns how many objects.

    Imports, ORM models, routes, templates and pools make several hundred thousand objects that
    never die, and every full collection walked them all: 40-90 ms pauses measured in a serving
    process (bench/inbox.py), long enough to push an inbox frame past 100 ms. Frozen, a full
    collection walks only what was made since (sockets, requests), a few milliseconds.
    """
    gc.collect()  # what start-up left as garbage goes now, not frozen forever
    gc.freeze()
    return gc.get_freeze_count()
