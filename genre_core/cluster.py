"""Extraction past one machine: joblib's Dask backend on a running Dask cluster (docs/scaling.md).

Nothing here schedules work itself: `joblib_backend` connects a ``dask.distributed.Client`` to the scheduler
and makes joblib's ``dask`` backend the active one, and `genre_core.extraction` runs its files through whatever
joblib backend is active. The Dask packages are optional (``pip install -r requirements-scale.txt``) and
imported only when asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import joblib

from genre_core.errors import InputError

LOCAL = "local"  #: joblib's own worker processes on this machine (loky)
DASK = "dask"  #: the workers of a Dask cluster, through joblib's Dask backend
BACKENDS = (LOCAL, DASK)
CONNECT_TIMEOUT_S = 10.0  #: how long to wait for a scheduler to answer


@contextlib.contextmanager
def joblib_backend(backend: str, scheduler: str | None = None,
                   timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[int | None]:
    """Inside the block, joblib work runs on ``backend``; yields the number of parallel jobs to ask for: the Dask
    cluster's worker threads, or None for the local backend (keep the caller's choice).

    ``scheduler``: the Dask scheduler's address (``tcp://HOST:8786``), required with `DASK`, refused with `LOCAL`;
    ``timeout_s``: seconds to wait for it to answer.
    Raises `InputError` naming ``--backend`` or ``--scheduler`` for an unknown backend, a missing or unexpected
    address, the optional packages not installed, or no scheduler answering at the address.
    """
    if backend not in BACKENDS:
        raise InputError("--backend", f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
    if backend == LOCAL:
        if scheduler:
            raise InputError("--scheduler", "a scheduler address needs --backend dask")
        yield None
        return
    if not scheduler:
        raise InputError("--scheduler", "--backend dask needs the Dask scheduler's address, e.g. tcp://HOST:8786")
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError("--backend", "dask needs the optional packages: pip install -r requirements-scale.txt"
                         ) from None
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError("--scheduler", f"no Dask scheduler answers at {scheduler} ({error})") from None
    with client, joblib.parallel_config(backend="dask"):
        yield max(1, sum(client.nthreads().values()))
