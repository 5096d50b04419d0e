"""A hand-written parser for the ``when:`` language that needs no Lark, for expressions that are well formed.

``changebot.core.budget.when.GRAMMAR`` stays the definition of the language: this module accepts a subset of
what that grammar accepts (in practice all of it) and builds the very tree Lark builds for it (same rule names,
same tokens, same 1-based columns). Whatever it does not accept goes to the Lark parser, which then either
parses it too or says exactly what is wrong, so error messages are Lark's. Importing Lark costs more than
parsing every ``when:`` of a pipeline, which is why the common case does without it. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)
      | (?P<STRING>"(?:\\.|[^"\\\n])*")
      | (?P<SQSTRING>'(?:\\.|[^'\\\n])*')
      | (?P<NUMBER>-?[0-9]+(?:\.[0-9]+)?)
      | (?P<NAME>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<OP>\|\||&&|==|!=|=~|!|\(|\)|,|\.)""",
    re.VERBOSE,
)
_KEYWORDS = {"true": "TRUE", "false": "FALSE"}
_COMPARISONS = {"==": "eq", "!=": "ne", "=~": "match"}
_LITERALS = {"STRING": "string", "SQSTRING": "sqstring", "NUMBER": "number"}


class Token(str):
    """A terminal as Lark's ``Token`` presents it: the text, its ``type`` and 1-based ``column``."""

    type: str
    column: int

    def __new__(cls, type_: str, value: str, column: int) -> Token:
        token = super().__new__(cls, value)
        token.type, token.column = type_, column
        return token


@dataclass(frozen=True)
class Node:
    """A rule's match as Lark's ``Tree`` presents it: the rule (or alias) name and the children."""

    data: str
    children: tuple[Node | Token, ...]


class _Rejected(Exception):
    """Not accepted here: the Lark parser decides."""


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Rejected
        kind, value = match.lastgroup or "", match.group()
        if kind != "ws":
            column = position - text.rfind("\n", 0, position)
            out.append(Token(_KEYWORDS.get(value, kind) if kind == "NAME" else kind, value, column))
        position = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.index = tokens, 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, *accepted: str) -> Token:
        token = self.peek()
        if token is None or (token.type if token.type != "OP" else str(token)) not in accepted:
            raise _Rejected
        self.index += 1
        return token

    def at(self, op: str) -> bool:
        token = self.peek()
        return token is not None and token.type == "OP" and token == op

    def chain(self, rule: str, op: str) -> Node:
        parts = [self.and_expr() if rule == "or_expr" else self.not_expr()]
        while self.at(op):
            self.index += 1
            parts.append(self.and_expr() if rule == "or_expr" else self.not_expr())
        return parts[0] if len(parts) == 1 else Node(rule, tuple(parts))

    def or_expr(self) -> Node:
        return self.chain("or_expr", "||")

    def and_expr(self) -> Node:
        return self.chain("and_expr", "&&")

    def not_expr(self) -> Node:
        if self.at("!"):
            self.index += 1
            return Node("not_", (self.not_expr(),))
        left = self.operand()
        token = self.peek()
        if token is not None and token.type == "OP" and token in _COMPARISONS:
            self.index += 1
            return Node(_COMPARISONS[token], (left, self.operand()))
        return left

    def operand(self) -> Node:
        token = self.take("STRING", "SQSTRING", "NUMBER", "TRUE", "FALSE", "NAME", "(")
        if token.type in _LITERALS:
            return Node(_LITERALS[token.type], (token,))
        if token.type in ("TRUE", "FALSE"):
            return Node(token.type.lower(), ())
        if token.type == "OP":
            inner = self.or_expr()
            self.take(")")
            return inner
        if self.at("("):
            self.index += 1
            args: list[Node] = []
            if not self.at(")"):
                args.append(self.operand())
                while self.at(","):
                    self.index += 1
                    args.append(self.operand())
            self.take(")")
            return Node("call", (token, *args))
        names = [token]
        while self.at("."):
            self.index += 1
            names.append(self.take("NAME"))
        return Node("name", tuple(names))


def parse_well_formed(text: str) -> Node | None:
    """The tree Lark would build for ``text``, or ``None`` when this parser leaves ``text`` to Lark."""
    try:
        parser = _Parser(_tokens(text))
        tree = parser.or_expr()
    except _Rejected:
        return None
    return tree if parser.peek() is None else None
