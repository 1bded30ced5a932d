"""A variant's tests run on one xdist worker (`--dist loadgroup` and the `xdist_group` mark that
`variant_params` gives them), so each variant is rendered, updated and installed once per run.

pytest-xdist 3.8 with pytest 9.2 spreads grouped tests over the workers without a word
(pytest-dev/pytest-xdist#1386): every worker that gets one of a variant's tests then renders,
updates and installs it again. This test fails instead.
"""

import re
from collections import defaultdict

import pytest

pytestmark = pytest.mark.render


def test_a_groups_tests_share_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_grouped="""
import pytest


@pytest.mark.parametrize(
    "group", [pytest.param(g, marks=pytest.mark.xdist_group(g)) for g in "abc"]
)
@pytest.mark.parametrize("step", range(4))
def test_step(group: str, step: int) -> None:
    pass
"""
    )
    result = pytester.runpytest_subprocess(
        "-n", "3", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=12)
    workers = defaultdict(set)
    for line in result.outlines:
        if match := re.match(r"\[(gw\d+)\] .*PASSED test_grouped\.py::test_step\[\d+-(\w)\]", line):
            workers[match.group(2)].add(match.group(1))
    assert sorted(workers) == ["a", "b", "c"]
    spread = {group: ran_on for group, ran_on in workers.items() if len(ran_on) > 1}
    assert spread == {}, "grouped tests ran on several workers (pytest-dev/pytest-xdist#1386)"
