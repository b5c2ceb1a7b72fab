"""The graded code's own process: the grader (parent) starts it, asks it to run student code, and reads back plain data.

Why: graded code that runs in the grader's process can reach whatever the grader holds (the
table's test arrays, through stack frames or `gc.get_objects()`), patch the grader (make
`GradeReport.ok` always true) or end it with exit status 0 (`sys.exit(0)`, `os._exit(0)`).
Here the student's file is imported in a child process (sandbox_child.py) that is never given
a table or a table's path: the parent holds the tables and answers every query, and the child
sees only what a strategy may see (the search space, the schedule's epochs, Observations with
validation metrics and costs). What comes back is JSON of plain data (wire.py), never a pickle,
so nothing the child sends can run code in the parent; every verdict is computed in the parent
from those answers. The child starts with a scrubbed environment, in a fresh temporary working
directory (deleted afterwards), with its stdout and stderr in a file there; a call that runs
past its time limit, or past what is left of the grade's time limit, kills it (its whole process
group), and so does the end of the grade.

What remains possible: on Linux with Landlock (kernel 5.13+), confine.py also takes from the
child read access to the table files and every folder but the Python installation, the package's
code and the student's folder, write access to all but its own temporary folder, the right to
ptrace the grader (so to read its memory) and (kernel 6.12+) to signal it. Without Landlock (other systems, old kernels, a
container that blocks it) a determined student can still open the table files installed with the
package, or signal the grader (which ends it with a non-zero status, never a pass). And grade.py
in the student's folder is the student's own file: a verdict to rely on comes from running
`nasbench-lab exercise grade DIR` with an installation the student cannot change. The grade is
for learning, not an exam-proof sandbox.
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nasbench_lab import NasbenchError
from nasbench_lab.exercises import wire

DEFAULT_TIME_LIMIT = 300.0  # seconds of wall time for a whole grade
IMPORT_LIMIT = 30.0         # seconds the import of the student's file may take
CALL_LIMIT = 20.0           # seconds one call into student code may take unless a check says otherwise
SANDBOXES: dict[int, "Sandbox"] = {}   # token -> live sandbox (for unpickling remote strategies)
_TOKENS = itertools.count(1)

BOOT = ("import sys; sys.path[:] = [p for p in sys.path if p]; "
        "from nasbench_lab.exercises.sandbox_child import main; main(int(sys.argv[1]))")


class SandboxError(Exception):
    """Student code could not be run or did not answer (the message is one line)."""


class ProcessEnded(SandboxError):
    """The child process ended (os._exit, a crash, a kill)."""


class CallTimeout(SandboxError):
    """A call into student code ran past its time limit; the child was killed."""


class GradeTimeout(BaseException):
    """The whole grade's time limit ran out (a BaseException, so that no check swallows it)."""


class StudentError(Exception):
    """An exception raised by student code in the child, re-created in the parent by name only."""

    type_name = "Exception"
    where = ""


_ERROR_TYPES: dict = {}


def student_error(info) -> StudentError:
    """A StudentError subclass named like the child's exception (with NasbenchError/SpaceError as
    bases where the child's was one), so that messages and the checks' isinstance tests read true."""
    from nasbench_lab.spaces import SpaceError

    if not isinstance(info, dict):
        info = {}
    name = str(info.get("type", "Exception"))[:100] or "Exception"
    kinds = info.get("kinds") if isinstance(info.get("kinds"), list) else []
    bases = [StudentError] + [b for k, b in (("SpaceError", SpaceError), ("NasbenchError", NasbenchError))
                              if k in kinds]
    if SpaceError in bases and NasbenchError in bases:
        bases.remove(NasbenchError)
    key = (name, tuple(b.__name__ for b in bases))
    if key not in _ERROR_TYPES:
        _ERROR_TYPES[key] = type(name if name.isidentifier() else "Exception", tuple(bases),
                                 {"type_name": name, "__module__": "student"})
    err = _ERROR_TYPES[key](str(info.get("message", ""))[:2000])
    err.where = str(info.get("where", ""))[:300]
    return err


class Clock:
    """The grade's wall-clock limit, shared by every sandbox of one grade."""

    def __init__(self, limit: float | None):
        self.limit = DEFAULT_TIME_LIMIT if limit is None else float(limit)
        self.end = time.monotonic() + self.limit

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise GradeTimeout(f"the time limit of {self.limit:g} s for the whole grade (--time-limit) ran out")


def _env(tmp: str, hash_seed: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "TMPDIR": tmp,
           "PYTHONHASHSEED": hash_seed, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "NASBENCH_LAB_TABLES": ""}
    for k in ("LANG", "LC_ALL", "SYSTEMROOT"):
        if k in os.environ:
            env[k] = os.environ[k]
    from nasbench_lab.live.data import _cache_dir

    cache = _cache_dir()   # generated MNIST-1D data (darts-step): read there, not generated again
    env["NASBENCH_LAB_CACHE"] = str(cache) if cache is not None and cache.is_dir() else "off"
    return env


def _what(op: str, fields: dict) -> str:
    """The call a request makes, in the words of a message."""
    name = fields.get("name")
    return {"load": "the import", "new": "the construction of the strategy", "ask": "ask()", "tell": "tell()",
            "call": f"{name}()", "function": f"{name}()", "getattr": f"reading .{name}",
            "task": "the search with your functions"}.get(op, op)


