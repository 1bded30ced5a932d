"""Each Jinja template source is compiled once per test process, not once per render.

Copier builds a new Jinja environment for every render and compiles, from source, every template
file and every path, answer and setting it renders: about 1,400 compilations per render, 5,200
per `copier update` (which renders three times), over half of a render's CPU. The runs render
the same sources again and again (every variant, both releases), so this plugin keeps the code
Jinja compiles from each source and hands it back when the same source is compiled again in an
environment that would compile it the same way.

The key is the source, the template's name and everything of the environment that parsing and
code generation read: the syntax (delimiters, whitespace control), the extensions, the filter and
test names, and the code generator's options. The compiled code holds no environment: rendering
looks up filters, globals and the sandbox's checks in the environment that renders it, as it
does after a miss. On a hit the extensions' `preprocess` hooks still run, since one of Copier's
(the `yield` tag's) resets per-template state there, and the code is given the file name of the
template being compiled, which only tracebacks and error messages read.

`tests/test_compiled_templates.py` checks that a variant renders the same, file for file, with
and without it.
"""

from __future__ import annotations

from collections.abc import Hashable
from types import CodeType
from typing import Any

from jinja2 import Environment

_compile = Environment.compile
_compiled: dict[tuple[Hashable, ...], Any] = {}


def environment_key(environment: Environment) -> tuple[Hashable, ...]:
    """What of `environment` its compiled code depends on."""
    return (
        type(environment),
        environment.code_generator_class,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        tuple(environment.extensions),
        tuple(sorted(environment.filters)),
        tuple(sorted(environment.tests)),
        environment.optimized,
        environment.is_async,
        environment.autoescape,
        environment.finalize,
    )


def compile_once(
    self: Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> str | CodeType:
    if not isinstance(source, str):  # a parsed template: nothing to save
        return _compile(self, source, name, filename, raw, defer_init)
    # Not the file name: Copier renders from a new clone of the template each time.
    key = (environment_key(self), source, name, raw, defer_init)
    try:
        code = _compiled[key]
    except KeyError:
        code = _compiled[key] = _compile(self, source, name, filename, raw, defer_init)
        return code
    self.preprocess(source, name, filename)
    if isinstance(code, CodeType):
        # Tracebacks and template errors name this file, as Jinja's own compile would.
        return located(code, filename or "<template>")
    return code


def located(code: CodeType, filename: str) -> CodeType:
    """`code`, and every function defined in it, as compiled from `filename`."""
    if code.co_filename == filename:
        return code
    constants = tuple(
        located(constant, filename) if isinstance(constant, CodeType) else constant
        for constant in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=constants)


def pytest_configure() -> None:
    Environment.compile = compile_once  # type: ignore[method-assign,assignment]


def pytest_unconfigure() -> None:
    Environment.compile = _compile  # type: ignore[method-assign]
