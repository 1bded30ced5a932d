"""Generate every sync template from its async source, or check that the committed ones are current.

    uv run python tools/async_to_sync.py           # rewrite the sync twins
    uv run python tools/async_to_sync.py --check   # exit 1, with a diff, if one is out of date

Where a module's sync and async versions differ, the template keeps one hand-written async file,
named `{% if is_async %}NAME{% endif %}.jinja`. Its sync twin, with `not is_async` in its name,
is generated from it by this tool and committed, with a Jinja comment on its first line saying so.
docs/contributing/one-source.md explains the rules and the marker vocabulary; in short:

1. Jinja. Every condition on `is_async` is decided for sync code: of
   `{% if is_async %}A{% else %}S{% endif %}` the twin keeps S, exactly as written. That is how a
   genuine difference is marked: in the async source, where its reader sees both sides.
   Conditions on the driver are decided too where every sync driver agrees (`driver == "asyncpg"`
   is false in sync code, and so is a `db_driver.<fact>` that no sync driver has).
2. Python, with the Jinja masked: `async def/with/for` lose `async`, `await` goes (`(await x).y`
   becomes `x.y`), `Awaitable[X]` becomes `X`, the names in RENAMES are renamed,
   `engine.sync_engine` becomes `engine`, `asyncio.run(f())` becomes `f()`,
   `await connection.run_sync(f)` becomes `f(connection)`, and a `with` whose whole body is
   another `with` becomes one `with`, as ruff's SIM117 asks.
   Each block of imports is then rebuilt: names move to the modules RELOCATED gives (joining an
   import of that module elsewhere in the file), unused names go, and the block is sorted as
   ruff's isort sorts it.
3. ruff formats each statement the rewrite changed, on its own (statements that hold a Jinja
   block tag are left as written), so that what fits on one line again is joined.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template"
HEADER = (
    "{{# Generated from {source} by tools/async_to_sync.py: edit that file, then run "
    "`uv run python tools/async_to_sync.py`. #}}\n"
)
LINE_LENGTH = 100

#: Names that have another name in sync code.
RENAMES = {
    "AbstractAsyncContextManager": "AbstractContextManager",
    "AsyncAdaptedQueuePool": "QueuePool",
    "AsyncClient": "TestClient",
    "AsyncConnection": "Connection",
    "AsyncEngine": "Engine",
    "AsyncIterator": "Iterator",
    "AsyncSession": "Session",
    "async_sessionmaker": "sessionmaker",
    "asynccontextmanager": "contextmanager",
    "create_async_engine": "create_engine",
}

#: Where a renamed name is imported from in sync code, by (async module, sync name).
RELOCATED = {
    ("sqlalchemy.ext.asyncio", "Connection"): "sqlalchemy",
    ("sqlalchemy.ext.asyncio", "Engine"): "sqlalchemy",
    ("sqlalchemy.ext.asyncio", "create_engine"): "sqlalchemy",
    ("sqlalchemy.ext.asyncio", "Session"): "sqlalchemy.orm",
    ("sqlalchemy.ext.asyncio", "sessionmaker"): "sqlalchemy.orm",
    ("httpx2", "TestClient"): "fastapi.testclient",
}

#: Module functions with a sync counterpart in another module: `asyncio.sleep` -> `time.sleep`.
MODULE_FUNCTIONS = {("asyncio", "sleep"): "time", ("asyncio", "Event"): "threading"}

#: Attributes that lead from an asyncio facade to the sync object it wraps.
FACADE_ATTRIBUTES = {"sync_engine", "sync_connection"}

_TAG = re.compile(r"\{%-?\s*(.*?)\s*-?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_BLOCK_LINE = re.compile(r"^[ \t]*\{%-?\s*(\w+)(.*?)\s*-?%\}[ \t]*$")
_COMMENT_LINE = re.compile(r"^[ \t]*\{#.*#\}[ \t]*$")
_TEMPLATE_VARIABLE = re.compile(r"\$\{(\w+)\}")
_ASYNC_FILE = re.compile(r"^(\{% if (?:[^%]* and )?)is_async\b")
_VERBATIM = ("# __verbatim_begin__", "# __verbatim_end__")
_BODY = "  # __jinja_body__"

#: The names startapp fills into its scaffold (`${model}` ...), for measuring line lengths.
SCAFFOLD_NAMES = {
    "app": "notes",
    "model": "Note",
    "model_snake": "note",
    "table": "notes",
    "url": "notes",
}


class GenerationError(Exception):
    """An async source the tool cannot turn into sync code; the message says where and why."""


# ---------------------------------------------------------------- step 1: decide is_async


@dataclass(frozen=True)
class Facts:
    """What every render of one concurrency has in common: `is_async`, and the facts in the
    driver table that all of that concurrency's drivers share."""

    concurrency: str
    drivers: dict[str, dict[str, Any]]

    @property
    def possible_drivers(self) -> list[str]:
        return [n for n, facts in self.drivers.items() if self.concurrency in facts["concurrency"]]

    def name(self, name: str) -> tuple[bool, Any]:
        if name == "is_async":
            return True, self.concurrency == "async"
        if name == "concurrency":
            return True, self.concurrency
        if name == "driver" and len(self.possible_drivers) == 1:
            return True, self.possible_drivers[0]
        return False, None

    def driver_fact(self, attribute: str) -> tuple[bool, Any]:
        values = [self.drivers[name].get(attribute) for name in self.possible_drivers]
        if all(value == values[0] for value in values):
            return True, values[0]
        return False, None


