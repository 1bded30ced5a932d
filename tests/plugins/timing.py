"""Per-variant timings: tests record how long each step took, and the run ends with a table."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

Timed = Callable[[str], AbstractContextManager[None]]
_PREFIX = "seconds:"


@pytest.fixture
def timed(record_property: Callable[[str, object], None], request: pytest.FixtureRequest) -> Timed:
    """`with timed("mypy"): ...` records the step's duration against the test's variant."""
    callspec = getattr(request.node, "callspec", None)
    variant = callspec.params.get("variant") if callspec else None
    record_property("variant", variant.id if variant else request.node.name)

    @contextmanager
    def step(name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            record_property(_PREFIX + name, time.perf_counter() - start)

    return step


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for reports in terminalreporter.stats.values():
        for report in reports:
            # Setup, call and teardown reports each carry the properties recorded so far; only
            # the teardown report has them all, once.
            if getattr(report, "when", None) != "teardown":
                continue
            properties = dict(report.user_properties)
            if "variant" not in properties:
                continue
            for key, value in properties.items():
                if key.startswith(_PREFIX):
                    table[properties["variant"]][key.removeprefix(_PREFIX)] += value
    if not table:
        return
    steps = sorted({step for row in table.values() for step in row})
    width = max(len(variant) for variant in table)
    terminalreporter.section("seconds per variant")
    header = f"{'variant':<{width}} " + " ".join(f"{step:>9}" for step in [*steps, "total"])
    terminalreporter.write_line(header)
    for variant, row in sorted(table.items(), key=lambda item: -sum(item[1].values())):
        cells = [row.get(step, 0.0) for step in steps] + [sum(row.values())]
        terminalreporter.write_line(f"{variant:<{width}} " + " ".join(f"{c:9.1f}" for c in cells))
