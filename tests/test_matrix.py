"""The matrix itself: 64 database variants, and every pair of feature values rendered somewhere."""

import itertools

import pytest

from tests.matrix import (
    DATABASE_VARIANTS,
    DRIVERS,
    FEATURE_AXES,
    FEATURE_DEFAULTS,
    FEATURE_VARIANTS,
    IMPOSSIBLE_DRIVERS,
)

pytestmark = pytest.mark.render


def test_the_database_matrix_crosses_every_axis() -> None:
    assert len(DATABASE_VARIANTS) == len({variant.id for variant in DATABASE_VARIANTS}) == 64
    pairs = {(variant.concurrency, variant.driver) for variant in DATABASE_VARIANTS}
    assert pairs == {(c, d) for c, drivers in DRIVERS.items() for d in drivers}
    assert pairs.isdisjoint(IMPOSSIBLE_DRIVERS)


def test_every_pair_of_feature_values_is_rendered() -> None:
    rendered = [FEATURE_DEFAULTS, *(variant.feature for variant in FEATURE_VARIANTS)]
    missing = [
        ((a, x), (b, y))
        for a, b in itertools.combinations(FEATURE_AXES, 2)
        for x in FEATURE_AXES[a]
        for y in FEATURE_AXES[b]
        if not any(row[a] == x and row[b] == y for row in rendered)
    ]
    assert missing == []
