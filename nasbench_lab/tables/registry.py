"""Built-in tables: found by name in $NASBENCH_LAB_TABLES, the package data, the repository's
datasets/ (a source checkout), or <prefix>/share/nasbench_lab/tables (where an installed wheel
puts the built-in table)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from nasbench_lab import NasbenchError

_PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
_REPO_DATASETS = Path(__file__).resolve().parent.parent.parent / "datasets"
_INSTALLED_TABLES = Path(sys.prefix) / "share" / "nasbench_lab" / "tables"


def table_dirs() -> list[Path]:
    dirs = []
    extra = os.environ.get("NASBENCH_LAB_TABLES")
    if extra:
        dirs += [Path(p) for p in extra.split(os.pathsep) if p]
    dirs += [_PACKAGE_DATA, _REPO_DATASETS, _INSTALLED_TABLES]
    return [d for d in dirs if d.is_dir()]


def builtin_tables() -> dict[str, Path]:
    """name -> path of every table file found in the table directories (first one wins)."""
    found: dict[str, Path] = {}
    for d in table_dirs():
        for p in sorted(d.glob("*.h5")):
            found.setdefault(p.stem, p)
    return found


def resolve_table(name_or_path) -> Path:
    p = Path(os.fspath(name_or_path))
    if p.suffix == ".h5" or os.sep in str(name_or_path) or p.exists():
        return p
    tables = builtin_tables()
    if str(name_or_path) in tables:
        return tables[str(name_or_path)]
    valid = ", ".join(sorted(tables)) or "(none installed)"
    raise NasbenchError(f"unknown table {str(name_or_path)!r}: give a path to a .h5 table or one of: "
                        f"{valid}")
