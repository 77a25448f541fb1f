"""The `sometimes` conditions of a whole pytest session under `--testkit-explore`: each must
hold in some iteration of some test, as a campaign judges them, not each test on its own (a
condition in shared actor code is reached by one scenario, not by every test using the actor)."""

from __future__ import annotations

from dataclasses import dataclass, field

from testkit._reporting.report import Report


@dataclass
class _Name:
    held: int = 0
    iterations: int = 0
    tests: list[str] = field(default_factory=list)


@dataclass
class SometimesTally:
    """Per `sometimes` name: the iterations where it held, out of how many, in which tests."""

    names: dict[str, _Name] = field(default_factory=dict)

    def add(self, report: Report, test: str) -> None:
        """Count one test's exploration."""
        for name, held in report.sometimes.items():
            tally = self.names.setdefault(name, _Name())
            tally.held += held
            tally.iterations += report.iterations
            tally.tests.append(test)

    def never_happened(self) -> list[str]:
        """One line per name that held in no iteration of any test, naming where it was used."""
        lines = []
        for name, tally in sorted(self.names.items()):
            if tally.held:
                continue
            where = ", ".join(tally.tests[:3]) + (" ..." if len(tally.tests) > 3 else "")
            lines.append(
                f"sometimes {name!r} never happened in {tally.iterations} iteration(s) of "
                f"{len(tally.tests)} test(s) ({where})"
            )
        return lines
