"""numba options for every kernel, set here and nowhere else.

`cache=True` keeps compiled kernels on disk so that a service starts without recompiling;
`nogil=True` lets a caller run kernels from threads. `error_model="numpy"` makes a division by
zero give inf/NaN instead of raising, which also lets numba vectorise loops with divisions.
No `fastmath`: it would let the compiler reorder the compensated sums away.
`NUMBA_DISABLE_JIT=1` runs the kernels as plain Python (coverage, debugging).

Kernels write into output arrays that their Python wrappers allocate with NumPy: NumPy asks the
kernel for transparent huge pages on large arrays, while an array allocated inside a kernel is
faulted in 4 KiB at a time, which on 10 million readings costs more than the computation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel(func: F) -> F:
    """Compile `func` as a core kernel with the project's options."""
    return numba.njit(**JIT_OPTIONS)(func)
