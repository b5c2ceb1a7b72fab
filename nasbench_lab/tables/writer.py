"""Writing a table: create the layout, fill it, seal it with per-array checksums and a content hash."""
from __future__ import annotations

import contextvars
import datetime as _dt
import hashlib
import json
import os
from contextlib import contextmanager

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.spaces import SearchSpace
from nasbench_lab.tables.schema import FORMAT, METRICS, SCHEMA_VERSION, STATIC_METRICS


def content_hash(h5, read=None) -> str:
    """The content hash of a table. Sealed per array (integrity.py): the root of the stored
    per-array checksums, each recomputed from the data here. Older tables: sha256 over every
    array in a fixed order (names, shapes and bytes). `read(name, dataset)`, if given, reads
    each array (the reader keeps what it verified)."""
    from nasbench_lab.tables import integrity

    if h5.attrs.get("hash_scheme") == integrity.HASH_SCHEME:
        return integrity.root_digest({n: integrity.array_digest(n, ds[()])
                                      for n, ds in integrity.datasets(h5).items()})
    h = hashlib.sha256()
    read = read or (lambda name, ds: ds[()])

    def feed(name, ds):
        a = np.ascontiguousarray(read(name, ds))
        if a.dtype.kind == "f":
            a = np.where(np.isnan(a), np.nan, a).astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())

    for sname in sorted(h5["schedules"]):
        grp = h5["schedules"][sname]
        for m in (*METRICS, "present"):
            if m in grp:
                feed(f"{sname}/{m}", grp[m])
    if "nb101" in h5:  # a space index stored in the table (NB101's sorted hashes and cells)
        for m in sorted(h5["nb101"]):
            feed(f"nb101/{m}", h5["nb101"][m])
    if "static" in h5:
        for m in sorted(h5["static"]):
            feed(f"static/{m}", h5["static"][m])
    return h.hexdigest()


_REPLACE_ANY = contextvars.ContextVar("nasbench_lab_replace_any_table", default=False)


@contextmanager
def replacing_allowed():
    """Within this block a writer may replace any file (`nasbench-lab import --force`)."""
    token = _REPLACE_ANY.set(True)
    try:
        yield
    finally:
        _REPLACE_ANY.reset(token)


def check_replace(path: str, *, space: str, dataset: str, provenance: dict) -> None:
    """Refuse to replace a file that is not an earlier version of the same table (same space,
    dataset and source): an unrelated table, a damaged one, or any other file is kept unless
    replacing is allowed (`replacing_allowed`, i.e. `import --force`)."""
    if not os.path.lexists(path) or _REPLACE_ANY.get():
        return
    from nasbench_lab.tables.table import Table, TableError

    if os.path.isdir(path):
        raise NasbenchError(f"{path} is a directory; give a table file name ending in .h5")
    try:
        with Table(path) as t:
            same = (t.space.name == space and t.dataset == dataset
                    and t.provenance.get("source") == provenance.get("source"))
            what = f"a table of {t.space.name}/{t.dataset} from {t.provenance.get('source', 'a build')!r}"
    except TableError:
        same, what = False, "not a readable table"
    if not same:
        raise NasbenchError(f"{path} exists and is {what}; writing {space}/{dataset} would replace it: "
                            "give another --out, move it away, or pass --force to replace it")


