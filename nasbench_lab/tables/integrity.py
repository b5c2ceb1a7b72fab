"""Integrity of a table: the schema checked once at open, values checked on first read, and a
checksum per array verified on first read, so that nothing downstream meets a bad array and
results are bound to the bytes actually read.

Sealing (tables written by this version): every dataset of the file carries a `sha256`
attribute (its name, dtype, shape and bytes), and the root `content_hash` is the sha256 of the
sorted list of those digests (root attribute `hash_scheme` says so). Opening recomputes the
root from the per-array attributes (microseconds); reading an array recomputes its digest.
So a changed array, a changed checksum or a changed root hash is each refused, and a result
that records `content_hash` records exactly what its arrays were checked against. New
chunked datasets also carry HDF5's fletcher32 filter, which catches bit flips on disk at the
chunk level for free.

Tables sealed before (no `hash_scheme`) keep their whole-file hash (`writer.content_hash`);
they still open, and are verified in full on their first read (tens of ms for the built-in
table), the arrays read for that check being the ones then used.
"""
from __future__ import annotations

import hashlib
import json
import numbers

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.schema import METRICS, PROXY_GROUP, STATIC_METRICS

HASH_SCHEME = "sha256-per-array/1"
DIGEST_ATTR = "sha256"
_REBUILD = "re-import or rebuild it"


class TableError(NasbenchError):
    """A missing, corrupt, truncated or inconsistent table, or an impossible query."""


