"""The template's tests: fixtures live in small plugins, one concern each."""

pytest_plugins = [
    "tests.plugins.timing",
    "tests.plugins.rendering",
    "tests.plugins.environments",
    "tests.plugins.postgres",
    "tests.plugins.versions",
    # For the test of the time table itself.
    "pytester",
]