class TableWriter:
    """Create a table file. Write to `path + '.tmp'`; `close()` seals and renames it, so a
    half-written table never sits at the final path."""

    def __init__(self, path: str | os.PathLike, *, name: str, space: SearchSpace, dataset: str,
                 provenance: dict | None = None, replace: bool = False):
        import h5py

        self.path = os.fspath(path)
        self.tmp = self.path + ".tmp"
        self.space = space
        self.n_archs = space.size
        if not replace:
            check_replace(self.path, space=space.name, dataset=dataset, provenance=provenance or {})
        try:
            self._h5 = h5py.File(self.tmp, "w")
        except OSError as e:
            raise NasbenchError(f"cannot write the table {self.path} ({str(e).splitlines()[0]}): is the "
                                "folder writable, or is another process writing this table?") from None
        a = self._h5.attrs
        a["format"] = FORMAT
        a["schema_version"] = SCHEMA_VERSION
        a["name"] = name
        a["space"] = space.name
        a["dataset"] = dataset
        a["n_archs"] = self.n_archs
        a["provenance"] = json.dumps(provenance or {}, sort_keys=True)
        a["software_version"] = f"nasbench_lab {__version__}"
        a["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self._h5.create_group("schedules")
        self._h5.create_group("static")

    def add_schedule(self, name: str, *, epochs: int, recorded_epochs, seeds, metrics=METRICS,
                     protocol: dict | None = None) -> None:
        grp = self._h5["schedules"].create_group(str(name))
        rec = np.asarray(list(recorded_epochs), dtype=np.int32)
        if rec.size == 0 or np.any(np.diff(rec) <= 0) or rec[0] < 1 or rec[-1] > epochs:
            raise ValueError(f"recorded_epochs must increase within 1..{epochs}")
        grp.attrs["epochs"] = int(epochs)
        grp.attrs["recorded_epochs"] = rec
        grp.attrs["seeds"] = json.dumps([str(s) for s in seeds])
        grp.attrs["protocol"] = json.dumps(protocol or {}, sort_keys=True)
        shape = (self.n_archs, len(seeds), rec.size)
        chunks = (min(self.n_archs, max(1, 65536 // max(1, len(seeds) * rec.size))), len(seeds), rec.size)
        for m in metrics:
            if m not in METRICS:
                raise ValueError(f"unknown metric {m!r}; valid: {', '.join(METRICS)}")
            grp.create_dataset(m, shape=shape, dtype="f4", fillvalue=np.nan, chunks=chunks,
                               compression="gzip", compression_opts=4, shuffle=True, fletcher32=True)
        grp.create_dataset("present", shape=shape[:2], dtype=bool, fillvalue=False, fletcher32=True)

    def write(self, schedule: str, metric: str, values: np.ndarray) -> None:
        """Write a whole [arch, seed, epoch] array of one metric."""
        self._h5["schedules"][schedule][metric][...] = values

    def write_rows(self, schedule: str, arch_indices, seed_col: int, metrics: dict) -> None:
        """Write per-epoch curves of one seed for some architectures and mark them present."""
        grp = self._h5["schedules"][schedule]
        idx = np.asarray(arch_indices, dtype=np.int64)
        order = np.argsort(idx)
        idx = idx[order]
        for m, v in metrics.items():
            grp[m][idx, seed_col, :] = np.asarray(v, dtype=np.float32)[order]
        p = grp["present"][()]
        p[idx, seed_col] = True
        grp["present"][...] = p

    def set_present(self, schedule: str, present: np.ndarray) -> None:
        self._h5["schedules"][schedule]["present"][...] = present

    def set_built_on(self, schedule: str, codes: np.ndarray, machines: list[str]) -> None:
        """Which machine trained each (arch, seed) entry: `codes` [n_archs, n_seeds] index
        `machines` (-1: not trained, or not recorded)."""
        grp = self._h5["schedules"][schedule]
        codes = np.asarray(codes, dtype=np.int16)
        if codes.shape != grp["present"].shape or codes.min(initial=-1) < -1 \
                or codes.max(initial=-1) >= len(machines):
            raise ValueError(f"built_on must be {grp['present'].shape} codes in -1..{len(machines) - 1}")
        grp.attrs["machines"] = json.dumps([str(m) for m in machines])
        grp.create_dataset("built_on", data=codes, compression="gzip", compression_opts=4, fletcher32=True)

    def set_time_scale(self, schedule: str, scale: np.ndarray, account: dict) -> None:
        """Per-entry factors that put the measured times on one machine's scale
        (tables/calibration.py), applied on read; `account` describes the fit."""
        grp = self._h5["schedules"][schedule]
        from nasbench_lab.tables.calibration import MAX_FACTOR

        scale = np.asarray(scale, dtype=np.float32)
        if scale.shape != grp["present"].shape or not np.isfinite(scale).all() \
                or (scale < np.float32(1 / MAX_FACTOR)).any() or (scale > MAX_FACTOR).any():
            raise ValueError(f"time_scale must be {grp['present'].shape} factors within "
                             f"1/{MAX_FACTOR:g}..{MAX_FACTOR:g}")
        grp.attrs["time_calibration"] = json.dumps(account, sort_keys=True)
        grp.create_dataset("time_scale", data=scale, compression="gzip", compression_opts=4, fletcher32=True)

    def set_static(self, metric: str, values: np.ndarray) -> None:
        if metric not in STATIC_METRICS:
            raise ValueError(f"unknown static metric {metric!r}; valid: {', '.join(STATIC_METRICS)}")
        self._h5["static"].create_dataset(metric, data=np.asarray(values, dtype=np.float64), fletcher32=True)

    def close(self) -> str:
        """Seal: a checksum per array and the content hash over them (integrity.py), close, and
        move into place. Returns the hash."""
        from nasbench_lab.tables.integrity import seal

        digest = seal(self._h5)
        self._h5.close()
        os.replace(self.tmp, self.path)
        return digest

    def abort(self) -> None:
        try:
            self._h5.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
