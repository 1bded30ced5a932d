"""Per-variant timings: tests record how long each step took, and the run ends with a table.

The steps are the harness's (`render`, `update`, `sync`, `hooks`, ...); `suite` is the generated
project's own test suite, `uv run pytest` as its team runs it, so its column is that suite's wall
time per variant. Tests can also record counts (`tests`: how many tests the suite ran), which the
table shows after the total, in a column of their own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

_SECONDS = "seconds:"
_COUNT = "count:"


class Timed:
    """`with timed("hooks"): ...` records the step's duration against the test's variant;
    `timed.count("tests", 103)` records a count."""

    def __init__(self, record: Callable[[str, object], None]) -> None:
        self._record = record

    def __call__(self, name: str) -> AbstractContextManager[None]:
        return self._step(name)

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._record(_SECONDS + name, time.perf_counter() - start)

    def count(self, name: str, value: int) -> None:
        self._record(_COUNT + name, value)


@pytest.fixture
def timed(record_property: Callable[[str, object], None], request: pytest.FixtureRequest) -> Timed:
    callspec = getattr(request.node, "callspec", None)
    variant = callspec.params.get("variant") if callspec else None
    record_property("variant", variant.id if variant else request.node.name)
    return Timed(record_property)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for reports in terminalreporter.stats.values():
        for report in reports:
            # Setup, call and teardown reports each carry the properties recorded so far; only
            # the teardown report has them all, once.
            if getattr(report, "when", None) != "teardown":
                continue
            properties = dict(report.user_properties)
            if "variant" not in properties:
                continue
            variant = properties["variant"]
            for key, value in report.user_properties:
                if key.startswith(_SECONDS):
                    seconds[variant][key.removeprefix(_SECONDS)] += value
                elif key.startswith(_COUNT):
                    counts[variant][key.removeprefix(_COUNT)] += value
    if not seconds:
        return
    steps = sorted({step for row in seconds.values() for step in row})
    counted = sorted({name for row in counts.values() for name in row})
    width = max(len(variant) for variant in seconds)
    terminalreporter.section("seconds per variant")
    header = [*steps, "total", *counted]
    terminalreporter.write_line(f"{'variant':<{width}} " + " ".join(f"{h:>9}" for h in header))
    for variant, row in sorted(seconds.items(), key=lambda item: -sum(item[1].values())):
        cells = [f"{row.get(step, 0.0):9.1f}" for step in steps]
        cells.append(f"{sum(row.values()):9.1f}")
        cells += [
            f"{counts[variant][name]:9d}" if name in counts[variant] else f"{'':9}"
            for name in counted
        ]
        terminalreporter.write_line(f"{variant:<{width}} " + " ".join(cells).rstrip())
