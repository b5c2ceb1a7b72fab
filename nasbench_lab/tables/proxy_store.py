"""The proxies group of a table: its layout, its checksums, reading it, writing it into a table file.

/proxies/          attrs: names (JSON list of proxy names), seeds (JSON list of init-seed labels),
                          setting (JSON: protocol, batch size, software...), proxies_hash
    scores         [n_archs, n_seeds, n_proxies] float64: the score (NaN: not computed or
                   undefined, -inf allowed: e.g. naswot of a singular kernel)
    seconds        [n_archs, n_seeds, n_proxies] float64: CPU seconds its computation took
    present        [n_archs, n_seeds] bool: computed for this (arch, init seed)

The table's `content_hash` covers what a query reads (schedules, static metrics); the proxies
carry their own root hash `proxies_hash` over their per-array checksums (integrity.py's
scheme), so adding proxies to a table leaves every result bound to its content hash valid,
and a changed proxy array, checksum or root is refused like any other.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

import numpy as np

from nasbench_lab.tables import integrity
from nasbench_lab.tables.integrity import TableError
from nasbench_lab.tables.schema import PROXY_GROUP, SCHEMA_VERSION

ARRAYS = ("scores", "seconds", "present")
_REDO = "rerun `nasbench-lab proxies` on it"


@dataclass(frozen=True)
class ProxyInfo:
    """What the header says about a table's proxies (nothing read)."""

    names: tuple[str, ...]
    seeds: tuple[str, ...]
    setting: dict
    proxies_hash: str


@dataclass(frozen=True)
class ProxyScores:
    """The proxies of a table, verified."""

    info: ProxyInfo
    scores: np.ndarray
    seconds: np.ndarray
    present: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        return self.info.names

    def column(self, name: str) -> int:
        if name not in self.info.names:
            raise TableError(f"the table has no proxy {name!r}; it has: {', '.join(self.info.names)}")
        return self.info.names.index(name)

    def mean(self, name: str) -> np.ndarray:
        """[n_archs] the score averaged over the init seeds computed (NaN where none)."""
        s = self.scores[:, :, self.column(name)]
        n = self.present.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            tot = np.where(self.present, s, 0.0).sum(1)
            return np.where(n > 0, tot / np.maximum(n, 1), np.nan)

    def cost(self, name: str) -> np.ndarray:
        """[n_archs] mean CPU seconds of computing this proxy for one init seed."""
        s = self.seconds[:, :, self.column(name)]
        n = self.present.sum(1)
        with np.errstate(invalid="ignore"):
            return np.where(n > 0, np.where(self.present, s, 0.0).sum(1) / np.maximum(n, 1), np.nan)


def _digest_root(grp) -> tuple[dict, str]:
    digests = {f"{PROXY_GROUP}/{n}": integrity.array_digest(f"{PROXY_GROUP}/{n}", grp[n][()]) for n in ARRAYS}
    return digests, integrity.root_digest(digests)


def check_layout(h5, n_archs: int, path: str) -> ProxyInfo | None:
    """Shapes, dtypes and checksums-against-root of the proxies group (attributes only)."""
    import h5py

    grp = h5.get(PROXY_GROUP)
    if grp is None:
        return None
    if not isinstance(grp, h5py.Group):
        raise TableError(f"{path}: {PROXY_GROUP} is not a group; {_REDO}")
    names = integrity.json_attr(grp.attrs, "names", list, path, "[]")
    seeds = integrity.json_attr(grp.attrs, "seeds", list, path, "[]")
    setting = integrity.json_attr(grp.attrs, "setting", dict, path, "{}")
    root = integrity.text_attr(grp.attrs, "proxies_hash", path, "")
    if not names or not seeds or not all(isinstance(x, str) for x in names + seeds) \
            or len(set(names)) != len(names) or len(set(seeds)) != len(seeds):
        raise TableError(f"{path}: the proxies have bad names {names!r} or seeds {seeds!r}; {_REDO}")
    shape = (n_archs, len(seeds), len(names))
    for n, want, kind in (("scores", shape, "f"), ("seconds", shape, "f"), ("present", shape[:2], "b")):
        ds = grp.get(n)
        if not isinstance(ds, h5py.Dataset) or ds.shape != want or ds.dtype.kind != kind:
            got = f"{ds.dtype} {ds.shape}" if isinstance(ds, h5py.Dataset) else "missing"
            raise TableError(f"{path}: {PROXY_GROUP}/{n} is {got}, expected {want}; {_REDO}")
        if not isinstance(ds.attrs.get(integrity.DIGEST_ATTR), str):
            raise TableError(f"{path}: {PROXY_GROUP}/{n} has no checksum: the proxies were changed after "
                             f"they were sealed; {_REDO}")
    stored = {f"{PROXY_GROUP}/{n}": grp[n].attrs[integrity.DIGEST_ATTR] for n in ARRAYS}
    if not root or integrity.root_digest(stored) != root:
        raise TableError(f"{path}: the proxies' hash does not match their checksums: they were changed "
                         f"after they were sealed; {_REDO}")
    return ProxyInfo(tuple(names), tuple(seeds), setting, root)


