"""The matrix itself: every database variant once, every pair of feature values somewhere."""

import itertools

import pytest

from tests.matrix import (
    DATABASE_VARIANTS,
    DEFAULT_VARIANT,
    DRIVER_FACTS,
    DRIVERS,
    FEATURE_AXES,
    FEATURE_DEFAULTS,
    FEATURE_VARIANTS,
    FRAMEWORKS,
    IMPOSSIBLE_DRIVERS,
    POOLINGS,
    PRIMARY_KEYS,
    RLS,
)

pytestmark = pytest.mark.render


def test_the_database_matrix_crosses_every_axis_once() -> None:
    crossed = set(
        itertools.product(
            FRAMEWORKS,
            [(c, d) for c, drivers in DRIVERS.items() for d in drivers],
            POOLINGS,
            PRIMARY_KEYS,
            RLS,
        )
    )
    listed = [
        (v.framework, (v.concurrency, v.driver), v.pooling, v.primary_key, v.rls)
        for v in DATABASE_VARIANTS
    ]
    assert sorted(listed, key=str) == sorted(crossed, key=str)
    assert len({variant.id for variant in DATABASE_VARIANTS}) == len(DATABASE_VARIANTS)


def test_every_driver_serves_a_concurrency_and_the_others_are_refused() -> None:
    served = {(c, d) for c, drivers in DRIVERS.items() for d in drivers}
    every = {(c, d) for c in ("sync", "async") for d in DRIVER_FACTS}
    assert served.isdisjoint(IMPOSSIBLE_DRIVERS)
    assert served | set(IMPOSSIBLE_DRIVERS) == every
    assert all(drivers for drivers in DRIVERS.values())


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


def test_the_default_answers_make_a_database_variant_with_the_default_features() -> None:
    # The render tier counts the default variant's tests (tests/test_suite_size.py), and the
    # full tier must run that variant as the matrix has it.
    assert DEFAULT_VARIANT in DATABASE_VARIANTS
