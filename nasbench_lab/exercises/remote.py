"""A strategy class in the grader that stands for the student's class in the graded process: every construct, ask and tell is a request.

The grader's checks (the conformance suite, the exercise's checks, the performance runs) take
this class like any Strategy; the runner and the tables stay in the grader. What the student's
strategy returns comes back as plain data and is rebuilt here as the grader's own Ask and Arch
objects, so the checks validate what was asked, never an object the student made.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nasbench_lab.exercises.sandbox import SANDBOXES, Sandbox, SandboxError
from nasbench_lab.strategies import Strategy
from nasbench_lab.strategies.base import Ask


def _context(ctx) -> dict:
    out = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}
    out["space"] = ctx.space.name
    out["fidelities"] = [int(e) for e in ctx.fidelities]
    return out


def _obs(obs) -> dict:
    return {f.name: getattr(obs, f.name) for f in dataclasses.fields(obs)}


class RemoteStrategy(Strategy):
    """Base of the stand-in classes made by `remote_class`."""

    _sandbox: Sandbox
    _remote: str = ""

    def __init__(self, context, rng, **params):
        if not isinstance(rng, np.random.Generator):
            from nasbench_lab import NasbenchError

            raise NasbenchError(f"strategy {self.name!r} needs a numpy.random.Generator, got {type(rng).__name__}")
        sb = type(self)._sandbox
        self.context, self.space, self.rng = context, context.space, rng
        reply = sb.request("new", cls=self._remote, context=_context(context), rng=rng.bit_generator.state,
                           params=dict(params))
        self._bind(reply["iid"])
        p = reply.get("params")
        self.params = p if isinstance(p, dict) else None

    def _bind(self, iid: int) -> None:
        # the sandbox stays on the class: an instance holds plain values only (the suite walks them)
        self._gen, self._iid = type(self)._sandbox.generation, iid
        self._asks: dict = {}
        self._told = None   # a tell not sent yet: it travels with the next request (one round trip less)

    def _req(self, op: str, **fields):
        sb = type(self)._sandbox
        if sb.generation != self._gen or sb.sock is None:
            raise SandboxError("this strategy object was lost when the process running your code was stopped "
                               "(after a time limit or a crash)")
        if self._told is not None:
            fields["told"], self._told = self._told, None
        return sb.request(op, iid=self._iid, **fields)

    def ask(self):
        reply = self._req("ask")
        a = reply.get("ask") if isinstance(reply, dict) else None
        if isinstance(a, Ask):
            self._asks[id(a)] = (reply.get("key"), a)
        return a

    def tell(self, ask, obs) -> None:
        """Sent with the next request on this strategy (its ask, mostly), which runs it first; an
        exception it raises is reported by that request, its message saying it came from tell()."""
        key, mine = self._asks.pop(id(ask), (None, None))
        if mine is not ask:
            key = None
        if self._told is not None:
            self._req("noop")
        self._told = {"key": key, "ask": ask, "obs": _obs(obs)}

    def remote_assign(self, name: str, value) -> None:
        """`obj.name[...] = value` on the student's object (e.g. its logits array)."""
        self._req("assign", name=name, value=np.asarray(value))

    def __getattr__(self, name):
        if name.startswith("_") or "_iid" not in self.__dict__:
            raise AttributeError(name)
        reply = self._req("getattr", name=name)
        if not isinstance(reply, dict) or reply.get("missing"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return reply.get("value")

    def __reduce__(self):
        blob = self._req("pickle")
        return (_unpickled, (type(self)._sandbox.token, self._remote, blob, self.context, self.rng))

    def __del__(self):
        sb = type(self)._sandbox
        if "_iid" in self.__dict__ and sb.generation == self.__dict__.get("_gen"):
            sb.drops.append(self._iid)


def _unpickled(token: int, qualname: str, blob: str, context, rng):
    sb = SANDBOXES.get(token)
    if sb is None:
        raise SandboxError("the process that ran this strategy is gone")
    cls = sb.classes[qualname]
    obj = object.__new__(cls)
    obj.context, obj.space, obj.rng = context, context.space, rng
    obj._bind(sb.request("unpickle", blob=blob))
    p = obj.__getattr__("params")
    obj.params = p if isinstance(p, dict) else None
    return obj


def _method(name: str):
    def call(self, *args):
        return self._req("call", name=name, args=list(args))
    call.__name__ = name
    return call


def remote_class(sb: Sandbox, info: dict) -> type:
    """The stand-in class for the student's class described by `info` (from the import)."""
    def text(v, default=""):
        return v if isinstance(v, str) else default

    attrs = {"_sandbox": sb, "_remote": text(info.get("qualname"), "Strategy"),
             "name": info.get("name"), "__doc__": text(info.get("doc")),
             "defaults": info.get("defaults") if isinstance(info.get("defaults"), dict) else {},
             "expected_failures": info.get("expected_failures") if isinstance(info.get("expected_failures"), dict) else {},
             "deduplicates": info.get("deduplicates") is True,
             "__module__": text(info.get("module"), "student"), "__qualname__": text(info.get("qualname"), "Strategy")}
    for m in info.get("methods") or []:
        if isinstance(m, str) and m.isidentifier() and not hasattr(RemoteStrategy, m):
            attrs[m] = _method(m)
    name = attrs["__qualname__"].split(".")[-1]
    cls = type(name if name.isidentifier() else "Strategy", (RemoteStrategy,), attrs)
    sb.classes[attrs["_remote"]] = cls
    return cls


__all__ = ["RemoteStrategy", "remote_class"]