def array_digest(name: str, arr) -> str:
    """sha256 of one array: its name, dtype, shape and bytes (NaN canonical, little endian);
    the same bytes the whole-file hash of older tables feeds."""
    a = np.ascontiguousarray(arr)
    if a.dtype.kind == "f":
        a = np.where(np.isnan(a), np.nan, a).astype(a.dtype.newbyteorder("<"), copy=False)
    h = hashlib.sha256(f"{name}:{a.dtype.str}:{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def root_digest(digests: dict) -> str:
    """The table's content hash from its per-array digests (sorted by dataset name)."""
    h = hashlib.sha256(HASH_SCHEME.encode())
    for name in sorted(digests):
        h.update(f"\n{name}={digests[name]}".encode())
    return h.hexdigest()


def datasets(h5) -> dict:
    """name -> h5py.Dataset for every dataset the content hash covers (names without the leading
    '/'): all but the proxies group, which has its own hash (proxy_store.py)."""
    import h5py

    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith(PROXY_GROUP + "/"):
            out[name] = obj
    h5.visititems(visit)
    return out


def seal(h5) -> str:
    """Write a digest on every dataset and the root hash; returns the root hash."""
    digests = {}
    for name, ds in datasets(h5).items():
        d = array_digest(name, ds[()])
        ds.attrs[DIGEST_ATTR] = d
        digests[name] = d
    root = root_digest(digests)
    h5.attrs["hash_scheme"] = HASH_SCHEME
    h5.attrs["content_hash"] = root
    return root


def stored_digests(h5, path: str, content_hash: str) -> dict:
    """The per-array digests of a sealed table, checked against its root hash (attributes only)."""
    digests = {}
    for name, ds in datasets(h5).items():
        d = ds.attrs.get(DIGEST_ATTR)
        if not isinstance(d, str):
            raise TableError(f"{path}: array {name} has no checksum although the table is sealed "
                             f"per array: it was changed after it was sealed; {_REBUILD}")
        digests[name] = d
    if root_digest(digests) != content_hash:
        raise TableError(f"{path}: the content hash does not match the arrays' checksums: the "
                         f"table was changed after it was sealed; {_REBUILD}")
    return digests


# --- the schema, checked at open (attributes, shapes and dtypes only: nothing is read) -----------
def as_int(value, what: str, path: str) -> int:
    """An integer attribute (numpy or Python int; not a bool, a float or a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TableError(f"{path}: {what} must be an integer, got {value!r}; {_REBUILD}")
    return int(value)


def text_attr(attrs, key: str, path: str, default: str | None = None) -> str:
    """A string attribute that is valid text (a flipped byte must not reach a print)."""
    if key not in attrs and default is not None:
        return default
    raw = attrs[key]
    if isinstance(raw, (bytes, np.bytes_)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise TableError(f"{path}: attribute {key} is not valid text (UTF-8); {_REBUILD}") from None
    if not isinstance(raw, str):
        raise TableError(f"{path}: attribute {key} must be a string, got {type(raw).__name__}; {_REBUILD}")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise TableError(f"{path}: attribute {key} is not valid text (UTF-8); {_REBUILD}") from None
    return raw


def json_attr(attrs, key: str, kind: type, path: str, default: str):
    raw = attrs.get(key, default)
    if not isinstance(raw, (str, bytes, np.bytes_)):
        raise TableError(f"{path}: attribute {key} must be a JSON string, got {type(raw).__name__}; "
                         f"{_REBUILD}")
    raw = text_attr({key: raw}, key, path)
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise TableError(f"{path}: attribute {key} is not valid JSON ({e}); {_REBUILD}") from None
    if not isinstance(value, kind):
        raise TableError(f"{path}: attribute {key} must be a JSON {kind.__name__}, got "
                         f"{type(value).__name__}; {_REBUILD}")
    return value


def check_schedule_layout(grp, sname: str, n_archs: int, seeds, recorded, path: str) -> tuple:
    """Shapes and dtypes of one schedule's arrays; returns the metrics it holds."""
    import h5py

    if not seeds or not all(isinstance(s, str) for s in seeds) or len(set(seeds)) != len(seeds):
        raise TableError(f"{path}: schedule {sname!r} has bad seed labels {seeds!r} (distinct "
                         f"strings expected); {_REBUILD}")
    shape = (n_archs, len(seeds), len(recorded))
    if "present" not in grp or not isinstance(grp["present"], h5py.Dataset):
        raise TableError(f"{path}: schedule {sname!r} has no 'present' array; {_REBUILD}")
    p = grp["present"]
    if p.shape != shape[:2] or p.dtype != np.bool_:
        raise TableError(f"{path}: {sname}/present is {p.dtype} {p.shape}, expected bool {shape[:2]}; "
                         f"{_REBUILD}")
    metrics = []
    for m in METRICS:
        if m not in grp:
            continue
        ds = grp[m]
        if not isinstance(ds, h5py.Dataset) or ds.shape != shape or ds.dtype.kind != "f":
            got = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
            raise TableError(f"{path}: {sname}/{m} is {got}, expected floats of shape {shape}; "
                             f"{_REBUILD}")
        metrics.append(m)
    if "valid_acc" not in metrics and "test_acc" not in metrics:
        raise TableError(f"{path}: schedule {sname!r} has no accuracy (valid_acc or test_acc); "
                         f"{_REBUILD}")
    return tuple(metrics)


def check_static_layout(h5, n_archs: int, path: str) -> None:
    import h5py

    grp = h5.get("static")
    if grp is None:
        return
    for m in STATIC_METRICS:
        if m in grp:
            ds = grp[m]
            if not isinstance(ds, h5py.Dataset) or ds.shape != (n_archs,) or ds.dtype.kind not in "fiu":
                got = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "a group"
                raise TableError(f"{path}: static/{m} is {got}, expected numbers of shape "
                                 f"({n_archs},); {_REBUILD}")


# --- values, checked on first read ---------------------------------------------------------------
def check_values(path: str, sname: str, metric: str, a: np.ndarray) -> None:
    """Ranges of one metric array: accuracies finite and >= 0, times finite and >= 0, losses not
    negative; NaN is allowed (missing, diverged, or a dataset without a validation split)."""
    where = f"{path}: {sname}/{metric}"
    with np.errstate(invalid="ignore"):
        if metric.endswith("_acc"):
            if np.isinf(a).any():
                raise TableError(f"{where} holds infinite values; {_REBUILD}")
            if (a < 0).any():  # not bounded above: published exports hold e.g. 100.495 (rounding)
                raise TableError(f"{where} holds negative accuracies (min {np.nanmin(a):g}); {_REBUILD}")
        elif metric.endswith("_time"):
            if np.isinf(a).any() or (a < 0).any():
                raise TableError(f"{where} holds negative or infinite times (min {np.nanmin(a):g}); "
                                 f"a cost must be finite and >= 0; {_REBUILD}")
        elif metric.endswith("_loss"):
            if (a < 0).any():
                raise TableError(f"{where} holds negative losses; {_REBUILD}")
