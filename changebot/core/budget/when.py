"""The pipeline ``when:`` language: a Lark LALR grammar and three-valued evaluation.

Every form seen in real ``pipeline.yaml`` files is covered::

    event == "push" || event == "pull_request"
    files_changed("migrations/**")
    branch == "main" || tag != ""
    step_succeeded("canary-analyze") && canary_slo_passed
    !step_succeeded("canary-promote-100")
    tag =~ "^v[0-9]+\\.[0-9]+\\.[0-9]+$"
    event == "schedule" || (event == "workflow_dispatch" && input.workflow == "release-train")

Operators, loosest first: ``||``, ``&&``, ``!``, then one comparison (``==``, ``!=``, ``=~``; no chaining).
Operands are double- or single-quoted strings (backslash escapes), numbers, ``true``/``false``, dotted names
and calls of the two known functions. ``=~`` is a regular-expression search run by RE2 (linear time, so a
hostile pattern cannot hang changebot).

Evaluation is three-valued (Kleene logic): every value is known or ``UNKNOWN``. A name that cannot be known
when a pull request is opened (``canary_slo_passed``, ``input.*`` on a dispatch) is ``UNKNOWN``, and so the
step *may run*; it is not an error. ``false && UNKNOWN`` is false, ``true || UNKNOWN`` true.

Nothing runs the text: it is parsed (after length and nesting checks, so a 100 KB or 10,000-deep expression
is a finding, never a ``RecursionError`` or a hang) and walked. Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark, Tree

#: Longest ``when:`` accepted, in characters.
MAX_LENGTH = 4096
#: Deepest nesting of parentheses and ``!`` accepted.
MAX_DEPTH = 64

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr ("||" and_expr)*
?and_expr: not_expr ("&&" not_expr)*
?not_expr: "!" not_expr -> not_
         | cmp
?cmp: operand "==" operand -> eq
    | operand "!=" operand -> ne
    | operand "=~" operand -> match
    | operand
?operand: STRING -> string
        | SQSTRING -> sqstring
        | NUMBER -> number
        | "true" -> true
        | "false" -> false
        | NAME "(" [operand ("," operand)*] ")" -> call
        | NAME ("." NAME)* -> name
        | "(" or_expr ")"
STRING: /"(\\.|[^"\\\n])*"/
SQSTRING: /'(\\.|[^'\\\n])*'/
NUMBER: /-?[0-9]+(\.[0-9]+)?/
NAME: /[A-Za-z_][A-Za-z0-9_-]*/
%ignore /[ \t\r\n]+/
"""


class Unknown(enum.Enum):
    """The third truth value: cannot be known now."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown.UNKNOWN
Value = str | float | bool | None | Unknown
Truth = bool | Unknown


class Runs(enum.StrEnum):
    """Whether a step runs: the three answers."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


def runs(truth: Truth) -> Runs:
    """``True`` -> yes, ``False`` -> no, ``UNKNOWN`` -> maybe."""
    if truth is UNKNOWN:
        return Runs.MAYBE
    return Runs.YES if truth else Runs.NO