def load_drivers() -> dict[str, dict[str, Any]]:
    """The driver table, from copier.yml (the hidden question `drivers`)."""
    drivers: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "copier.yml").read_text())[
        "drivers"
    ]["default"]
    return drivers


_UNKNOWN = object()


class Decider:
    """Partial evaluation of Jinja conditions: a condition becomes True, False, or a (possibly
    shorter) condition on the answers that the facts leave open."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.env = jinja2.Environment()

    def parse(self, condition: str) -> nodes.Expr:
        template = self.env.parse("{% if " + condition + " %}{% endif %}")
        test: nodes.Expr = template.body[0].test  # type: ignore[attr-defined]
        return test

    def decide(self, condition: str) -> bool | str:
        test = self.parse(condition)
        simplified = self._simplify(test)
        if isinstance(simplified, bool):
            return simplified
        printed = _print(simplified)
        # An unchanged condition keeps its author's spelling.
        return condition if printed == _print(test) else printed

    def evaluate(self, node: nodes.Expr) -> Any:
        """The node's value, or _UNKNOWN when it depends on an answer the facts leave open."""
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.Name):
            known, value = self.facts.name(node.name)
            return value if known else _UNKNOWN
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            if node.node.name != "db_driver":
                return _UNKNOWN
            known, value = self.facts.driver_fact(node.attr)
            return value if known else _UNKNOWN
        if isinstance(node, nodes.Not):
            value = self.evaluate(node.node)
            return _UNKNOWN if value is _UNKNOWN else not value
        if isinstance(node, nodes.And | nodes.Or):
            left, right = self.evaluate(node.left), self.evaluate(node.right)
            decisive = isinstance(node, nodes.Or)  # True decides an `or`, False an `and`
            if any(v is not _UNKNOWN and bool(v) is decisive for v in (left, right)):
                return decisive
            if _UNKNOWN in (left, right):
                return _UNKNOWN
            return not decisive
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            return self._compare(node)
        if isinstance(node, nodes.Tuple | nodes.List):
            items = [self.evaluate(item) for item in node.items]
            return _UNKNOWN if _UNKNOWN in items else tuple(items)
        return _UNKNOWN

    def _compare(self, node: nodes.Compare) -> Any:
        operator = node.ops[0].op
        left, right = self.evaluate(node.expr), self.evaluate(node.ops[0].expr)
        if left is _UNKNOWN and isinstance(node.expr, nodes.Name) and node.expr.name == "driver":
            # The driver is one of this concurrency's: comparing with others decides the test.
            possible = set(self.facts.possible_drivers)
            named = {right} if operator in ("eq", "ne") else set(right or ())
            if right is _UNKNOWN:
                return _UNKNOWN
            if not possible & named:
                return operator in ("ne", "notin")
            if possible <= named:
                return operator in ("eq", "in")
            return _UNKNOWN
        if _UNKNOWN in (left, right):
            return _UNKNOWN
        comparisons: dict[str, Callable[[], bool]] = {
            "eq": lambda: bool(left == right),
            "ne": lambda: bool(left != right),
            "in": lambda: left in right,
            "notin": lambda: left not in right,
        }
        return comparisons[operator]() if operator in comparisons else _UNKNOWN

    def _simplify(self, node: nodes.Expr) -> nodes.Expr | bool:
        value = self.evaluate(node)
        if value is not _UNKNOWN:
            return bool(value)
        if isinstance(node, nodes.And | nodes.Or):
            left, right = self._simplify(node.left), self._simplify(node.right)
            # A known side of an undecided and/or is the neutral one: drop it.
            if isinstance(left, bool):
                return right
            if isinstance(right, bool):
                return left
            return type(node)(left, right)
        if isinstance(node, nodes.Not):
            inner = self._simplify(node.node)
            return (not inner) if isinstance(inner, bool) else nodes.Not(inner)
        return node


def _print(node: nodes.Expr, parent: int = 0) -> str:
    """Jinja source for an expression (the subset conditions use)."""
    own = {nodes.Or: 1, nodes.And: 2, nodes.Not: 3}.get(type(node), 4)
    if isinstance(node, nodes.Or | nodes.And):
        word = "or" if isinstance(node, nodes.Or) else "and"
        text = f"{_print(node.left, own)} {word} {_print(node.right, own)}"
    elif isinstance(node, nodes.Not):
        text = f"not {_print(node.node, own)}"
    elif isinstance(node, nodes.Name):
        text = node.name
    elif isinstance(node, nodes.Const):
        text = f'"{node.value}"' if isinstance(node.value, str) else str(node.value).lower()
    elif isinstance(node, nodes.Getattr):
        text = f"{_print(node.node, 5)}.{node.attr}"
    elif isinstance(node, nodes.Compare):
        symbols = {"eq": "==", "ne": "!=", "in": "in", "notin": "not in"}
        parts = [_print(node.expr, 5)]
        for operand in node.ops:
            parts += [symbols.get(operand.op, operand.op), _print(operand.expr, 5)]
        text = " ".join(parts)
    elif isinstance(node, nodes.Tuple | nodes.List):
        text = "(" + ", ".join(_print(item) for item in node.items) + ")"
    else:
        raise GenerationError(f"cannot print the Jinja expression {node!r}")
    return f"({text})" if own < parent else text


