"""The reserved-name lists stay complete for the interpreter that runs the tests."""

import keyword
import sys

import pytest

from tests.reserved_names import reserved_names

pytestmark = pytest.mark.render


def test_every_public_stdlib_module_is_reserved() -> None:
    public = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    assert public - reserved_names()["stdlib"] == set()


def test_every_keyword_is_reserved() -> None:
    everything = set(keyword.kwlist) | set(keyword.softkwlist) - {"_"}
    assert everything - reserved_names()["keywords"] == set()