class Sandbox:
    """One child process that imports the student's file (or a --strategy spec) and answers requests."""

    def __init__(self, folder, filename: str | None, clock: Clock, *, spec: str | None = None,
                 hash_seed: str = "1234", import_limit: float = IMPORT_LIMIT, call_limit: float = CALL_LIMIT,
                 tables=()):
        self.folder, self.filename, self.spec = Path(folder), filename, spec
        self.clock, self.hash_seed, self.tables = clock, hash_seed, list(tables)   # tables: kept from the child
        self.import_limit, self.call_limit = import_limit, call_limit
        self.token = next(_TOKENS)
        self.generation = 0
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.tmp: str | None = None
        self.info: dict | None = None      # what the import found: classes, functions
        self.classes: dict = {}            # qualname -> remote strategy class (remote.py)
        self.drops: list = []              # instance ids to forget at the next request
        self._ids = itertools.count(1)
        SANDBOXES[self.token] = self

    # ------------------------------------------------------------------ the process

    def start(self) -> dict:
        """Start the child and import the student's code; returns what the import found or
        raises StudentError (the import raised) / CallTimeout / ProcessEnded."""
        self.kill()
        self.generation += 1
        self.tmp = tempfile.mkdtemp(prefix="nasbench-grade-")
        parent, child = socket.socketpair()
        out = open(os.path.join(self.tmp, "output.txt"), "wb")
        try:
            self.proc = subprocess.Popen([sys.executable, "-s", "-c", BOOT, str(child.fileno())],
                                         cwd=self.tmp, env=_env(self.tmp, self.hash_seed), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, pass_fds=(child.fileno(),),
                                         start_new_session=True)
        finally:
            child.close()
            out.close()
        self.sock = parent
        from nasbench_lab.exercises.confine import confinement_for

        rules = confinement_for(self.folder, self.tmp, self.spec, self.tables)
        self.info = self.request("load", limit=self.import_limit, _starting=True, folder=str(self.folder),
                                 file=self.filename, spec=self.spec, confine=rules)
        return self.info

    def kill(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a kill that did not take
                pass
            self.proc = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def close(self) -> None:
        self.kill()
        SANDBOXES.pop(self.token, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ requests

    def request(self, op: str, *, limit: float | None = None, _starting: bool = False, **fields):
        """Send one request and return the decoded answer; a student exception comes back as a
        StudentError, a hang as CallTimeout (or GradeTimeout), a dead child as ProcessEnded."""
        self.clock.check()
        if self.sock is None and not _starting:
            self.start()
        n = next(self._ids)
        msg = {"id": n, "op": op, "drop": self.drops, **{k: wire.encode(v) for k, v in fields.items()}}
        self.drops = []
        wait = min(self.call_limit if limit is None else limit, self.clock.left())
        try:
            self.sock.sendall(wire.dumps(msg))
            reply = self._receive(wait)
        except BaseException as e:  # a time limit (the checks' alarms too), a dead child, bad data
            rc = None
            if self.proc is not None and isinstance(e, (ConnectionError, EOFError)):
                try:   # the socket closes a moment before the process is gone: get its exit status
                    rc = self.proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    pass
            self.kill()
            if isinstance(e, (socket.timeout, TimeoutError)):
                if self.clock.left() <= 0.05:
                    self.clock.check()
                    raise GradeTimeout(f"the time limit of {self.clock.limit:g} s for the whole grade "
                                       "(--time-limit) ran out") from None
                raise CallTimeout(f"{_what(op, fields)} did not finish within {wait:.3g} s") from None
            if isinstance(e, (ConnectionError, EOFError, BrokenPipeError)):
                raise ProcessEnded(self._ended(rc, op, fields)) from None
            if isinstance(e, wire.WireError):
                raise SandboxError(f"the process running your code sent malformed data ({e})") from None
            raise
        if not isinstance(reply, dict) or reply.get("id") != n:
            self.kill()
            raise SandboxError("the process running your code broke the grading protocol (an answer to "
                               "a question that was not asked)")
        if "error" in reply:
            err = reply["error"]
            if isinstance(err, dict) and err.get("type") == "SystemExit":
                raise ProcessEnded(f"your code tried to end the process ({err.get('message') or 'SystemExit'}); "
                                   "never call sys.exit() or exit() in a strategy or at import") from None
            raise student_error(err)
        try:
            return wire.decode(reply.get("ok"))
        except wire.WireError as e:
            self.kill()
            raise SandboxError(f"the process running your code sent malformed data ({e})") from None

    def _ended(self, rc, op: str, fields: dict) -> str:
        how = ("was killed by signal " + signal.Signals(-rc).name if rc is not None and rc < 0 else
               f"ended (exit status {rc})" if rc is not None else "ended")
        return (f"the process running your code {how} during {_what(op, fields)}, before it answered "
                "(os._exit(), a crash or a kill)")

    def _receive(self, wait: float):
        end = time.monotonic() + max(wait, 0.0)
        head = self._exact(4, end)
        return wire.loads_body(self._exact(wire.header_size(head), end))

    def _exact(self, n: int, end: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError()
            buf += chunk
        return bytes(buf)

    def output_tail(self, lines: int = 3) -> str:
        """The last lines the child printed (its stdout and stderr), for a hint."""
        if self.tmp is None:
            return ""
        try:
            text = Path(self.tmp, "output.txt").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])