def read(h5, info: ProxyInfo, path: str) -> ProxyScores:
    """Read and verify the three arrays (each against its checksum; values in range)."""
    arrays = {}
    for n in ARRAYS:
        name = f"{PROXY_GROUP}/{n}"
        try:
            a = h5[name][()]
        except (OSError, KeyError, RuntimeError) as e:
            raise TableError(f"{path}: cannot read {name} ({str(e).splitlines()[0]}); {_REDO}") from None
        if integrity.array_digest(name, a) != h5[name].attrs[integrity.DIGEST_ATTR]:
            raise TableError(f"{path}: {name} does not match its checksum: the proxies were changed after "
                             f"they were sealed; {_REDO}")
        arrays[n] = a
    sec = arrays["seconds"]
    with np.errstate(invalid="ignore"):
        if np.isinf(sec).any() or (sec < 0).any():
            raise TableError(f"{path}: {PROXY_GROUP}/seconds holds negative or infinite times; {_REDO}")
    if np.isnan(sec[arrays["present"]]).any():
        raise TableError(f"{path}: {PROXY_GROUP} marks entries computed that have no time; {_REDO}")
    return ProxyScores(info, arrays["scores"], sec, arrays["present"])


def write_into(path: str | os.PathLike, *, names, seeds, setting: dict, scores: np.ndarray,
               seconds: np.ndarray, present: np.ndarray) -> str:
    """Put a proxies group into the table at `path` (replacing one it has), migrated to this
    schema version: written into a copy that replaces the file atomically, so a reader or a
    crash never meets a half-written table. The table's content hash is unchanged. Returns
    the proxies' hash."""
    import h5py

    path = os.fspath(path)
    tmp = f"{path}.proxies.tmp"
    shutil.copyfile(path, tmp)
    try:
        with h5py.File(tmp, "r+") as h5:
            if PROXY_GROUP in h5:
                del h5[PROXY_GROUP]
            grp = h5.create_group(PROXY_GROUP)
            grp.attrs["names"] = json.dumps(list(names))
            grp.attrs["seeds"] = json.dumps([str(s) for s in seeds])
            grp.attrs["setting"] = json.dumps(setting, sort_keys=True)
            for n, a in (("scores", np.asarray(scores, np.float64)), ("seconds", np.asarray(seconds, np.float64)),
                         ("present", np.asarray(present, bool))):
                grp.create_dataset(n, data=a, compression="gzip", compression_opts=4, shuffle=True,
                                   fletcher32=True)
            digests, root = _digest_root(grp)
            for name, d in digests.items():
                h5[name].attrs[integrity.DIGEST_ATTR] = d
            grp.attrs["proxies_hash"] = root
            migrate(h5)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return root


def migrate(h5) -> None:
    """Schema 1 -> 2: version 2 adds the optional proxies group and changes nothing else, so
    a version-1 file is a version-2 file without proxies; the reader opens both as they are."""
    h5.attrs["schema_version"] = SCHEMA_VERSION