@dataclass
class _Branch:
    keyword: str  # if, elif, else
    condition: str
    tag_line: str
    lines: list[Any] = field(default_factory=list)


@dataclass
class _IfBlock:
    branches: list[_Branch]
    end_line: str = ""


def _parse_blocks(lines: list[str], source: str) -> list[Any]:
    """The template's lines as a tree: plain lines, and if-blocks whose tags fill whole lines."""
    root: list[Any] = []
    stack: list[_IfBlock] = []
    for number, line in enumerate(lines, 1):
        match = _BLOCK_LINE.match(line)
        keyword = match.group(1) if match else None
        condition = match.group(2).strip() if match else ""
        into = stack[-1].branches[-1].lines if stack else root
        if keyword == "if":
            block = _IfBlock([_Branch("if", condition, line)])
            into.append(block)
            stack.append(block)
        elif keyword in ("elif", "else", "endif") and not stack:
            raise GenerationError(f"{source}:{number}: {keyword} outside an if-block")
        elif keyword in ("elif", "else"):
            stack[-1].branches.append(_Branch(keyword, condition, line))  # type: ignore[arg-type]
        elif keyword == "endif":
            stack.pop().end_line = line
        elif re.search(r"\bis_async\b", line):
            raise GenerationError(
                f"{source}:{number}: is_async in a tag that shares its line with other text; "
                "mark a sync/async difference with whole-line {% if is_async %} blocks"
            )
        else:
            into.append(line)
    if stack:
        raise GenerationError(f"{source}: an if-block is never closed")
    return root


def _retag(tag_line: str, keyword: str, condition: str) -> str:
    """The tag line with another keyword and condition, indentation and whitespace control kept."""
    match = re.match(r"^([ \t]*\{%-?\s*)\w+.*?(\s*-?%\}[ \t]*)$", tag_line)
    assert match, tag_line
    body = f"{keyword} {condition}" if condition else keyword
    return f"{match.group(1)}{body}{match.group(2)}"


class _Emitter:
    """Writes the sync template: decided branches lose their tags, undecided ones keep them,
    and a branch only sync renders reach is fenced as verbatim (hand-written sync code)."""

    def __init__(self, drivers: dict[str, dict[str, Any]]) -> None:
        self.sync = Decider(Facts("sync", drivers))
        self.async_ = Decider(Facts("async", drivers))

    def emit(self, tree: list[Any]) -> Iterator[str]:
        for item in tree:
            if isinstance(item, str):
                yield item
            else:
                yield from self._block(item)

    def _sync_only(self, block: _IfBlock, index: int) -> bool:
        """Whether async renders never reach branch `index`: its condition is false for async
        code, or (for else/elif) an earlier condition is true for it."""
        for earlier in block.branches[:index]:
            if self.async_.evaluate(self.async_.parse(earlier.condition)) is True:
                return True
        branch = block.branches[index]
        if branch.keyword == "else":
            return False
        return self.async_.evaluate(self.async_.parse(branch.condition)) is False

    def _block(self, block: _IfBlock) -> Iterator[str]:
        kept: list[tuple[bool | str, int]] = []
        for index, branch in enumerate(block.branches):
            decision = True if branch.keyword == "else" else self.sync.decide(branch.condition)
            if decision is False:
                continue
            kept.append((decision, index))
            if decision is True:
                break  # later branches can never render
        if not kept:
            return
        if kept[0][0] is True:
            yield from self._body(block, kept[0][1])
            return
        for position, (decision, index) in enumerate(kept):
            branch = block.branches[index]
            if decision is True:
                yield _retag(branch.tag_line, "else", "")
            else:
                keyword = "if" if position == 0 else "elif"
                yield _retag(branch.tag_line, keyword, str(decision))
            yield from self._body(block, index)
        yield block.end_line

    def _body(self, block: _IfBlock, index: int) -> Iterator[str]:
        verbatim = self._sync_only(block, index)
        if verbatim:
            yield _VERBATIM[0]
        yield from self.emit(block.branches[index].lines)
        if verbatim:
            yield _VERBATIM[1]


def decide_is_async(text: str, drivers: dict[str, dict[str, Any]], source: str) -> str:
    lines = text.split("\n")
    return "\n".join(_Emitter(drivers).emit(_parse_blocks(lines, source)))


# ---------------------------------------------------------------- masking the Jinja


