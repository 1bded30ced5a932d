"""The names copier.yml refuses as a package_name, read from hooks/reserved_names.jinja."""

import functools

import jinja2

from tests.plugins.rendering import TEMPLATE_ROOT


@functools.cache
def reserved_names() -> dict[str, frozenset[str]]:
    """The keywords, stdlib, dependencies and project lists, as the validator sees them."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_ROOT), autoescape=False
    )
    module = environment.get_template("hooks/reserved_names.jinja").module
    return {
        name: frozenset(getattr(module, name))
        for name in ("keywords", "stdlib", "dependencies", "project")
    }
