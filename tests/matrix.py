"""The variant matrix, as data: every answer that changes code touching the database, crossed.

framework x (concurrency, driver) x pooling x primary_key x rls. The drivers, and which
concurrency each serves, come from copier.yml's driver table, so a new driver is a new row there.
The remaining answers (docker, ci, pre_commit, sample_apps, python_version, replicas) change no
database code, or (replicas) add to it without changing it; FEATURE_VARIANTS covers every pair of
their values at least once, and the full tier runs replicas=true projects through
tests/test_switch.py.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def copier_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text())
    return config


#: Each driver's facts: the `drivers` table in copier.yml.
DRIVER_FACTS: dict[str, dict[str, Any]] = copier_config()["drivers"]["default"]

FRAMEWORKS = ("fastapi", "none")
# The drivers each concurrency model can use; other pairs are refused (IMPOSSIBLE_DRIVERS).
DRIVERS = {
    concurrency: tuple(
        sorted(name for name, facts in DRIVER_FACTS.items() if concurrency in facts["concurrency"])
    )
    for concurrency in ("sync", "async")
}
POOLINGS = ("pgbouncer", "app")
PRIMARY_KEYS = ("uuid", "bigint")
RLS = (False, True)

# (concurrency, driver) pairs that cannot work, with the message copier.yml must give.
IMPOSSIBLE_DRIVERS = {
    (concurrency, name): f"driver={name} cannot be used with concurrency={concurrency}: "
    + facts["not_for"][concurrency]
    for name, facts in DRIVER_FACTS.items()
    for concurrency in ("sync", "async")
    if concurrency not in facts["concurrency"]
}

# The feature axes, and the values a variant gets when it does not vary them.
FEATURE_AXES: dict[str, tuple[Any, ...]] = {
    "python_version": ("3.11", "3.12", "3.13"),
    "sample_apps": (True, False),
    "docker": (True, False),
    "ci": ("github", "none"),
    "pre_commit": (True, False),
    "replicas": (False, True),
}
FEATURE_DEFAULTS = {
    "python_version": "3.11",
    "sample_apps": True,
    "docker": True,
    "ci": "github",
    "pre_commit": True,
    "replicas": False,
}


@dataclass(frozen=True)
class Variant:
    """One set of answers to render and test."""

    framework: str
    concurrency: str
    driver: str
    pooling: str
    primary_key: str
    rls: bool
    features: tuple[tuple[str, Any], ...] = field(default=tuple(FEATURE_DEFAULTS.items()))

    @property
    def id(self) -> str:
        """A readable test id, such as fastapi-async-asyncpg-pgbouncer-uuid-rls."""
        parts = [self.framework, self.concurrency, self.driver, self.pooling, self.primary_key]
        parts.append("rls" if self.rls else "norls")
        changed = [
            f"{name}={value}" for name, value in self.features if FEATURE_DEFAULTS[name] != value
        ]
        return "-".join(parts + changed)

    @property
    def database_name(self) -> str:
        return self.id.replace("-", "_").replace("=", "_").replace(".", "")

    @property
    def is_async(self) -> bool:
        return self.concurrency == "async"

    @property
    def feature(self) -> dict[str, Any]:
        return dict(self.features)

    def answers(self) -> dict[str, Any]:
        """The answers to give Copier (project details keep their defaults)."""
        return {
            "framework": self.framework,
            "concurrency": self.concurrency,
            "driver": self.driver,
            "pooling": self.pooling,
            "primary_key": self.primary_key,
            "rls": self.rls,
            **self.feature,
        }


DATABASE_VARIANTS = tuple(
    Variant(framework, concurrency, driver, pooling, primary_key, rls)
    for framework, (concurrency, drivers), pooling, primary_key, rls in itertools.product(
        FRAMEWORKS, DRIVERS.items(), POOLINGS, PRIMARY_KEYS, RLS
    )
    for driver in drivers
)


def _scaffold_variants() -> tuple[Variant, ...]:
    """One variant per shape of startapp's scaffold (framework, concurrency, rls), the other
    answers rotated so that the eight together use every driver, pooling and primary key."""
    chosen = []
    shapes = itertools.product(FRAMEWORKS, ("sync", "async"), RLS)
    for number, shape in enumerate(shapes):
        same = [v for v in DATABASE_VARIANTS if (v.framework, v.concurrency, v.rls) == shape]
        # 3 is prime to len(same) (8), so the shapes step through all of its rows in turn.
        chosen.append(same[number * 3 % len(same)])
    return tuple(chosen)


SCAFFOLD_VARIANTS = _scaffold_variants()


#: What `copier copy --defaults` gives: copier.yml's default for every answer.
DEFAULT_VARIANT = Variant(
    **{
        name: copier_config()[name]["default"]
        for name in ("framework", "concurrency", "driver", "pooling", "primary_key", "rls")
    },
    features=tuple((name, copier_config()[name]["default"]) for name in FEATURE_DEFAULTS),
)


def pairwise(axes: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """A small set of rows in which every pair of values of any two axes appears (greedy)."""
    names = list(axes)
    uncovered = {
        ((a, x), (b, y))
        for a, b in itertools.combinations(names, 2)
        for x in axes[a]
        for y in axes[b]
    }
    rows: list[dict[str, Any]] = []
    while uncovered:
        best = max(
            (dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())),
            key=lambda row: sum(
                ((a, row[a]), (b, row[b])) in uncovered for (a, _), (b, _) in uncovered
            ),
        )
        uncovered -= {((a, best[a]), (b, best[b])) for a, b in itertools.combinations(names, 2)}
        rows.append(best)
    return rows


# Each pairwise row also takes a different database variant, so the feature files get rendered
# next to varied database code. A row equal to the defaults is already a database variant.
FEATURE_VARIANTS = tuple(
    Variant(
        base.framework,
        base.concurrency,
        base.driver,
        base.pooling,
        base.primary_key,
        base.rls,
        features=tuple(row.items()),
    )
    for row, base in zip(
        (row for row in pairwise(FEATURE_AXES) if row != FEATURE_DEFAULTS),
        itertools.cycle(DATABASE_VARIANTS[::11]),
    )
)