@dataclass
class Masked:
    """Python source with each piece of Jinja replaced by a placeholder as long as the piece's
    rendered text, and the way back."""

    text: str
    pieces: dict[str, str]  # placeholder -> original text
    tag_lines: dict[str, str]  # comment placeholder -> original whole line

    def unmask(self, text: str) -> str:
        lines = []
        for line in text.split("\n"):
            key = line.strip()
            if key in _VERBATIM or line.endswith(_BODY):
                continue
            lines.append(self.tag_lines.get(key, line))
        text = "\n".join(lines)
        for placeholder, original in self.pieces.items():
            text = text.replace(placeholder, original)
        return text


def mask(text: str, sample: dict[str, Any], scaffold: bool) -> Masked:
    pieces: dict[str, str] = {}
    by_original: dict[str, str] = {}
    tag_lines: dict[str, str] = {}
    env = jinja2.Environment()

    def placeholder(original: str, kind: str, length: int) -> str:
        if original not in by_original:
            name = f"_{kind}{len(by_original)}_"
            name += "_" * max(0, length - len(name))
            by_original[original] = name
            pieces[name] = original
        return by_original[original]

    def rendered_length(expression: str) -> int:
        try:
            return len(env.from_string(expression).render(**sample))
        except jinja2.TemplateError:
            return len(expression)

    out: list[str] = []
    for line in text.split("\n"):
        if _BLOCK_LINE.match(line) or _COMMENT_LINE.match(line):
            code = [
                previous
                for previous in out
                if previous.strip() and not previous.lstrip().startswith("#")
            ]
            if _BLOCK_LINE.match(line) and code and code[-1].rstrip().endswith(":"):
                # Branches that differ only in a header (`def f(a):` / `def f(a, b):`) share the
                # body after the endif: give each header a body of its own, removed again later.
                indent = re.match(r"[ \t]*", code[-1]).group(0)  # type: ignore[union-attr]
                out.append(f"{indent}    pass{_BODY}")
            key = f"# __jinja_line_{len(tag_lines)}__"
            tag_lines[key] = line
            out.append(key)
            continue
        line = _TAG.sub(
            lambda m: (
                placeholder(m.group(0), "K", 0)
                if m.group(0).startswith(("{%", "{#"))
                else placeholder(m.group(0), "J", rendered_length(m.group(0)))
            ),
            line,
        )
        if scaffold:
            line = _TEMPLATE_VARIABLE.sub(
                lambda m: placeholder(m.group(0), "T", len(SCAFFOLD_NAMES.get(m.group(1), "x"))),
                line,
            )
        out.append(line)
    return Masked("\n".join(out), pieces, tag_lines)


def _opaque(line: str) -> bool:
    """A line the tool must not reformat: a Jinja tag line, a tag inside code, or a fence."""
    return (
        "__jinja_line_" in line
        or re.search(r"_K\d+_", line) is not None
        or line.strip() in _VERBATIM
    )


# ---------------------------------------------------------------- step 2: rewrite the Python


@dataclass
class _Edit:
    start: int
    end: int
    text: str


_CODE = {tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING}
_NOT_PRIMARY = {"if", "else", "for", "and", "or", "not", "in", "is", "lambda", "await"}
_KEYWORDS_BEFORE_PARENTHESES = _NOT_PRIMARY | {"return", "assert", "yield", "del", "elif", "while"}


