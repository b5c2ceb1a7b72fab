"""One way to run independent jobs: in this process, in joblib worker processes, or on a
Dask cluster through joblib's dask backend (design.md section 7: no home-made scheduler)."""
from __future__ import annotations

import re
from typing import Callable, Iterable, Iterator

from nasbench_lab import NasbenchError


_ADDRESS = re.compile(r"((tcp|tls|ucx|ws|wss)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}")


def check_dask_address(address: str | None) -> None:
    """A Dask scheduler address must look like [tcp://]HOST:PORT; one-line error otherwise
    (checked before any work starts, not deep inside the first parallel call)."""
    if address is None:
        return
    m = _ADDRESS.fullmatch(str(address).strip())
    if not m or not 0 < int(str(address).rsplit(":", 1)[1]) < 65536:
        raise NasbenchError(f"--dask-scheduler {address!r} is not an address like tcp://HOST:PORT "
                            "(e.g. tcp://127.0.0.1:8786)")


def max_workers() -> int:
    """The most local worker processes a command may start: 4 per CPU core (at least 8)."""
    import os

    return max(8, 4 * (os.cpu_count() or 1))


def check_workers(workers) -> None:
    """--workers must be a positive integer and not absurd (hundreds of processes on a few cores)."""
    if isinstance(workers, bool) or int(workers) != workers or workers <= 0:
        raise NasbenchError(f"--workers must be a positive integer, got {workers}")
    if workers > max_workers():
        raise NasbenchError(f"--workers {workers} is more than {max_workers()} processes (4 per CPU core of "
                            "this machine); give fewer, or use --dask-scheduler for a cluster")


def parallel_map(fn: Callable, calls: Iterable[tuple], workers: int = 1,
                 dask_scheduler: str | None = None) -> Iterator:
    """Yield fn(*call) for every call, in completion order when run in parallel."""
    calls = list(calls)
    if workers == 1 and not dask_scheduler:
        for c in calls:
            yield fn(*c)
        return
    import joblib

    if dask_scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise NasbenchError("--dask-scheduler needs dask: pip install 'nasbench_lab[dask]'") from None
        check_dask_address(dask_scheduler)
        try:
            client = Client(dask_scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            raise NasbenchError(f"cannot reach the Dask scheduler at {dask_scheduler} ({e})") from None
        try:
            with joblib.parallel_config(backend="dask"):
                yield from joblib.Parallel(return_as="generator_unordered")(
                    joblib.delayed(fn)(*c) for c in calls)
        finally:
            client.close()
        return
    yield from joblib.Parallel(n_jobs=workers, return_as="generator_unordered", batch_size=1)(
        joblib.delayed(fn)(*c) for c in calls)
