"""What a results directory must look like before its runs are reused or reported.

Kept apart from the store (results.py), which calls these functions, so that any store that
replaces it keeps the same guarantees:
- runs without the configuration that made them (config.json deleted) are refused, never
  relabelled with the configuration of the command now running;
- a run file whose name, metadata or trajectory does not fit (odd names, `meta.run`
  missing, another seed, another table content, wrong JSON types) is one line of error
  naming the file, never a traceback further down;
- a run is bound to the table content it was made on: its `meta.table_hash` must be the
  content hash the directory's configuration holds for that table.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError

RUN_FILE = re.compile(r"run-(\d{5})\.json")
TRAJECTORY_FIELDS = ("time", "arch", "epoch", "cost", "valid", "incumbent", "incumbent_valid",
                     "incumbent_test")
INT_FIELDS = ("arch", "epoch", "incumbent")
_FIX = "delete it and rerun the same command to redo that run"


def check_runs_have_config(directory, config_name: str = "config.json") -> None:
    """Refuse a directory that holds runs but no configuration (it cannot say what made them)."""
    d = Path(directory)
    runs = d / "runs"
    if (d / config_name).exists() or not runs.is_dir():
        return
    if any(p.is_file() for p in runs.rglob("*")):
        raise NasbenchError(f"{d} holds runs but no {config_name}, so nothing says which configuration "
                            f"made them; restore {config_name} or use a new --out DIR (nothing was "
                            "overwritten)")


def run_index(path) -> int:
    """The run index in a run file's name (run-NNNNN.json); one-line error for any other name."""
    p = Path(path)
    m = RUN_FILE.fullmatch(p.name)
    if not m:
        raise NasbenchError(f"{p} is not a run file name (run-NNNNN.json); move it out of {p.parent}")
    return int(m.group(1))


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_run(d, path, *, table: str, strategy: str, config: dict | None) -> None:
    """Check one stored run (its JSON object) against where it lies and the configuration."""
    p = Path(path)
    run = run_index(p)
    if not isinstance(d, dict):
        raise NasbenchError(f"{p} is damaged (a JSON {type(d).__name__}, not an object); {_FIX}")
    extra = sorted(set(d) - {"meta", *TRAJECTORY_FIELDS})
    missing = sorted({"meta", *TRAJECTORY_FIELDS} - set(d))
    if extra or missing:
        what = "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                     f"unknown {', '.join(extra)}" if extra else "") if x)
        raise NasbenchError(f"{p} is damaged ({what}); {_FIX}")
    meta = d["meta"]
    if not isinstance(meta, dict):
        raise NasbenchError(f"{p} is damaged (meta is a {type(meta).__name__}, not an object); {_FIX}")
    for key, ok in (("run", _is_int), ("seed", _is_int), ("strategy", lambda v: isinstance(v, str)),
                    ("table", lambda v: isinstance(v, str))):
        if key not in meta or not ok(meta[key]):
            raise NasbenchError(f"{p} is damaged (meta.{key} is {'missing' if key not in meta else repr(meta[key])}); "
                                f"{_FIX}")
    if meta["run"] != run or meta["table"] != table or meta["strategy"] != strategy:
        raise NasbenchError(f"{p} holds run {meta['run']} of {meta['strategy']!r} on {meta['table']!r}, not "
                            f"run {run} of {strategy!r} on {table!r}: it is mislabelled; {_FIX}")
    n = None
    for k in TRAJECTORY_FIELDS:
        col = d[k]
        if not isinstance(col, list) or any(isinstance(v, (bool, str)) or v is None for v in col):
            raise NasbenchError(f"{p} is damaged ({k} is not a list of numbers); {_FIX}")
        if n is None:
            n = len(col)
        elif len(col) != n:
            raise NasbenchError(f"{p} is damaged (trajectory columns of different lengths); {_FIX}")
        if k in INT_FIELDS and not all(_is_int(v) for v in col):
            raise NasbenchError(f"{p} is damaged ({k} holds non-integers); {_FIX}")
    if config is not None:
        check_run_fits_config(meta, p, config)


#: the fields of a run's meta that `check_run_fits_config` reads (nothing else)
RUN_CONFIG_FIELDS = ("seed", "budget_seconds", "budget_queries", "table", "table_hash", "report_table_hash")


def check_run_fits_config(meta: dict, path, config: dict) -> None:
    """A run's seed, budget and table content must be those of the directory's configuration."""
    p = Path(path)
    if "seed" in config and meta.get("seed") != config["seed"]:
        raise NasbenchError(f"{p} was made with seed {meta.get('seed')}, but {p.parents[3]} holds runs of "
                            f"seed {config['seed']}; {_FIX}")
    for key in ("budget_seconds", "budget_queries"):
        if key in config and key in meta and not _same(meta[key], config[key]):
            raise NasbenchError(f"{p} was made with {key} {meta[key]}, not {config[key]}; {_FIX}")
    info = (config.get("tables") or {}).get(meta.get("table"))
    want = info.get("content_hash") if isinstance(info, dict) else None
    if want and meta.get("table_hash") != want:
        got = str(meta.get("table_hash"))[:12] or "none"
        raise NasbenchError(f"{p} was made on another content of table {meta.get('table')!r} (hash {got}, "
                            f"the results are for {want[:12]}); {_FIX}")
    rinfo = config.get("report_table")
    if isinstance(rinfo, dict) and meta.get("report_table_hash") != rinfo.get("content_hash"):
        got = str(meta.get("report_table_hash") or "none")[:12]
        raise NasbenchError(f"{p} was reported on another report table (hash {got}), the results are for "
                            f"{rinfo.get('name')!r} ({str(rinfo.get('content_hash'))[:12]}); {_FIX}")


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    except (TypeError, ValueError):
        return a == b


#: what DIR/compare.json (the compare manifest) may hold, by key: the JSON types allowed
MANIFEST_TYPES = {"command": (str, type(None)), "tables": (list,), "strategies": (list,), "runs": (int,),
                  "metric": (str,), "test": (str,), "alpha": (int, float), "table_facts": (dict,),
                  "wall_seconds": (int, float, type(None)), "new_runs": (int,)}


def check_manifest(m, path) -> dict:
    """The compare manifest is an object whose known keys have their JSON types (a damaged
    one is one line of error, not a traceback in the report)."""
    if not isinstance(m, dict):
        raise NasbenchError(f"{path} is damaged (a JSON {type(m).__name__}, not an object); rerun the "
                            "compare command or delete it")
    for key, types in MANIFEST_TYPES.items():
        v = m.get(key)
        if v is not None and (not isinstance(v, types) or isinstance(v, bool)):
            raise NasbenchError(f"{path} is damaged ({key} is {v!r}); rerun the compare command or delete it")
    for key in ("tables", "strategies"):
        if not all(isinstance(x, str) for x in m.get(key) or []):
            raise NasbenchError(f"{path} is damaged ({key} must be names); rerun the compare command or delete it")
    if not all(isinstance(v, dict) for v in (m.get("table_facts") or {}).values()):
        raise NasbenchError(f"{path} is damaged (table_facts); rerun the compare command or delete it")
    from nasbench_lab.tables.resolution import problem

    for name, facts in (m.get("table_facts") or {}).items():
        bad = problem(facts.get("resolution"))
        if bad:
            raise NasbenchError(f"{path} is damaged (the resolution of table {name!r}: {bad}); rerun the "
                                "compare command or delete it")
    return m