class _Source:
    """Tokens of a masked source, with offsets, and the lines fenced as verbatim."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        self.starts = [0]
        for line in text.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.code = [i for i, token in enumerate(self.tokens) if token.type in _CODE]
        self.verbatim: set[int] = set()
        inside = False
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip() == _VERBATIM[0]:
                inside = True
            elif line.strip() == _VERBATIM[1]:
                inside = False
            elif inside:
                self.verbatim.add(number)

    def offset(self, position: tuple[int, int]) -> int:
        return self.starts[position[0] - 1] + position[1]

    def matching(self, index: int) -> int:
        """The index of the bracket that closes the one at `index`."""
        depth = 0
        for position in range(index, len(self.tokens)):
            token = self.tokens[position]
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
                if depth == 0:
                    return position
        raise GenerationError("unbalanced brackets")

    def is_primary(self, start: int, end: int) -> bool:
        """Whether tokens[start:end] are one primary expression (a name with calls, attributes
        and subscripts), which needs no parentheses of its own."""
        depth = 0
        previous = None
        for token in self.tokens[start:end]:
            if token.type not in _CODE:
                continue
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
            elif depth == 0:
                if token.type == tokenize.OP and token.string != ".":
                    return False
                if token.type == tokenize.NAME and token.string in _NOT_PRIMARY:
                    return False
                if previous is not None and previous.string != "." and token.string != ".":
                    return False  # two operands side by side: an operator is between them
            previous = token
        return True


def rewrite(text: str) -> tuple[str, set[int]]:
    """The sync spelling of async Python source (Jinja masked), and the lines that changed."""
    source = _Source(text)
    tokens, code = source.tokens, source.code
    edits: list[_Edit] = []
    for rank, index in enumerate(code):
        token = tokens[index]
        if token.start[0] in source.verbatim:
            continue
        following = tokens[code[rank + 1]] if rank + 1 < len(code) else None
        preceding = tokens[code[rank - 1]] if rank else None
        if token.type == tokenize.NAME and token.string == "async" and following is not None:
            if following.string in ("def", "with", "for"):
                edits.append(_Edit(source.offset(token.start), source.offset(following.start), ""))
        elif token.type == tokenize.NAME and token.string == "await":
            edits.extend(_await(source, rank))
        elif token.string == "Awaitable" and following is not None and following.string == "[":
            # `Awaitable[X]` -> `X`: what a sync callable returns.
            opener = source.code[rank + 1]
            closer = source.matching(opener)
            end = source.tokens[closer]
            edits.append(_Edit(source.offset(token.start), source.offset(following.end), ""))
            edits.append(_Edit(source.offset(end.start), source.offset(end.end), ""))
        elif token.type == tokenize.NAME and token.string in RENAMES:
            if preceding is None or preceding.string != ".":
                edits.append(
                    _Edit(
                        source.offset(token.start), source.offset(token.end), RENAMES[token.string]
                    )
                )
        elif token.type == tokenize.NAME and token.string in FACADE_ATTRIBUTES:
            if preceding is not None and preceding.string == ".":
                edits.append(_Edit(source.offset(preceding.start), source.offset(token.end), ""))
        elif token.type == tokenize.NAME and following is not None and following.string == ".":
            edits.extend(_module_function(source, rank))
        elif token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string):
            # An f-string's replacement fields are code too.
            unawaited = re.sub(r"(?<=[{(\[,\s])await\s+", "", token.string)
            if unawaited != token.string:
                edits.append(_Edit(source.offset(token.start), source.offset(token.end), unawaited))
    return _apply(text, edits)


def _await(source: _Source, rank: int) -> list[_Edit]:
    """Drop `await`; `(await x).y` -> `x.y`; `await c.run_sync(f, a)` -> `f(c, a)`;
    `await asyncio.to_thread(f, a)` -> `f(a)`."""
    tokens, code = source.tokens, source.code
    token = tokens[code[rank]]
    run_sync = _run_sync(source, rank)
    if run_sync:
        return run_sync
    if rank and tokens[code[rank - 1]].string == "(":
        opener = code[rank - 1]
        before = tokens[code[rank - 2]] if rank >= 2 else None
        called = before is not None and (
            before.string in (")", "]")
            or (before.type == tokenize.NAME and before.string not in _KEYWORDS_BEFORE_PARENTHESES)
        )
        closer = source.matching(opener)
        if not called and source.is_primary(code[rank] + 1, closer):
            # `(` through `await ` goes, and `)` with the line break before it, so that what
            # was inside the parentheses is one expression again however it was wrapped.
            last_inside = max(i for i in code if i < closer)
            return [
                _Edit(
                    source.offset(tokens[opener].start),
                    source.offset(tokens[code[rank + 1]].start),
                    "",
                ),
                _Edit(
                    source.offset(tokens[last_inside].end), source.offset(tokens[closer].end), ""
                ),
            ]
    return [_Edit(source.offset(token.start), source.offset(tokens[code[rank + 1]].start), "")]


def _run_sync(source: _Source, rank: int) -> list[_Edit]:
    """`await connection.run_sync(f, *args)` -> `f(connection, *args)`;
    `await asyncio.to_thread(f, *args)` -> `f(*args)`."""
    tokens, code = source.tokens, source.code
    ahead = [tokens[code[i]] for i in range(rank + 1, min(rank + 5, len(code)))]
    spelled = [t.string for t in ahead]
    if spelled == ["asyncio", ".", "to_thread", "("]:
        receiver = ""
    elif spelled[1:] == [".", "run_sync", "("] and ahead[0].type == tokenize.NAME:
        receiver = ahead[0].string
    else:
        return []
    opener = code[rank + 4]
    closer = source.matching(opener)
    inside = source.text[source.offset(tokens[opener].end) : source.offset(tokens[closer].start)]
    function, _, rest = inside.strip().partition(",")
    arguments = ", ".join(part for part in (receiver, rest.strip()) if part)
    start = source.offset(tokens[code[rank]].start)
    return [_Edit(start, source.offset(tokens[closer].end), f"{function.strip()}({arguments})")]


def _module_function(source: _Source, rank: int) -> list[_Edit]:
    """`asyncio.run(f())` -> `f()`; `asyncio.sleep(...)` -> `time.sleep(...)`."""
    tokens, code = source.tokens, source.code
    if rank + 2 >= len(code):
        return []
    module, attribute = tokens[code[rank]], tokens[code[rank + 2]]
    if (module.string, attribute.string) in MODULE_FUNCTIONS:
        target = MODULE_FUNCTIONS[(module.string, attribute.string)]
        return [_Edit(source.offset(module.start), source.offset(module.end), target)]
    if (module.string, attribute.string) == ("asyncio", "run") and rank + 3 < len(code):
        opener = code[rank + 3]
        closer = source.matching(opener)
        return [
            _Edit(source.offset(module.start), source.offset(tokens[opener].end), ""),
            _Edit(source.offset(tokens[closer].start), source.offset(tokens[closer].end), ""),
        ]
    return []


def _apply(text: str, edits: list[_Edit]) -> tuple[str, set[int]]:
    out, position, changed = [], 0, set()
    for edit in sorted(edits, key=lambda edit: (edit.start, edit.end)):
        if edit.start < position:
            raise GenerationError(
                f"overlapping rewrites near {text[edit.start : edit.start + 40]!r}"
            )
        out.append(text[position : edit.start])
        line = "".join(out).count("\n") + 1
        changed.update(range(line, line + edit.text.count("\n") + 1))
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out), changed


def merge_withs(text: str, changed: set[int]) -> tuple[str, set[int]]:
    """`with a:` whose whole body is `with b:` -> `with a, b:` (ruff's SIM117), once the async
    one of them is a plain `with`."""
    while True:
        lines = text.split("\n")
        tree = ast.parse(text)
        target = next(
            (
                node
                for node in ast.walk(tree)
                if isinstance(node, ast.With)
                and len(node.body) == 1
                and isinstance(node.body[0], ast.With)
                and (node.lineno in changed or node.body[0].lineno in changed)
                and not any(_opaque(line) for line in lines[node.lineno - 1 : node.end_lineno])
            ),
            None,
        )
        if target is None:
            return text, changed
        inner = target.body[0]
        assert isinstance(inner, ast.With)
        header_lines = inner.body[0].lineno - target.lineno
        indent = lines[target.lineno - 1][: target.col_offset]
        items = [
            ast.get_source_segment(text, item.context_expr)
            + (
                f" as {ast.get_source_segment(text, item.optional_vars)}"
                if item.optional_vars
                else ""
            )
            for item in target.items + inner.items
        ]
        body = [
            line[4:] if line.startswith(" " * 4) else line
            for line in lines[inner.body[0].lineno - 1 : inner.end_lineno]
        ]
        merged = [f"{indent}with {', '.join(items)}:", *body]
        lines[target.lineno - 1 : target.end_lineno] = merged
        shift = header_lines - 1
        changed = {n if n <= target.lineno else n - shift for n in changed} | {target.lineno}
        text = "\n".join(lines)


# ---------------------------------------------------------------- imports


def _name_key(name: str) -> tuple[int, str]:
    """ruff's isort order of the names of one `from` import: CONSTANTS, Classes, the rest."""
    if len(name) > 1 and name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def _jinja_contexts(lines: list[str], tag_lines: dict[str, str]) -> list[tuple[Any, ...]]:
    """For each line, the Jinja branches it sits in: equal for lines that render together."""
    stack: list[list[int]] = []
    blocks = 0
    contexts = []
    for line in lines:
        match = _BLOCK_LINE.match(tag_lines.get(line.strip(), ""))
        keyword = match.group(1) if match else None
        if keyword in ("if", "for"):
            blocks += 1
            stack.append([blocks, 0])
        elif keyword in ("elif", "else") and stack:
            stack[-1][1] += 1
        elif keyword in ("endif", "endfor") and stack:
            stack.pop()
        contexts.append(tuple(tuple(entry) for entry in stack))
    return contexts


def fix_imports(text: str, tag_lines: dict[str, str]) -> str:
    """Rebuild each block of module-level imports for the sync source."""
    tree = ast.parse(text)
    lines = text.split("\n")
    contexts = _jinja_contexts(lines, tag_lines)
    used = _used_names(text, tree)
    # A name a Jinja statement spells (`{% set dep = "UserSessionDep" if rls else ... %}`) is
    # used by what the template renders: keep its import.
    for tag_line in tag_lines.values():
        used.update(re.findall(r"[A-Za-z_]\w*", tag_line))
    blocks: list[list[ast.Import | ast.ImportFrom]] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        span = lines[statement.lineno - 1 : statement.end_lineno]
        if any(_opaque(line) for line in span):
            continue
        if blocks and statement.lineno == blocks[-1][-1].end_lineno + 1:  # type: ignore[operator]
            blocks[-1].append(statement)
        else:
            blocks.append([statement])
    # Where each module is imported already: a relocated name joins that import.
    home: dict[tuple[Any, int, str], int] = {}
    for number, block in enumerate(blocks):
        for statement in block:
            if isinstance(statement, ast.ImportFrom):
                context = contexts[statement.lineno - 1]
                home.setdefault((context, statement.level, statement.module or ""), number)
    plain: list[list[str]] = [[] for _ in blocks]
    froms: list[dict[tuple[int, str], list[str]]] = [{} for _ in blocks]
    bound = {
        (alias.asname or alias.name).split(".")[0] for b in blocks for s in b for alias in s.names
    }
    for number, block in enumerate(blocks):
        for statement in block:
            for alias in statement.names:
                spelled = alias.name + (f" as {alias.asname}" if alias.asname else "")
                if isinstance(statement, ast.Import):
                    if (alias.asname or alias.name.split(".")[0]) in used:
                        plain[number].append(spelled)
                    for (module, _), replacement in MODULE_FUNCTIONS.items():
                        if (
                            alias.name == module
                            and replacement in used
                            and replacement not in bound
                        ):
                            plain[number].append(replacement)
                            bound.add(replacement)
                    continue
                if (alias.asname or alias.name) not in used:
                    continue
                module = RELOCATED.get((statement.module or "", alias.name), statement.module or "")
                key = (statement.level, module)
                context = contexts[statement.lineno - 1]
                moved = module != statement.module
                target = home.get((context, *key), number) if moved else number
                names = froms[target].setdefault(key, [])
                if spelled not in names:
                    names.append(spelled)
    for number in reversed(range(len(blocks))):
        block = blocks[number]
        first, last = block[0].lineno - 1, block[-1].end_lineno
        assert last is not None
        rebuilt = [f"import {name}" for name in sorted(set(plain[number]), key=str.lower)]
        for (level, module), names in sorted(
            froms[number].items(), key=lambda item: (-item[0][0], item[0][1].lower())
        ):
            # As ruff's isort does by default: aliased names each get a statement of their own,
            # and a module's statements are ordered by their first name.
            combined = sorted((name for name in names if " as " not in name), key=_name_key)
            statements = [[name] for name in names if " as " in name]
            statements += [combined] if combined else []
            for listed in sorted(statements, key=lambda group: _name_key(group[0])):
                rebuilt.append(f"from {'.' * level}{module} import {', '.join(listed)}")
        if rebuilt == lines[first:last]:
            continue
        if (
            not rebuilt
            and first
            and last < len(lines)
            and not lines[first - 1].strip()
            and not lines[last].strip()
        ):
            last += 1  # the block's blank line goes with it
        lines[first:last] = rebuilt
    return "\n".join(lines)


def _used_names(text: str, tree: ast.Module) -> set[str]:
    imports = {
        line
        for statement in tree.body
        if isinstance(statement, ast.Import | ast.ImportFrom)
        for line in range(statement.lineno, statement.end_lineno + 1)  # type: ignore[operator]
    }
    used: set[str] = set()
    for token in _Source(text).tokens:
        if token.start[0] in imports:
            continue
        if token.type == tokenize.NAME:
            used.add(token.string)
        elif token.type == tokenize.STRING and re.fullmatch(r"[\"']\w+[\"']", token.string):
            used.add(token.string[1:-1])  # __all__
        elif token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string):
            for field_ in re.findall(r"\{([^{}]*)\}", token.string):
                used.update(re.findall(r"[A-Za-z_]\w*", field_))
    return used


