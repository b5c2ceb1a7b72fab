"""Plain data on the grader's wire: JSON frames that carry numbers, strings, arrays and asks, never pickles.

The graded child process encodes what student code returned; the grading parent decodes it
strictly (only the markers below, numeric dtypes only, bounded sizes), so that nothing the
child sends can run code in the parent or pass for one of the parent's own objects.
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np

MAX_FRAME = 64 << 20          # bytes of one message
MAX_DEPTH = 40
_NP_SCALARS = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64"}


class WireError(Exception):
    """A message that is not well-formed plain data."""


class Opaque:
    """Stands in the parent for an object that is not plain data (shown by its type and repr)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = str(type_name), str(text)

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return False

    __hash__ = object.__hash__


# ------------------------------------------------------------------------------ encode (either side)


def encode(obj, depth: int = 0):
    """A JSON-safe form of `obj` that keeps the types the checks look at (tuple, numpy scalar, array)."""
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    t = type(obj)
    if obj is None or t in (bool, int, str):
        return obj
    if t is float:
        return obj if math.isfinite(obj) else {"$f": repr(obj)}
    if isinstance(obj, np.generic) and obj.dtype.name in _NP_SCALARS:
        v = obj.item()
        return {"$np": obj.dtype.name, "v": encode(v, depth + 1)}
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
        return {"$nd": obj.dtype.str, "shape": list(obj.shape),
                "v": [encode(float(x) if obj.dtype.kind == "f" else x, depth + 1) for x in obj.ravel().tolist()]}
    if t is tuple:
        return {"$t": [encode(x, depth + 1) for x in obj]}
    if t is list:
        return [encode(x, depth + 1) for x in obj]
    if t is dict:
        return {"$d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in obj.items()]}
    from nasbench_lab.spaces import Arch
    from nasbench_lab.strategies.base import Ask

    if t is Arch:
        return {"$arch": str(obj.space), "c": [encode(c, depth + 1) for c in obj.choices]}
    if t is Ask:
        return {"$ask": encode(obj.arch, depth + 1), "epoch": encode(obj.epoch, depth + 1)}
    try:
        text = repr(obj)[:300]
    except Exception:
        text = f"<{t.__name__} object>"
    return {"$obj": t.__name__[:100], "repr": text}


# ------------------------------------------------------------------------------ decode (the parent)


def decode(x, depth: int = 0):
    """The parent's own objects for the encoded form `x`; WireError on anything unexpected."""
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) is list:
        return [decode(v, depth + 1) for v in x]
    if type(x) is not dict or len(x) not in (1, 2, 3):
        raise WireError(f"unexpected {type(x).__name__} on the wire")
    if set(x) == {"$f"} and x["$f"] in ("nan", "inf", "-inf"):
        return float(x["$f"])
    if set(x) == {"$np", "v"} and x["$np"] in _NP_SCALARS:
        v = decode(x["v"], depth + 1)
        if type(v) not in (bool, int, float):
            raise WireError("a numpy scalar that is not a number")
        return np.dtype(x["$np"]).type(v)
    if set(x) == {"$nd", "shape", "v"}:
        try:
            dt = np.dtype(str(x["$nd"]))
        except TypeError:
            raise WireError("an array of an unknown dtype") from None
        shape = x["shape"]
        if dt.kind not in "biuf" or type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
            raise WireError("an array of a non-numeric dtype or a bad shape")
        vals = [decode(v, depth + 1) for v in x["v"]] if type(x["v"]) is list else None
        if vals is None or len(vals) != int(np.prod(shape, dtype=np.int64)) or \
                not all(type(v) in (bool, int, float) for v in vals):
            raise WireError("an array whose values do not match its shape")
        return np.array(vals, dtype=dt).reshape(shape)
    if set(x) == {"$t"} and type(x["$t"]) is list:
        return tuple(decode(v, depth + 1) for v in x["$t"])
    if set(x) == {"$d"} and type(x["$d"]) is list:
        out = {}
        for kv in x["$d"]:
            if type(kv) is not list or len(kv) != 2:
                raise WireError("a malformed dict")
            k = decode(kv[0], depth + 1)
            try:
                out[k] = decode(kv[1], depth + 1)
            except TypeError:
                raise WireError("a dict with an unhashable key") from None
        return out
    if set(x) == {"$arch", "c"} and type(x["$arch"]) is str and type(x["c"]) is list:
        from nasbench_lab.spaces import Arch

        return Arch(x["$arch"], tuple(decode(c, depth + 1) for c in x["c"]))
    if set(x) == {"$ask", "epoch"}:
        from nasbench_lab.spaces import Arch
        from nasbench_lab.strategies.base import Ask

        arch = decode(x["$ask"], depth + 1)
        if not isinstance(arch, Arch):
            return Opaque("Ask", f"Ask(arch={arch!r})")
        return Ask(arch, decode(x["epoch"], depth + 1))
    if set(x) == {"$obj", "repr"} and type(x["$obj"]) is str and type(x["repr"]) is str:
        return Opaque(x["$obj"], x["repr"])
    raise WireError("an unknown kind of data on the wire")


# ------------------------------------------------------------------------------ frames


def dumps(msg) -> bytes:
    data = json.dumps(msg, allow_nan=False, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"a message of {len(data)} bytes (at most {MAX_FRAME})")
    return struct.pack(">I", len(data)) + data


def loads_body(data: bytes):
    try:
        return json.loads(data.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise WireError(f"a message that is not JSON or nested too deeply ({type(e).__name__})") from None


def header_size(head: bytes) -> int:
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise WireError(f"a message of {n} bytes (at most {MAX_FRAME})")
    return n
