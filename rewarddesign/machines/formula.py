"""Formulas over label names: the propositional edge labels of reward machines, and LTLf syntax.

A propositional formula is built from label names (identifiers: letters, digits and ``_``,
starting with a letter or ``_``), ``true``, ``false``, ``!`` (not), ``&`` (and), ``|`` (or) and
parentheses; ``!`` binds tighter than ``&``, which binds tighter than ``|``. A formula holds for a
*label set* (the propositions true at one step) when it evaluates to true with exactly those
names true.

LTLf formulas (:func:`parse_ltlf`) add the temporal operators ``X`` (next), ``F`` (eventually),
``G`` (always), as prefix operators binding like ``!``, and ``U`` (until), a binary operator binding
weaker than ``&`` and ``|`` and grouping to the right; ``X``, ``F``, ``G`` and ``U`` are then
reserved, not label names.

Example:
    >>> f = parse_formula("coffee & !plant")
    >>> f.holds({"coffee"}), f.holds({"coffee", "plant"}), sorted(f.names)
    (True, False, ['coffee', 'plant'])
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["Formula", "parse_formula", "parse_ltlf", "label_sets"]

#: The node kinds of a formula tree.
Op = Literal["true", "false", "name", "not", "and", "or", "X", "F", "G", "U", "N", "R"]

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\S))")
_TEMPORAL = frozenset({"X", "F", "G", "U"})


@dataclass(frozen=True)
class Formula:
    """A node of a formula tree (immutable and hashable, so equal formulas are equal keys).

    Attributes:
        op: ``"true"``, ``"false"``, ``"name"``, ``"not"``, ``"and"``, ``"or"``, or a temporal operator
            (``"X"``, ``"F"``, ``"G"``, ``"U"``, and in negation normal form ``"N"``, weak next, and
            ``"R"``, release).
        args: The operands (formulas), empty for constants and names.
        name: The label name of a ``"name"`` node.
    """

    op: Op
    args: tuple[Formula, ...] = ()
    name: str = ""

    @property
    def names(self) -> frozenset[str]:
        """The label names the formula mentions."""
        if self.op == "name":
            return frozenset((self.name,))
        return frozenset().union(*(arg.names for arg in self.args))

    @property
    def temporal(self) -> bool:
        """Whether a temporal operator occurs in the formula."""
        return self.op in ("X", "F", "G", "U", "N", "R") or any(arg.temporal for arg in self.args)

    def holds(self, labels: Iterable[str]) -> bool:
        """Whether this propositional formula is true when exactly ``labels`` are true.

        Raises:
            ValueError: The formula has a temporal operator.
        """
        return _holds(self, labels if isinstance(labels, (set, frozenset)) else frozenset(labels))

    def __str__(self) -> str:
        return _show(self, 0)


def _holds(f: Formula, labels: set[str] | frozenset[str]) -> bool:
    op = f.op
    if op == "name":
        return f.name in labels
    if op == "not":
        return not _holds(f.args[0], labels)
    if op == "and":
        return all(_holds(a, labels) for a in f.args)
    if op == "or":
        return any(_holds(a, labels) for a in f.args)
    if op == "true":
        return True
    if op == "false":
        return False
    raise ValueError(f"formula {f} is temporal: a label set alone does not decide it")


_PRECEDENCE = {"U": 1, "R": 1, "or": 2, "and": 3}


def _show(f: Formula, parent: int) -> str:
    if f.op in ("true", "false"):
        return f.op
    if f.op == "name":
        return f.name
    if f.op in ("not", "X", "F", "G", "N"):
        prefix = "!" if f.op == "not" else f.op
        return prefix + _show(f.args[0], 4)
    level = _PRECEDENCE[f.op]
    symbol = {"and": " & ", "or": " | ", "U": " U ", "R": " R "}[f.op]
    text = symbol.join(_show(a, level + (1 if f.op in ("U", "R") and i == 0 else 0)) for i, a in enumerate(f.args))
    return f"({text})" if level < parent or (level == parent and f.op in ("U", "R")) else text


class _Parser:
    def __init__(self, text: str, temporal: bool, argument: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"{argument} must be a string, got {type(text).__name__}")
        self.text, self.temporal, self.argument = text, temporal, argument
        self.tokens: list[str] = []
        position = 0
        stripped = text.rstrip()
        while position < len(stripped):
            match = _TOKEN.match(stripped, position)
            if match is None:  # pragma: no cover - the pattern matches any non-blank character
                break
            token = match.group(1) or match.group(2)
            if token not in ("!", "&", "|", "(", ")") and not match.group(1):
                raise ValueError(f"{argument} {text!r}: unexpected character {token!r}")
            self.tokens.append(token)
            position = match.end()
        self.position = 0

    def error(self, what: str) -> ValueError:
        at = self.tokens[self.position] if self.position < len(self.tokens) else "the end"
        return ValueError(f"{self.argument} {self.text!r}: {what}, found {at!r}")

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> Formula:
        if not self.tokens:
            raise ValueError(f"{self.argument} must not be empty, got {self.text!r}")
        f = self.until()
        if self.peek() is not None:
            raise self.error("expected an operator or the end")
        return f

    def until(self) -> Formula:
        left = self.disjunction()
        if self.temporal and self.peek() == "U":
            self.take()
            return Formula("U", (left, self.until()))
        return left

    def disjunction(self) -> Formula:
        parts = [self.conjunction()]
        while self.peek() == "|":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Formula("or", tuple(parts))

    def conjunction(self) -> Formula:
        parts = [self.unary()]
        while self.peek() == "&":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Formula("and", tuple(parts))

    def unary(self) -> Formula:
        token = self.peek()
        if token is None:
            raise self.error("expected a formula")
        if token == "!":
            self.take()
            return Formula("not", (self.unary(),))
        if self.temporal and token in ("X", "F", "G"):
            self.take()
            return Formula(token, (self.unary(),))  # type: ignore[arg-type]
        if token == "(":
            self.take()
            inner = self.until()
            if self.peek() != ")":
                raise self.error("expected ')'")
            self.take()
            return inner
        if token in ("true", "false"):
            self.take()
            return Formula(token)  # type: ignore[arg-type]
        if token in ("&", "|", ")") or (self.temporal and token in _TEMPORAL):
            raise self.error("expected a label name, 'true', 'false', '!' or '('")
        return Formula("name", name=self.take())


def parse_formula(text: str) -> Formula:
    """Parse a propositional formula over label names (``&``, ``|``, ``!``, parentheses, ``true``, ``false``).

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``text`` is empty or not a formula (the message shows where).

    Example:
        >>> str(parse_formula("a & (b | !c)"))
        'a & (b | !c)'
    """
    return _Parser(text, temporal=False, argument="formula").parse()


def parse_ltlf(text: str) -> Formula:
    """Parse an LTLf formula: propositional operators plus ``X``, ``F``, ``G`` (prefix) and ``U`` (infix).

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``text`` is empty or not a formula.

    Example:
        >>> str(parse_ltlf("F(coffee & F office) & G !plant"))
        'F(coffee & Foffice) & G!plant'
    """
    return _Parser(text, temporal=True, argument="formula").parse()


def label_sets(names: Iterable[str]) -> Iterator[frozenset[str]]:
    """Every subset of ``names`` (``2 ** len(names)`` label sets), the empty set first.

    Example:
        >>> [sorted(s) for s in label_sets(["a", "b"])]
        [[], ['a'], ['b'], ['a', 'b']]
    """
    ordered = sorted(set(names))
    for size in range(len(ordered) + 1):
        for subset in itertools.combinations(ordered, size):
            yield frozenset(subset)