# ---------------------------------------------------------------- step 3: format what changed


@dataclass
class _Snippet:
    first: int
    last: int
    indent: str
    text: str
    compound: bool


def _spans(tree: ast.Module, lines: list[str]) -> Iterator[tuple[int, int, bool]]:
    """(first, last, compound) line spans to format alone: simple statements, and the headers of
    compound statements (their bodies are spans of their own)."""

    def walk(body: list[ast.stmt]) -> Iterator[tuple[int, int, bool]]:
        for statement in body:
            if isinstance(
                statement, ast.FunctionDef | ast.ClassDef | ast.With | ast.For | ast.While
            ):
                end = _header_end(lines, statement.lineno, statement.body[0])
                if end is not None:
                    yield statement.lineno, end, True
            elif not hasattr(statement, "body"):
                assert statement.end_lineno is not None
                yield statement.lineno, statement.end_lineno, False
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(statement, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    yield from walk(inner)
            for handler in getattr(statement, "handlers", []):
                yield from walk(handler.body)

    yield from walk(tree.body)


def _header_end(lines: list[str], start: int, first: ast.stmt) -> int | None:
    """The line of a compound statement's colon: the last code line before its body."""
    end = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]) - 1
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end if lines[end - 1].rstrip().endswith(":") else None


def _without_magic_commas(snippet: str, changed: set[int]) -> str:
    """A trailing comma kept brackets split; where the rewrite shortened the line that opens
    them (lines `changed`, counted from the snippet's first), ruff decides again."""
    source = _Source(snippet)
    tokens = source.tokens
    edits = []
    opened: list[int] = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            opened.append(token.start[0])
        elif token.string in ")]}":
            opened.pop()
        elif token.string == "," and opened and opened[-1] in changed:
            following = next(
                t for t in tokens[index + 1 :] if t.type not in (tokenize.NL, tokenize.COMMENT)
            )
            if following.string in ")]}":
                edits.append(_Edit(source.offset(token.start), source.offset(token.end), ""))
    return _apply(snippet, edits)[0]


