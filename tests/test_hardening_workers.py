"""Issue 17: worker processes end when their parent dies. A `compare` and a `build` with
--workers 2 are SIGKILLed mid-run; their joblib/loky workers must be gone within 10 s (they
used to stay alive for minutes). Only processes this test started are signalled."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
NB = [sys.executable, "-m", "nasbench_lab.cli"]


def _stat(pid: int):
    """(state, ppid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = _stat(int(d))
            if s is not None and s[1] == pid:
                out.append(int(d))
    return out


def _workers(pid: int) -> list[int]:
    found = []
    for c in _children(pid):
        try:
            if b"popen_loky_posix" in Path(f"/proc/{c}/cmdline").read_bytes():
                found.append(c)
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    s = _stat(pid)
    return s is not None and s[0] not in ("Z", "X")  # a zombie has ended (waiting to be reaped)


def _kill_parent_and_wait(cmd, tmp_path, n_workers=2, timeout=10.0):
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    workers: list[int] = []
    others: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < n_workers:
            assert proc.poll() is None, f"{cmd[3]} ended (exit {proc.returncode}) before its workers started"
            assert time.monotonic() < deadline, "the workers did not start within 60 s"
            time.sleep(0.2)
            workers = _workers(proc.pid)
        time.sleep(1.0)  # let them take up jobs
        others = [c for c in _children(proc.pid) if c not in workers]  # loky's resource tracker
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout and any(_alive(p) for p in workers + others):
            time.sleep(0.1)
        left = [p for p in workers + others if _alive(p)]
        return left, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in workers + others:  # only the pids this test started (and saw as their children)
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass


def test_compare_workers_end_when_the_parent_is_killed(tmp_path):
    cmd = NB + ["compare", "--strategies", "random,rea", "--table", "nb201-3ops-small", "--budget-queries", "40",
                "--runs", "200000", "--seed", "0", "--workers", "2", "--out", str(tmp_path / "cmp")]
    left, waited = _kill_parent_and_wait(cmd, tmp_path)
    assert not left, f"worker processes {left} still alive {waited:.1f} s after the parent was killed"


def test_build_workers_end_when_the_parent_is_killed(tmp_path):
    cmd = NB + ["build", "--out", str(tmp_path / "b.h5"), "--protocol", "small-mnist1d", "--space", "nb201-3ops",
                "--seeds", "0,1,2", "--workers", "2"]
    left, waited = _kill_parent_and_wait(cmd, tmp_path)
    assert not left, f"worker processes {left} still alive {waited:.1f} s after the parent was killed"
