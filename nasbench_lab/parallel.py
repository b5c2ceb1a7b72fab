"""One way to run independent jobs: in this process, in joblib worker processes, or on a
Dask cluster through joblib's dask backend (design.md section 7: no home-made scheduler)."""
from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
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
                    joblib.delayed(_on_dask)(fn, c) for c in calls)
        finally:
            client.close()
        return
    parent = os.getpid()
    yield from joblib.Parallel(n_jobs=workers, return_as="generator_unordered", batch_size=1)(
        joblib.delayed(_in_worker)(parent, fn, c) for c in calls)


def _on_dask(fn: Callable, call: tuple):
    """Run one job on a Dask worker with BLAS at one thread for the whole worker process.
    The trainers limit BLAS with `threadpool_limits` contexts, but that setting is process-wide:
    on a worker with several threads one job's context ending restored the threads while another
    job was computing, and multi-threaded OpenBLAS rounds differently on some CPUs (seen on an AMD
    EPYC), so the same search gave another result than a direct run. Never restored, on purpose."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    return fn(*call)


_GUARDED: int | None = None  # the parent pid this worker process watches, once installed
POLL_SECONDS = 0.5


def _in_worker(parent: int, fn: Callable, call: tuple):
    """Run one job in a local worker process, first making sure (once per process) that the
    process ends when `parent` does (see `end_with_parent`)."""
    if _GUARDED != parent and os.getpid() != parent:
        end_with_parent(parent)
    return fn(*call)


def end_with_parent(parent: int) -> None:
    """Make this process end promptly when process `parent` is gone (SIGKILLed: no chance to
    stop its workers): on Linux the kernel sends SIGTERM at the parent's death
    (prctl PR_SET_PDEATHSIG); everywhere a daemon thread polls the parent pid every
    POLL_SECONDS and ends the process when it has disappeared or this one was re-parented."""
    global _GUARDED
    _GUARDED = parent
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # no libc prctl: the thread below still does it
            pass
    if os.getppid() != parent:  # already gone (before prctl could take effect)
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="nasbench-lab-parent-watch", daemon=True).start()


def _parent_alive(parent: int) -> bool:
    if os.getppid() != parent:  # re-parented: the parent has died
        return False
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's (pid reused): not our parent any more
        return os.getppid() == parent
    return True


def _watch_parent(parent: int) -> None:
    while _parent_alive(parent):
        time.sleep(POLL_SECONDS)
    os._exit(1)