def format_changed(texts: dict[str, tuple[str, set[int]]]) -> dict[str, str]:
    """Format the statements that changed in every source with ruff, each on its own."""
    snippets: dict[str, list[_Snippet]] = {}
    for name, (text, changed) in texts.items():
        lines = text.split("\n")
        found = []
        for first, last, compound in _spans(ast.parse(text), lines):
            chunk = lines[first - 1 : last]
            if not changed & set(range(first, last + 1)) or any(_opaque(line) for line in chunk):
                continue
            indent = re.match(r"[ \t]*", chunk[0]).group(0)  # type: ignore[union-attr]
            relative = {number - first + 1 for number in changed}
            body = _without_magic_commas(textwrap.dedent("\n".join(chunk)) + "\n", relative)
            if compound:
                body += "    pass\n"  # not `...`: ruff would fold it onto the header line
            found.append(_Snippet(first, last, indent, body, compound))
        snippets[name] = found
    formatted = _ruff_format([s for found in snippets.values() for s in found])
    out = {}
    for name, (text, _) in texts.items():
        lines = text.split("\n")
        for snippet in sorted(snippets[name], key=lambda s: -s.first):
            new = formatted[id(snippet)].rstrip("\n")
            if snippet.compound:
                assert new.endswith("pass"), new
                new = new[: new.rindex("\n")]
            indented = [snippet.indent + line if line else line for line in new.split("\n")]
            lines[snippet.first - 1 : snippet.last] = indented
        out[name] = "\n".join(lines)
    return out


