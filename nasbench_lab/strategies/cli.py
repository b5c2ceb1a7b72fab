"""`nasbench-lab strategies [REF ...] [--json]`: every strategy with its parameters, defaults and
one line of documentation (built-in, from installed packages' entry points, and any
`file.py:Class` / `module:Class` named on the command line)."""
from __future__ import annotations

import inspect
import json

HELP = "list the strategies: parameters, defaults, one line of documentation"


def describe(cls, origin: str) -> dict:
    doc = inspect.getdoc(cls) or ""
    return {"name": cls.name or cls.__name__, "class": f"{cls.__module__}.{cls.__qualname__}", "origin": origin,
            "params": dict(cls.defaults), "doc": doc.strip().split("\n\n")[0].replace("\n", " ")}


def strategy_rows(refs=()) -> list[dict]:
    from nasbench_lab.strategies import ENTRY_POINT_GROUP, _PLUGIN_ERRORS, get_strategy, strategy_names

    rows = []
    for name in strategy_names():
        cls = get_strategy(name)
        origin = "built-in" if cls.__module__.startswith("nasbench_lab.") else "registered"
        rows.append(describe(cls, origin))
    for name, err in sorted(_PLUGIN_ERRORS.items()):
        rows.append({"name": name, "origin": f"entry point ({ENTRY_POINT_GROUP})", "error": err})
    for ref in refs:
        rows.append(describe(get_strategy(ref), ref))
    return rows


def _value(v) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def cmd_strategies(args) -> int:
    rows = strategy_rows(args.refs)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<20} CANNOT BE LOADED ({r['origin']}): {r['error']}")
            continue
        params = ", ".join(f"{k}={_value(v)}" for k, v in r["params"].items()) or "(no parameters)"
        origin = "" if r["origin"] == "built-in" else f"  [{r['origin']}]"
        print(f"{r['name']:<20} {r['doc']}{origin}")
        print(f"{'':<20}   {params}")
    return 0


def register(sub) -> None:
    s = sub.add_parser("strategies", help=HELP, description="List every strategy (built-in, added by installed "
                       "packages through the entry-point group nasbench_lab.strategies, and any given here) "
                       "with its parameters, their defaults and the first paragraph of its documentation.")
    s.add_argument("refs", nargs="*", metavar="FILE.py:CLASS",
                   help="also describe these (path/to/file.py:ClassName or package.module:ClassName)")
    s.add_argument("--json", action="store_true", help="print one JSON list instead")
    s.set_defaults(func=cmd_strategies)
