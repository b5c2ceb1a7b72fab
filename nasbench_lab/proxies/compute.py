"""Computing the proxies of every distinct cell of a table, journalled (kill -9 safe) and resumable.

Each finished (cell, init seed) is written at once to its own file in a journal folder next
to the table (`TABLE.proxies.parts/`) by an atomic rename, so a run killed at any moment
loses only the cells in flight; rerunning the same command skips what the journal holds and
then writes the proxies into the table (`proxy_store.write_into`: a copy replaces the file
atomically; the table's content hash is unchanged). Proxies already in the table are moved
into the journal first, so more seeds extend them and nothing computed is lost.

Cells trained in the table come first (in build.py's fixed pseudo-random order), then the
others, so a partial run covers a uniform sample of what can be evaluated.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError, __version__
from nasbench_lab.outpaths import LOCK_NAME, exclusive
from nasbench_lab.parallel import parallel_map
from nasbench_lab.spaces import get_space

#: The minibatch: training signals only (a proxy never sees validation or test labels),
#: drawn per init seed; the zero-cost-proxies paper's default batch size.
DEFAULT_BATCH_SIZE = 64
BATCH_STREAM = 0x50C5
LIVE_DATASETS = ("mnist1d", "digits")
META = "proxies.json"


def table_protocol(table):
    """The live-backend protocol that built `table` (its default schedule's), or a one-line error."""
    from nasbench_lab.live.protocol import Protocol

    sch = table.schedule(None)
    p = dict(sch.protocol)
    if p.get("dataset") not in LIVE_DATASETS or table.space.name not in ("nb201", "nb201-3ops"):
        raise NasbenchError(f"{table.path} was not built by the live backend (space {table.space.name}, "
                            f"dataset {p.get('dataset', table.dataset)!r}), so its training data is not here: "
                            "proxies need the data and the networks (the built-in mnist1d tables have them)")
    try:
        return Protocol.from_dict(p)
    except TypeError as e:
        raise NasbenchError(f"{table.path}: its protocol is not one this version knows ({e})") from None


def setting_of(protocol, batch_size: int) -> dict:
    """Everything that fixes what a stored proxy value means (the seeds apart)."""
    from nasbench_lab.proxies.scores import PROXIES

    return {"protocol": protocol.to_dict(), "batch_size": int(batch_size), "names": list(PROXIES),
            "batch": f"training split, {batch_size} signals drawn without replacement by "
                     f"numpy default_rng([init_seed, {BATCH_STREAM:#x}])",
            "network": "the protocol's NB201 network, float64, train mode, initial weights of the init seed",
            "timing": "CPU seconds of one thread (time.thread_time) per proxy, network construction included",
            "definitions": "nasbench_lab/proxies/scores.py (Abdelfattah et al. 2021; Mellor et al. 2021)"}


def make_batch(data, seed: int, batch_size: int):
    from nasbench_lab.proxies.scores import Batch

    n = len(data.train)
    if not 2 <= batch_size <= n:
        raise NasbenchError(f"--batch-size must be in 2..{n} (the training split), got {batch_size}")
    idx = np.sort(np.random.default_rng([int(seed), BATCH_STREAM]).choice(n, batch_size, replace=False))
    x = np.ascontiguousarray(np.take(data.train.x, idx, axis=-2), dtype=np.float64)
    return Batch(x, data.train.y[idx].copy())


def score_cell(key: str, arch_index: int, space_name: str, protocol_dict: dict, seeds: list,
               batch_size: int) -> list[dict]:
    """Every proxy of one cell for each init seed (in a worker process, one BLAS thread)."""
    from threadpoolctl import threadpool_limits

    from nasbench_lab.live.data import load_data
    from nasbench_lab.live.network import Network
    from nasbench_lab.live.protocol import Protocol
    from nasbench_lab.proxies.scores import PROXIES

    space = get_space(space_name)
    arch = space.from_index(arch_index)
    arch = space.to_nb201(arch) if hasattr(space, "to_nb201") else arch
    protocol = Protocol.from_dict(protocol_dict)
    data = load_data(protocol)
    out = []
    with threadpool_limits(limits=1), np.errstate(all="ignore"):
        for seed in seeds:
            batch = make_batch(data, seed, batch_size)

            def make_net(seed=seed):
                return Network(arch, C=protocol.channels, N=protocol.cells_per_stage,
                               in_channels=data.in_channels, n_classes=data.n_classes, ndim=data.ndim,
                               seed=seed, dtype=np.float64)
            scores, seconds = [], []
            for fn in PROXIES.values():
                t = time.thread_time()
                try:
                    v = fn(make_net, batch)
                except np.linalg.LinAlgError:
                    v = float("nan")
                seconds.append(time.thread_time() - t)
                scores.append(v)
            out.append({"key": key, "seed": int(seed), "scores": np.array(scores), "seconds": np.array(seconds)})
    return out


# --- the journal ---------------------------------------------------------------------------------
def journal_of(table_path: Path) -> Path:
    return table_path.with_name(table_path.name + ".proxies.parts")


def _part_name(key: str, seed: int) -> str:
    return f"{hashlib.sha1(key.encode()).hexdigest()[:16]}-s{seed}.npz"


def _write_part(parts: Path, r: dict) -> None:
    path = parts / _part_name(r["key"], r["seed"])
    tmp = parts / f".{path.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, key=np.array(r["key"]), seed=np.int64(r["seed"]), scores=np.asarray(r["scores"], np.float64),
                 seconds=np.asarray(r["seconds"], np.float64))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_part(path: Path, key: str, seed: int, n_proxies: int) -> dict:
    try:
        with np.load(path) as z:
            r = {k: z[k] for k in z.files}
        ok = str(r["key"]) == key and int(r["seed"]) == seed
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise NasbenchError(f"journal entry {path} is damaged ({type(e).__name__}); delete it and rerun") from None
    if not ok or r["scores"].shape != (n_proxies,) or r["seconds"].shape != (n_proxies,):
        raise NasbenchError(f"journal entry {path} does not fit this run (another cell or another set of "
                            "proxies); delete it and rerun")
    return r


