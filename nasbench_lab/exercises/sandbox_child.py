"""The graded process: imports the student's file, then runs what the grader asks (construct, ask, tell, call) and answers with plain data.

Started by sandbox.Sandbox with one socket; it is given no table and no table path. Everything
it answers goes through wire.encode (JSON of numbers, strings, arrays, asks): the grader never
takes an object from here, so nothing done here (patching the grader's classes in this process,
say) changes a verdict.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import importlib.util
import inspect
import pickle
import random
import socket
import sys
import traceback
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.exercises import wire

MAX_PENDING = 10000  # asks remembered per strategy until their tell


class Child:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.module = None
        self.filename = ""
        self.classes: dict = {}        # qualname -> class
        self.objects: dict = {}        # iid -> strategy instance
        self.pending: dict = {}        # iid -> {ask id: Ask}
        self.next_iid = 1
        self.next_key = 0

    # -------------------------------------------------------------- messages

    def receive(self):
        head = self._exact(4)
        return wire.loads_body(self._exact(wire.header_size(head)))

    def _exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise SystemExit(0)   # the grader is gone
            buf += chunk
        return bytes(buf)

    def send(self, msg) -> None:
        self.sock.sendall(wire.dumps(msg))

    def error(self, e: BaseException) -> dict:
        from nasbench_lab.spaces import SpaceError

        where = ""
        frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).name == self.filename]
        if frames:
            f = frames[-1]
            where = f" (at {self.filename} line {f.lineno}: {(f.line or '').strip()})"
        kinds = [k for k, t in (("NasbenchError", NasbenchError), ("SpaceError", SpaceError)) if isinstance(e, t)]
        message = f"exit status {e.code!r}" if isinstance(e, SystemExit) else _text(e)
        if isinstance(e, SyntaxError):
            message = f"at line {e.lineno}: {e.msg}\n    {(e.text or '').strip()}"
        return {"type": type(e).__name__, "message": message, "kinds": kinds, "where": where}

    def serve(self) -> None:
        while True:
            msg = self.receive()
            n = msg.get("id")
            for iid in msg.get("drop") or []:
                self.objects.pop(iid, None)
                self.pending.pop(iid, None)
            phase = ""
            try:
                fields = {k: wire.decode(v) for k, v in msg.items() if k not in ("id", "op", "drop")}
                told = fields.pop("told", None)
                if told is not None:   # the tell the grader deferred to this request
                    phase = "in tell(): "
                    self.op_tell(fields["iid"], **told)
                    phase = ""
                value = getattr(self, "op_" + msg["op"])(**fields)
                reply = {"id": n, "ok": wire.encode(value)}
            except BaseException as e:  # SystemExit included: reported, the process goes on
                reply = {"id": n, "error": self.error(e)}
                reply["error"]["message"] = phase + reply["error"]["message"]
            self.send(reply)

    # -------------------------------------------------------------- operations

    def op_load(self, folder, file, spec, confine):
        from nasbench_lab.exercises.confine import apply

        apply(confine)
        from nasbench_lab.strategies import Strategy

        if spec is not None:
            from nasbench_lab.strategies import get_strategy

            cls = get_strategy(spec)
            self.filename = Path(spec.split(":")[0]).name if ".py" in spec else ""
            return {"classes": [self._register(cls)], "functions": []}
        self.filename = file
        path = Path(folder) / file
        modname = path.stem
        sys.path.insert(0, str(folder))
        spec_ = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec_)
        sys.modules[modname] = mod
        spec_.loader.exec_module(mod)
        self.module = mod
        classes = [v for v in vars(mod).values() if inspect.isclass(v) and issubclass(v, Strategy)
                   and v is not Strategy and v.__module__ == mod.__name__]
        functions = [k for k, v in vars(mod).items() if callable(v) and not k.startswith("_")]
        return {"classes": [self._register(c) for c in classes], "functions": functions}

    def _register(self, cls) -> dict:
        self.classes[cls.__qualname__] = cls
        methods = sorted(k for k in dir(cls) if not k.startswith("_") and k not in ("ask", "tell")
                         and callable(getattr(cls, k, None)) and not inspect.isclass(getattr(cls, k, None)))
        return {"qualname": cls.__qualname__, "module": cls.__module__, "name": getattr(cls, "name", None),
                "defaults": _plain(getattr(cls, "defaults", None)),
                "expected_failures": _plain(getattr(cls, "expected_failures", None)),
                "deduplicates": getattr(cls, "deduplicates", False) is True,
                "doc": inspect.getdoc(cls) or "", "methods": methods}

    def op_new(self, cls, context, rng, params):
        from nasbench_lab.spaces import get_space
        from nasbench_lab.strategies import SearchContext

        ctx = dict(context)
        ctx["space"] = get_space(ctx["space"])
        ctx["fidelities"] = tuple(ctx["fidelities"])
        ctx = SearchContext(**{k: v for k, v in ctx.items()
                               if k in {f.name for f in dataclasses.fields(SearchContext)}})
        gen = np.random.Generator(getattr(np.random, rng["bit_generator"])())
        gen.bit_generator.state = rng
        obj = self.classes[cls](ctx, gen, **params)
        iid = self.next_iid
        self.next_iid += 1
        self.objects[iid] = obj
        self.pending[iid] = {}
        return {"iid": iid, "params": _plain(getattr(obj, "params", None))}

    def op_ask(self, iid):
        a = self.objects[iid].ask()
        pend = self.pending[iid]
        if len(pend) >= MAX_PENDING:
            pend.clear()
        self.next_key += 1
        key = self.next_key
        pend[key] = a
        return {"key": key, "ask": a}

    def op_tell(self, iid, key, ask, obs):
        from nasbench_lab.strategies.base import Ask, Observation

        a = self.pending[iid].pop(key, None) if key is not None else None
        if a is None:
            a = ask if isinstance(ask, Ask) else Ask(ask.arch)
        fields = dict(obs)
        if isinstance(a, Ask) and getattr(a, "arch", None) == fields.get("arch"):
            fields["arch"] = a.arch
        names = {f.name for f in dataclasses.fields(Observation)}
        self.objects[iid].tell(a, Observation(**{k: v for k, v in fields.items() if k in names}))
        return None

    def op_noop(self, iid):
        return None

    def op_call(self, iid, name, args):
        return getattr(self.objects[iid], name)(*args)

    def op_getattr(self, iid, name):
        obj = self.objects[iid]
        if not hasattr(obj, name):
            return {"missing": True}
        return {"value": getattr(obj, name)}

    def op_assign(self, iid, name, value):
        getattr(self.objects[iid], name)[...] = value
        return None

    def op_pickle(self, iid):
        return base64.b64encode(pickle.dumps(self.objects[iid])).decode()

    def op_unpickle(self, blob):
        obj = pickle.loads(base64.b64decode(blob))
        iid = self.next_iid
        self.next_iid += 1
        self.objects[iid] = obj
        self.pending[iid] = {}
        return iid

    def op_globals(self, action, seed=None):
        """Seed this process's global random generators, or a digest of their state."""
        if action == "seed":
            np.random.seed(seed)
            random.seed(seed)
            return None
        st = np.random.get_state()
        h = hashlib.sha256(repr((st[0], st[2:], random.getstate())).encode())
        h.update(np.ascontiguousarray(st[1]).tobytes())
        return h.hexdigest()

    def op_function(self, name, args, kwargs, recipe=None, return_args=False):
        """Call the student's function `name`; with a recipe, build its arguments here from plain
        data first (a network object cannot travel), and optionally return them after the call."""
        if recipe is not None:
            args = list(RECIPES[recipe](*args))
        value = getattr(self.module, name)(*args, **kwargs)
        if recipe is not None:   # only the plain arguments go back (darts: alpha, x, y; not the network)
            args = [a for a in args if isinstance(a, (np.ndarray, list, tuple, dict, float, int))]
        return {"value": value, "args": list(args) if return_args else None}

    def op_task(self, task, args):
        """A package routine run with the student's functions (the darts-step search)."""
        return TASKS[task](self.module, *args)


def _darts_case(seed, kind):
    from nasbench_lab.exercises.darts_checks import _tiny_case

    return _tiny_case(seed, kind)


def _darts_search(module, epochs, seed):
    from nasbench_lab.exercises.darts_checks import search_core

    return search_core(module.arch_gradient, module.derive_cell, epochs, seed)


RECIPES = {"darts_case": _darts_case}
TASKS = {"darts_search": _darts_search}


def _text(e: BaseException) -> str:
    try:
        return str(e)[:2000]
    except Exception:
        return f"<{type(e).__name__} whose message cannot be shown>"


def _plain(x):
    """x when it is plain data the wire carries, else its repr (so that a class attribute never
    stops the import's answer)."""
    try:
        wire.dumps(wire.encode(x))
        return x
    except Exception:
        return wire.Opaque(type(x).__name__, repr(x)[:300])


def main(fd: int) -> None:
    with contextlib.suppress(Exception):  # end with the grader (Linux); the grader also kills us
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    import nasbench_lab.strategies  # noqa: F401  (what student code uses, loaded before confinement)
    import nasbench_lab.testing  # noqa: F401  (registers the conformance suite's tiny space)

    Child(socket.socket(fileno=fd)).serve()
