"""What a conformance run reports: check failures and skips, per-check results, the readable report."""
from __future__ import annotations

from dataclasses import dataclass, field


class CheckFailure(AssertionError):
    """A conformance check failed; the message says what was expected and what happened."""


class CheckSkipped(Exception):
    """The check does not apply to this strategy (the message says why)."""


class ConformanceError(AssertionError):
    def __init__(self, report: "ConformanceReport"):
        super().__init__(str(report))
        self.report = report


@dataclass
class CheckResult:
    check: str
    status: str   # passed, failed, xfail (expected failure), xpass, skipped
    message: str = ""


@dataclass
class ConformanceReport:
    strategy: str
    results: list = field(default_factory=list)

    @property
    def failures(self) -> list:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        icon = {"passed": "PASS ", "failed": "FAIL ", "xfail": "XFAIL", "xpass": "XPASS", "skipped": "SKIP "}
        n_fail = len(self.failures)
        head = (f"conformance of strategy {self.strategy!r}: "
                + ("all checks passed" if not n_fail else f"{n_fail} of {len(self.results)} checks FAILED"))
        lines = [head]
        for r in self.results:
            lines.append(f"  {icon[r.status]} {r.check}")
            if r.message and r.status != "passed":
                lines.extend("        " + ln for ln in r.message.splitlines())
        return "\n".join(lines)