def _check_meta(parts: Path, setting: dict, replace: bool) -> list[int]:
    """The journal's setting must be this run's (else refused, or cleared with --replace); returns
    the seeds it already holds."""
    meta = parts / META
    if not meta.exists():
        if any(parts.glob("*.npz")) and not replace:
            raise NasbenchError(f"{parts} holds entries but no {META}; delete that folder and rerun")
        return []
    try:
        old = json.loads(meta.read_text())
        same = old["setting"] == setting
        seeds = [int(s) for s in old["seeds"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NasbenchError(f"{meta} is damaged ({e}); delete {parts} and rerun") from None
    if same:
        return seeds
    if not replace:
        raise NasbenchError(f"{parts} holds proxies computed with another setting (batch size "
                            f"{old['setting'].get('batch_size')}, or another version's proxies); rerun with "
                            "that --batch-size, or pass --replace to discard them")
    for p in parts.glob("*.npz"):
        p.unlink()
    meta.unlink()
    return []


def _take_in_table(table, parts: Path, setting: dict, plan, replace: bool) -> tuple[int, list[int]]:
    """Move the proxies already in the table into the journal; returns (entries moved, their seeds)."""
    ps = table.proxies()
    if ps is None:
        return 0, []
    from nasbench_lab.proxies.scores import PROXIES

    if {k: v for k, v in ps.info.setting.items() if k != "software_version"} != setting \
            or list(ps.names) != list(PROXIES):
        if replace:
            return 0, []
        raise NasbenchError(f"{table.path} holds proxies computed with another setting (batch size "
                            f"{ps.info.setting.get('batch_size')}, proxies {', '.join(ps.names)}); rerun with "
                            "that --batch-size, or pass --replace to recompute them")
    n = 0
    seeds = [int(s) for s in ps.info.seeds]
    for k in plan.keys:
        i = plan.representative[k]
        for c, s in enumerate(seeds):
            if ps.present[i, c] and not (parts / _part_name(k, s)).exists():
                _write_part(parts, {"key": k, "seed": s, "scores": ps.scores[i, c], "seconds": ps.seconds[i, c]})
                n += 1
    return n, seeds


def cell_order(table, plan) -> list[str]:
    """Trained cells first, then the rest, each in build.py's fixed pseudo-random order."""
    from nasbench_lab.tables.build import _shuffled_order

    trained = table.present(table.default_schedule).any(1)
    return sorted(plan.keys, key=lambda k: (not trained[plan.representative[k]], _shuffled_order(k)))


def compute_proxies(table_path, *, seeds=(0, 1, 2), batch_size: int = DEFAULT_BATCH_SIZE, workers: int = 1,
                    max_cells: int | None = None, replace: bool = False, trained_only: bool = False,
                    log=print) -> dict:
    """Compute what is missing (`trained_only`: only for the cells the table holds a training of),
    then write every journalled proxy into the table. Returns a summary."""
    from nasbench_lab.tables.build import check_seeds_and_limit
    from nasbench_lab.tables.table import Table

    seeds = list(seeds)
    check_seeds_and_limit(seeds, max_cells)
    table_path = Path(table_path)
    with Table(table_path) as t:  # one-line errors for a missing or bad table
        protocol = table_protocol(t)
        space = t.space.name
    from nasbench_lab.live.data import load_data

    make_batch(load_data(protocol), 0, batch_size)  # checks --batch-size
    parts = journal_of(table_path)
    if parts.exists() and not parts.is_dir():
        raise NasbenchError(f"{parts} (the proxies' journal) is a file; move it away")
    try:
        parts.mkdir(exist_ok=True)
    except OSError as e:
        raise NasbenchError(f"cannot create the journal {parts}: {e.strerror}") from None
    with exclusive(parts / LOCK_NAME, f"the proxies of {table_path}"):
        return _compute(table_path, parts, protocol, space, seeds, batch_size, workers, max_cells, replace,
                        trained_only, log)


def _compute(table_path, parts, protocol, space, seeds, batch_size, workers, max_cells, replace, trained_only,
             log) -> dict:
    from nasbench_lab.tables.build import make_plan
    from nasbench_lab.tables.table import Table

    setting = setting_of(protocol, batch_size)
    plan = make_plan(get_space(space), [0])
    journal_seeds = _check_meta(parts, setting, replace)
    with Table(table_path) as t:
        moved, table_seeds = _take_in_table(t, parts, setting, plan, replace)
        order = cell_order(t, plan)
        if trained_only:
            trained = t.present(t.default_schedule).any(1)
            order = [k for k in order if trained[plan.representative[k]]]
    all_seeds = sorted(set(seeds) | set(journal_seeds) | set(table_seeds))
    (parts / META).write_text(json.dumps({"setting": setting, "seeds": all_seeds}, sort_keys=True))
    todo = []
    for k in order:
        missing = [s for s in seeds if not (parts / _part_name(k, s)).exists()]
        if missing:
            todo.append((k, missing))
    n_cells = len(todo)
    if max_cells is not None:
        todo = todo[:max_cells]
    log(f"proxies {table_path.name}: {len(plan.keys)} distinct cells x {len(seeds)} init seeds; "
        f"{len(plan.keys) - n_cells} cells complete{f' ({moved} entries taken from the table)' if moved else ''}, "
        f"{len(todo)} to compute now")
    t0 = time.perf_counter()
    pdict = protocol.to_dict()
    calls = [(k, plan.representative[k], space, pdict, ms, batch_size) for k, ms in todo]
    step = max(1, len(todo) // 50)
    for n, res in enumerate(parallel_map(score_cell, calls, workers), 1):
        for r in res:
            _write_part(parts, r)
        if n % step == 0 or n == len(todo):
            el = time.perf_counter() - t0
            log(f"  {n}/{len(todo)} cells, {el / 60:.1f} min elapsed, ETA {el / n * (len(todo) - n) / 60:.1f} min")
    summary = assemble(table_path, parts, plan, setting, all_seeds)
    summary.update(new_cells=len(todo), wall_seconds=round(time.perf_counter() - t0, 2))
    log(f"wrote the proxies of {summary['cells_done']}/{summary['cells']} cells ({summary['entries']} "
        f"cell-seeds) into {table_path}; proxies hash {summary['proxies_hash'][:12]}")
    return summary


def assemble(table_path: Path, parts: Path, plan, setting: dict, seeds: list[int]) -> dict:
    """Write every journalled entry into the table; every index of a key gets that key's entry."""
    from nasbench_lab.tables import proxy_store

    names = setting["names"]
    n, S, P = plan.space.size, len(seeds), len(names)
    scores = np.full((n, S, P), np.nan)
    seconds = np.full((n, S, P), np.nan)
    present = np.zeros((n, S), dtype=bool)
    entries = cells_done = 0
    for k in plan.keys:
        idx = plan.members[k]
        got = 0
        for c, s in enumerate(seeds):
            p = parts / _part_name(k, s)
            if not p.exists():
                continue
            r = _read_part(p, k, s, P)
            scores[idx, c], seconds[idx, c], present[idx, c] = r["scores"], r["seconds"], True
            got += 1
        entries += got
        cells_done += got > 0
    stored = dict(setting, software_version=__version__)
    root = proxy_store.write_into(table_path, names=names, seeds=seeds, setting=stored, scores=scores,
                                  seconds=seconds, present=present)
    reps = [plan.representative[k] for k in plan.keys]  # per distinct cell, not per index
    pr = present[reps]
    mean_sec = {nm: float(seconds[reps, :, j][pr].mean()) if pr.any() else None for j, nm in enumerate(names)}
    return {"cells": len(plan.keys), "cells_done": cells_done, "entries": entries, "seeds": seeds,
            "proxies_hash": root, "mean_seconds": mean_sec}