class WhenError(Exception):
    """A ``when:`` that cannot be parsed or evaluated; ``code`` is the finding code, ``column`` 1-based."""

    def __init__(self, code: str, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.code, self.column = code, column


@dataclass(frozen=True)
class Facts:
    """What is known about the run being judged.

    ``names`` maps dotted names (``event``, ``branch``, ``tag``, ``input.type``) to values; a name absent from
    it is ``UNKNOWN``. ``files_changed`` answers a glob (``None`` for an event without a diff: then every glob is
    false). ``step`` answers ``step_succeeded(id)``: it raises ``WhenError`` for an id it does not know.
    """

    names: Mapping[str, Value]
    files: frozenset[str] | None
    step: Callable[[str], Truth]


def _build() -> Lark:
    from lark import Lark  # noqa: PLC0415 - lazy: keeps start-up fast

    return Lark(GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)


def grammar_digest() -> str:
    """SHA-256 of ``GRAMMAR``: the precomputed tables are used only when they were built from this text."""
    import hashlib  # noqa: PLC0415 - lazy: only needed here

    return hashlib.sha256(GRAMMAR.encode()).hexdigest()


@cache
def _parser() -> Lark:
    """The LALR parser, from the precomputed tables in ``_when_tables`` when they match ``GRAMMAR``.

    Building the tables from the grammar text costs Lark ~80 ms per process (it first builds a parser for its
    own grammar language); loading the serialized tables costs a few. ``tables_source()`` regenerates the file
    and a test fails when it is stale.
    """
    from lark import Lark  # noqa: PLC0415 - lazy: keeps start-up fast

    try:
        from changebot.core.budget import _when_tables  # noqa: PLC0415 - lazy: keeps start-up fast
    except ImportError:  # pragma: no cover - the module ships with the package
        return _build()
    if grammar_digest() != _when_tables.DIGEST:  # pragma: no cover - guarded by a test
        return _build()
    try:
        loaded: Lark = Lark._load_from_dict(_when_tables.DATA, _when_tables.MEMO)  # type: ignore[no-untyped-call]
    except Exception:  # pragma: no cover - a Lark whose table format changed: build instead
        return _build()
    return loaded


def tables_source() -> str:
    """The text of ``changebot/core/budget/_when_tables.py`` for the current ``GRAMMAR`` and Lark.

    The state numbering depends on Python's hash seed, so two runs give different but equivalent tables; the
    test compares what the shipped tables parse, not their text.
    """
    from lark.grammar import Rule  # noqa: PLC0415 - only for regeneration
    from lark.lexer import TerminalDef  # noqa: PLC0415

    data, memo = _build().memo_serialize([TerminalDef, Rule])
    return (
        '"""Generated by ``changebot.core.budget.when.tables_source()`` from ``GRAMMAR``: do not edit."""\n'
        "# ruff: noqa: E501\n"
        "# fmt: off\n"
        "from typing import Any\n\n"
        f"DIGEST = {grammar_digest()!r}\n"
        f"DATA: dict[str, Any] = {data!r}\n"
        f"MEMO: dict[int, Any] = {memo!r}\n"
    )


def _check_shape(text: str) -> None:
    """Refuse over-long or over-nested text before the parser sees it (no deep recursion anywhere).

    The tree is at most as deep as the deepest parenthesis plus the number of ``!`` operators, so both are
    counted (outside quoted strings) and capped at ``MAX_DEPTH``.
    """
    if len(text) > MAX_LENGTH:
        raise WhenError("when-too-long", f"expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    depth = nots = 0
    quote: str | None = None
    escaped = False
    for index, char in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "!" and text[index + 1 : index + 2] != "=":
            nots += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if depth + nots > MAX_DEPTH:
            raise WhenError(
                "when-too-deep", f"expression nests parentheses and '!' deeper than {MAX_DEPTH} levels", index + 1
            )


def parse(text: str) -> Tree[Any]:
    """Parse a ``when:`` expression or raise ``WhenError`` (``when-syntax``, ``when-too-long``, ...)."""
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken  # noqa: PLC0415 - lazy: keeps start-up fast

    _check_shape(text)
    try:
        return _parser().parse(text)
    except UnexpectedEOF as exc:
        raise WhenError("when-syntax", "expression ends too early (an operand or ')' is missing)", None) from exc
    except UnexpectedToken as exc:
        expected = ", ".join(sorted({_terminal(name) for name in exc.expected}))
        if exc.token.type == "$END":
            raise WhenError("when-syntax", f"expression ends too early (expected one of: {expected})") from exc
        raise WhenError(
            "when-syntax", f"unexpected {str(exc.token)[:40]!r} (expected one of: {expected})", exc.column
        ) from exc
    except UnexpectedCharacters as exc:
        raise WhenError("when-syntax", f"unexpected character {exc.char!r}", exc.column) from exc
    except LarkError as exc:  # pragma: no cover - any other parser complaint
        raise WhenError("when-syntax", str(exc), None) from exc


def _terminal(name: str) -> str:
    """A terminal's name as a user writes it (``'||'`` rather than ``__ANON_0``)."""
    if name == "$END":
        return "end of expression"
    named = {"STRING": "a string", "SQSTRING": "a string", "NUMBER": "a number", "NAME": "a name"}
    if name in named:
        return named[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:  # pragma: no cover - every expected terminal is defined
        return name
    return repr(pattern.value)


def _unquote(token: str) -> str:
    body = token[1:-1]
    out: list[str] = []
    index = 0
    simple = {"n": "\n", "t": "\t", "r": "\r"}
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            out.append(simple.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _truth(value: Value) -> Truth:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, bool):
        return value
    return value not in (None, "", 0, 0.0)


def _search(pattern: str, subject: str) -> bool:
    import re2  # noqa: PLC0415 - lazy: keeps start-up fast

    options = re2.Options()
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise WhenError("when-bad-regex", f"regular expression {pattern!r} does not compile: {exc}") from exc
    return compiled.search(subject) is not None


def glob_match(glob: str, path: str) -> bool:
    """git-style glob: ``*`` and ``?`` stay inside one path segment, ``**`` spans any number of segments."""
    return _glob_regex(glob).fullmatch(path) is not None


@lru_cache(maxsize=1024)
def _glob_regex(glob: str) -> Any:
    parts: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if glob.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


class _Evaluator:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def value(self, node: Tree[Any] | Any) -> Value:
        from lark import Token  # noqa: PLC0415 - lazy: keeps start-up fast

        if isinstance(node, Token):  # pragma: no cover - every token is wrapped by an alias rule
            return str(node)
        kind = node.data
        if kind in ("string", "sqstring"):
            return _unquote(str(node.children[0]))
        if kind == "number":
            return float(str(node.children[0]))
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "name":
            dotted = ".".join(str(c) for c in node.children)
            return self.facts.names.get(dotted, UNKNOWN)
        if kind == "call":
            return self.call(node)
        return self.truth(node)

    def truth(self, node: Tree[Any]) -> Truth:  # noqa: PLR0912 - one branch per operator
        kind = node.data
        if kind == "or_expr":
            result: Truth = False
            for child in node.children:
                part = self.truth(child)
                if part is True:
                    return True
                if part is UNKNOWN:
                    result = UNKNOWN
            return result
        if kind == "and_expr":
            result = True
            for child in node.children:
                part = self.truth(child)
                if part is False:
                    return False
                if part is UNKNOWN:
                    result = UNKNOWN
            return result
        if kind == "not_":
            inner = self.truth(node.children[0])
            return UNKNOWN if inner is UNKNOWN else not inner
        if kind in ("eq", "ne"):
            left, right = (self.value(c) for c in node.children)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            same = left == right
            return same if kind == "eq" else not same
        if kind == "match":
            subject, pattern = (self.value(c) for c in node.children)
            if subject is UNKNOWN or pattern is UNKNOWN:
                return UNKNOWN
            return _search(str(pattern), "" if subject is None else str(subject))
        return _truth(self.value(node))

    def call(self, node: Tree[Any]) -> Truth:
        name = str(node.children[0])
        args = [self.value(c) for c in node.children[1:]]
        if name not in ("files_changed", "step_succeeded"):
            raise WhenError(
                "when-unknown-function",
                f"unknown function {name}(): expected files_changed(glob) or step_succeeded(id)",
                _column(node),
            )
        if len(args) != 1:
            raise WhenError(
                "when-bad-arguments",
                f"{name}() takes exactly one argument, got {len(args)}",
                _column(node),
            )
        arg = args[0]
        if arg is UNKNOWN:
            return UNKNOWN
        if not isinstance(arg, str):
            raise WhenError("when-bad-arguments", f"{name}() takes a string, got {arg!r}", _column(node))
        if name == "files_changed":
            if self.facts.files is None:
                return False
            return any(glob_match(arg, path) for path in self.facts.files)
        return self.facts.step(arg)


def _column(node: Tree[Any]) -> int | None:
    column = getattr(node.children[0], "column", None)
    return column if isinstance(column, int) else None


def evaluate(tree: Tree[Any], facts: Facts) -> Truth:
    """The truth of a parsed expression under ``facts``; raises ``WhenError`` for unknown functions."""
    return _Evaluator(facts).truth(tree)