def _ruff_format(snippets: list[_Snippet]) -> dict[int, str]:
    """Format snippets in one ruff run per indentation (the line limit counts the indentation)."""
    result: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        by_width: dict[int, list[tuple[Path, _Snippet]]] = {}
        for number, snippet in enumerate(snippets):
            width = LINE_LENGTH - len(snippet.indent)
            folder = Path(scratch) / str(width)
            folder.mkdir(exist_ok=True)
            path = folder / f"s{number}.py"
            path.write_text(snippet.text)
            by_width.setdefault(width, []).append((path, snippet))
        for width, entries in by_width.items():
            command = [sys.executable, "-m", "ruff", "format", "--isolated", "--no-cache"]
            command += [
                "--line-length",
                str(width),
                "--target-version",
                "py311",
                str(Path(scratch) / str(width)),
            ]
            completed = subprocess.run(command, capture_output=True, text=True, check=False)
            if completed.returncode:
                raise GenerationError(f"ruff format failed:\n{completed.stderr}")
            for path, snippet in entries:
                result[id(snippet)] = path.read_text()
    return result


# ---------------------------------------------------------------- the pairs


def twin_of(source: Path) -> Path:
    return source.with_name(_ASYNC_FILE.sub(r"\1not is_async", source.name, count=1))


def async_sources() -> list[Path]:
    return sorted(path for path in TEMPLATE.rglob("*.jinja") if _ASYNC_FILE.match(path.name))


def sample_context() -> dict[str, Any]:
    """Answers to measure rendered lengths with: the defaults, as the render tier lints them."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    # The longest package name the render tier lints (tests/test_package_names.py): lines wrap
    # where it would overflow them, so that the twins are lint-clean for every name it checks.
    context: dict[str, Any] = {"package_name": "user_service"}
    env = jinja2.Environment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    for name, question in config.items():
        if name.startswith("_") or not isinstance(question, dict) or name in context:
            continue
        default = question.get("default")
        if isinstance(default, str):
            default = env.from_string(default).render(**context).strip()
        context[name] = default
    return context


def generate_all() -> dict[Path, str]:
    """The sync twin of every async source, as it should be committed."""
    drivers = load_drivers()
    sample = sample_context()
    masked: dict[str, Masked] = {}
    rewritten: dict[str, tuple[str, set[int]]] = {}
    problems = []
    for source in async_sources():
        name = str(source.relative_to(TEMPLATE))
        try:
            decided = decide_is_async(source.read_text(), drivers, name)
            scaffold = ".py-tpl" in source.name
            masked[name] = mask(decided, sample, scaffold)
            code, changed = merge_withs(*rewrite(masked[name].text))
        except (SyntaxError, tokenize.TokenError) as error:
            problems.append(f"{name}: not Python once the Jinja is masked: {error}")
            continue
        except GenerationError as error:
            problems.append(f"{name}: {error}")
            continue
        rewritten[name] = (code, changed)
    if problems:
        raise GenerationError("\n".join(problems))
    formatted = format_changed(rewritten)
    # Rebuilt imports are one line each; ruff wraps the long ones.
    imported = {name: fix_imports(text, masked[name].tag_lines) for name, text in formatted.items()}
    changed_imports = {
        name: (text, _import_lines(text))
        for name, text in imported.items()
        if text != formatted[name]
    }
    imported.update(format_changed(changed_imports))
    twins = {}
    for name, entry in masked.items():
        source = TEMPLATE / name
        header = HEADER.format(source=source.name.replace("{", "(").replace("}", ")"))
        twins[twin_of(source)] = header + entry.unmask(imported[name])
    return twins


def _import_lines(text: str) -> set[int]:
    return {
        line
        for statement in ast.parse(text).body
        if isinstance(statement, ast.Import | ast.ImportFrom)
        for line in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the sync templates from the async ones.")
    parser.add_argument("--check", action="store_true", help="fail if a committed twin differs")
    arguments = parser.parse_args(argv)
    try:
        twins = generate_all()
    except GenerationError as error:
        print(f"async_to_sync: {error}", file=sys.stderr)
        return 2
    stale = []
    for path, text in twins.items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if arguments.check:
            name = str(path.relative_to(ROOT))
            diff = difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True), name, "generated"
            )
            sys.stdout.writelines(diff)
        else:
            path.write_text(text)
    if arguments.check and stale:
        print(
            f"{len(stale)} sync template(s) out of date: run `uv run python tools/async_to_sync.py`"
        )
        return 1
    if not arguments.check:
        print(f"{len(twins)} sync templates, {len(stale)} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
