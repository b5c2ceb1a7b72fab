"""The grade's report (what passed, what failed and a hint why) and the hints for common mistakes.

The report lives only in the grading process: the graded code runs in another process
(sandbox.py) and cannot reach it, so `ok` is what the grader's own checks found.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

@dataclass
class Item:
    section: str
    name: str
    status: str          # "pass", "fail", "skip"
    detail: str = ""
    hint: str = ""


@dataclass
class GradeReport:
    exercise: str
    folder: str
    items: list = field(default_factory=list)
    wall_seconds: float = 0.0
    stopped: str = ""    # why grading stopped early, if it did

    @property
    def failures(self) -> list:
        return [i for i in self.items if i.status == "fail"]

    @property
    def ok(self) -> bool:
        return bool(self.items) and not self.failures

    def add(self, section, name, status, detail="", hint="") -> Item:
        it = Item(section, name, status, detail, hint)
        self.items.append(it)
        return it

    def to_dict(self) -> dict:
        return {"exercise": self.exercise, "folder": self.folder, "passed": self.ok,
                "wall_seconds": round(self.wall_seconds, 2), "stopped": self.stopped,
                "items": [asdict(i) for i in self.items]}

    def __str__(self) -> str:
        icon = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
        lines = [f"Grading exercise {self.exercise!r} in {self.folder}", ""]
        section = None
        last_hint = None
        for it in self.items:
            if it.section != section:
                section = it.section
                n = [i for i in self.items if i.section == section]
                nf = sum(i.status == "fail" for i in n)
                state = (f"{nf} of {len(n)} FAILED" if nf else
                         "all passed" if any(i.status == "pass" for i in n) else "skipped")
                lines.append(f"== {section}: {state}")
            lines.append(f"  {icon[it.status]}  {it.name}")
            for ln in it.detail.splitlines() if it.detail else []:
                lines.append("        " + ln)
            if it.hint and it.status == "fail" and it.hint == last_hint:
                lines.append("        hint: as above")
            elif it.hint and it.status == "fail":
                last_hint = it.hint
                for k, ln in enumerate(it.hint.splitlines()):
                    lines.append(("        hint: " if k == 0 else "              ") + ln)
        if self.stopped:
            lines += ["", f"Grading stopped early: {self.stopped}"]
        lines.append("")
        n_pass = sum(i.status == "pass" for i in self.items)
        if self.ok:
            lines.append(f"RESULT: PASSED, all {n_pass} checks ({self.wall_seconds:.1f} s). Well done!")
        else:
            lines.append(f"RESULT: NOT YET, {len(self.failures)} check(s) failed, {n_pass} passed "
                         f"({self.wall_seconds:.1f} s). Read the hints above, fix, and grade again.")
        return "\n".join(lines)


# ============================================================================ helpers


def describe(exc: BaseException) -> str:
    """One line for what went wrong running student code: 'Type: message (at file line N: code)'
    for its own exception, the sandbox's sentence for a hang or an ended process."""
    from nasbench_lab.exercises.sandbox import SandboxError, StudentError

    if isinstance(exc, StudentError):
        return f"{exc.type_name}: {exc}{exc.where}"
    if isinstance(exc, SandboxError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def hint_for(message: str) -> str:
    """A hint for common mistakes, recognised from an error message."""
    m = message
    if "process running your code" in m or "tried to end the process" in m:
        return ("Your code runs in a process of its own: never call sys.exit(), exit() or os._exit() and "
                "do not kill or signal processes; raise an exception (or return None from ask()) instead.")
    if "time limit" in m and "whole grade" in m:
        return ("Every call into your code must return: look for a loop that never ends (at the top level "
                "of the file, in __init__, ask() or tell()); --time-limit gives the grade more time.")
    if "has no attribute 'test" in m or "has no attribute \"test" in m:
        return ("Observations carry no test metrics, on purpose: a search may only use what a researcher "
                "sees during the search (training and validation results). Test accuracy is only for the "
                "final report; choosing by it is cheating the benchmark. Use obs.valid_acc.")
    if "Table." in m and "strategies must not read tables" in m:
        return ("Do not open the table from a strategy: everything it may use comes in the Observations "
                "given to tell().")
    if "NotImplementedError" in m or "is not written yet" in m:
        return "That part of the skeleton is still a TODO: write it (TASK.md says what it must do)."
    if "random state" in m or "np.random" in m:
        return ("Use only self.rng, the numpy Generator the strategy was given (self.rng.integers, "
                "self.rng.choice, self.rng.random, self.space.sample(self.rng)); never np.random.* "
                "functions or the random module: they make runs irreproducible.")
    if "differ" in m and ("same seed" in m or "fresh process" in m):
        return ("Same seed, same run: draw every random number from self.rng and do not iterate over a "
                "set of strings (its order changes between processes; sort it or use a list).")
    if "pickl" in m:
        return "Keep only plain, picklable state in the strategy (lists, dicts, numpy arrays, self.rng)."
    if "did not finish" in m or "hang" in m or "without the run ending" in m:
        return ("ask() must return None when nothing is left to ask; a loop that waits for an unseen "
                "architecture never ends once all have been seen.")
    if "SpaceError" in m or "space" in m and "never NB201" in m:
        return ("Build architectures with self.space (sample, make, n_decisions, n_options); the checks "
                "run on other spaces too.")
    return ""


CHECK_HINTS = {
    "check_parameters_documented": "Keep `name`, `defaults` and the docstring that lists each parameter; "
                                   "call super().__init__(context, rng, **params).",
    "check_query_budget_exact": "ask() should return None only when nothing is left to ask.",
    "check_no_duplicate_payment": "Record the canonical key (self.space.canonical_key(arch)) of every "
                                  "queried cell, never ask for a cell whose key you have; return None "
                                  "once every distinct cell has been queried.",
    "check_terminates_tiny_space": "On a tiny space every cell is soon queried: ask() must then return "
                                   "None instead of looping forever.",
    "check_incumbent_monotone": "Treat a NaN valid_acc (failed training) as the worst result (score(obs)).",
    "check_nan_observations": "Treat a NaN valid_acc (failed training) as the worst result (score(obs)).",
}

