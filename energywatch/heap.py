"""Give memory back to the operating system after a large, short-lived working set.

A long-running service that now and then builds a large transient structure (alerting's sweep
over a province: a million subjects; the rollup cache's reload) keeps its peak resident
afterwards: glibc's malloc returns freed memory to the system only from the top of its heap,
and each thread gets an arena of its own. `malloc_trim` releases the free pages of every
arena, and fewer arenas leave less memory stranded between threads. A fixed mmap threshold
keeps every block of 1 MiB or more (NumPy's large arrays) out of the arenas: such a block is
mapped on its own and unmapped when freed. glibc raises the threshold as large blocks are
freed (up to 32 MiB), after which those arrays land in the arenas and strand pages between
smaller blocks that outlive them. Elsewhere than glibc (musl, macOS) these are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tune_malloc(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas for the process's threads, and large blocks mapped on
    their own (call at start)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_free_memory() -> None:
    """Return free heap pages to the system."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
