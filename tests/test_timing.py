"""The per-variant time table counts each recorded step once, whichever phase recorded it, and
shows counts (the tests a suite ran) in columns of their own, outside the total."""

import pytest

pytestmark = pytest.mark.render

STEP = 0.2
STEPS = f"""
import time

import pytest

from tests.plugins.timing import Timed


@pytest.fixture
def rendered(timed: Timed) -> None:
    with timed("render"):
        time.sleep({STEP})


@pytest.mark.parametrize("step", ["hooks", "suite"])
def test_step(rendered: None, timed: Timed, step: str) -> None:
    with timed(step):
        time.sleep({STEP})
    timed.count("tests", len(step) * 10)
"""


def test_the_table_counts_each_step_once(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.plugins.timing"]')
    pytester.makepyfile(test_steps=STEPS)
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    lines = result.outlines
    header = next(n for n, line in enumerate(lines) if line.startswith("variant "))
    columns = lines[header].split()[1:]
    rows = {}
    for line in lines[header + 1 : header + 3]:
        variant, *cells = line.split()
        rows[variant] = dict(zip(columns, map(float, cells), strict=True))
    # A step counted twice (in the call and the teardown reports) would show at least 2 * STEP;
    # the tolerance leaves a loaded machine room to oversleep.
    once, twice = (pytest.approx(n * STEP, abs=0.9 * STEP) for n in (1, 2))
    assert rows == {
        "test_step[hooks]": {
            "hooks": once,
            "render": once,
            "suite": 0.0,
            "total": twice,
            "tests": 50,
        },
        "test_step[suite]": {
            "hooks": 0.0,
            "render": once,
            "suite": once,
            "total": twice,
            "tests": 50,
        },
    }
