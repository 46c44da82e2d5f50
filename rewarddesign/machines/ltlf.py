"""LTLf tasks as reward machines, by formula progression.

An LTLf formula (linear temporal logic on finite traces) states a task over the labels of an
episode: ``"F(coffee & F office) & G !plant"`` is "get coffee, then reach the office, and never
step on a plant". :func:`from_ltlf` turns it into a :class:`~rewarddesign.machines.RewardMachine`
that pays 1 on the step at which the trace so far first satisfies the formula (the formula would
hold if the episode ended there) and stops there, and stops without reward as soon as no
continuation can satisfy it.

How: the formula is put in negation normal form and *progressed* through each label set
(Bacchus and Kabanza 2000; the construction LTL2Action uses): ``prog(F f, s) = prog(f, s) | F f``,
``prog(G f, s) = prog(f, s) & G f``, ``prog(f U g, s) = prog(g, s) | (prog(f, s) & f U g)``,
``prog(X f, s) = f``. The residual formulas, simplified to a canonical form (flattened, sorted,
without duplicates, constants folded), are the machine's states; whether a one-step trace ``s``
satisfies a residual ``r`` (:func:`holds_at_end`) decides the reward. Residuals from which no
label sequence reaches acceptance are merged into the end, and the machine is minimised by
partition refinement, so equivalent residuals become one state.

Semantics at the end of a trace: ``X f`` (strong next) is false at the last step, its dual ``N f``
(weak next, from ``!X f = N !f``) true; ``F f``, ``G f``, ``f U g`` at the last step reduce to ``f``,
``f``, ``g``.

Example:
    >>> rm = from_ltlf("F(coffee & F office) & G !plant")
    >>> state = rm.initial
    >>> for labels in [set(), {"coffee"}, set(), {"office"}]:
    ...     state, reward = rm.step(state, labels)
    ...     print(reward, rm.is_terminal(state))
    0.0 False
    0.0 False
    0.0 False
    1.0 True
    >>> rm.n_states
    3
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rewarddesign.machines.formula import Formula, label_sets, parse_ltlf
from rewarddesign.machines.machine import RewardMachine, State

__all__ = ["from_ltlf", "to_nnf", "progress", "holds_at_end", "simplify"]

TRUE = Formula("true")
FALSE = Formula("false")
#: The most residual formulas explored before the construction gives up.
MAX_STATES = 5000


def _key(f: Formula) -> str:
    return str(f)


def simplify(f: Formula) -> Formula:
    """A canonical form of ``f``: nested ``&``/``|`` flattened, operands sorted and unique, constants folded.

    ``a & !a`` is false and ``a | !a`` true for a label ``a``; temporal operators of constants fold
    (``F false = false``, ``G true = true``, ``X`` of a constant is kept: it still needs a next step).
    """
    op = f.op
    if op in ("and", "or"):
        unit, zero = (TRUE, FALSE) if op == "and" else (FALSE, TRUE)
        parts: dict[str, Formula] = {}
        for arg in f.args:
            arg = simplify(arg)
            if arg == zero:
                return zero
            if arg == unit:
                continue
            for part in arg.args if arg.op == op else (arg,):
                parts[_key(part)] = part
        literals = {p.name for p in parts.values() if p.op == "name"}
        if any(p.op == "not" and p.args[0].op == "name" and p.args[0].name in literals for p in parts.values()):
            return zero
        if not parts:
            return unit
        if len(parts) == 1:
            return next(iter(parts.values()))
        return Formula(op, tuple(parts[k] for k in sorted(parts)))
    if op == "not":
        inner = simplify(f.args[0])
        if inner.op in ("true", "false"):
            return FALSE if inner == TRUE else TRUE
        if inner.op == "not":
            return inner.args[0]
        return Formula("not", (inner,))
    if op in ("F", "G", "X", "N"):
        inner = simplify(f.args[0])
        if op in ("F", "G") and inner.op in ("true", "false"):
            return inner
        if op in ("F", "G") and inner.op == op:  # FF f = F f, GG f = G f
            return inner
        return Formula(op, (inner,))
    if op in ("U", "R"):
        left, right = simplify(f.args[0]), simplify(f.args[1])
        if right.op in ("true", "false"):
            return right
        if op == "U" and left == FALSE:
            return right
        if op == "R" and left == TRUE:
            return right
        if op == "U" and left == TRUE:
            return simplify(Formula("F", (right,)))
        if op == "R" and left == FALSE:
            return simplify(Formula("G", (right,)))
        return Formula(op, (left, right))
    return f


def to_nnf(f: Formula, negate: bool = False) -> Formula:
    """Negation normal form: ``!`` only before label names (``!X f = N !f``, ``!(f U g) = !f R !g``)."""
    op = f.op
    if op in ("true", "false"):
        return f if not negate else (FALSE if op == "true" else TRUE)
    if op == "name":
        return Formula("not", (f,)) if negate else f
    if op == "not":
        return to_nnf(f.args[0], not negate)
    if op in ("and", "or"):
        new_op = op if not negate else ("or" if op == "and" else "and")
        return Formula(new_op, tuple(to_nnf(a, negate) for a in f.args))  # type: ignore[arg-type]
    if op in ("X", "N"):
        new_op = op if not negate else ("N" if op == "X" else "X")
        return Formula(new_op, (to_nnf(f.args[0], negate),))  # type: ignore[arg-type]
    if op in ("F", "G"):
        new_op = op if not negate else ("G" if op == "F" else "F")
        return Formula(new_op, (to_nnf(f.args[0], negate),))  # type: ignore[arg-type]
    # U and R
    new_op = op if not negate else ("R" if op == "U" else "U")
    return Formula(new_op, (to_nnf(f.args[0], negate), to_nnf(f.args[1], negate)))  # type: ignore[arg-type]


def progress(f: Formula, labels: frozenset[str]) -> Formula:
    """The residual of an NNF formula after one step with the true propositions ``labels`` (simplified)."""
    return simplify(_progress(f, labels))


def _progress(f: Formula, labels: frozenset[str]) -> Formula:
    op = f.op
    if op in ("true", "false"):
        return f
    if op == "name":
        return TRUE if f.name in labels else FALSE
    if op == "not":
        return FALSE if f.args[0].name in labels else TRUE
    if op in ("and", "or"):
        return Formula(op, tuple(_progress(a, labels) for a in f.args))
    if op in ("X", "N"):
        return f.args[0]
    if op == "F":
        return Formula("or", (_progress(f.args[0], labels), f))
    if op == "G":
        return Formula("and", (_progress(f.args[0], labels), f))
    left, right = f.args
    if op == "U":
        return Formula("or", (_progress(right, labels), Formula("and", (_progress(left, labels), f))))
    return Formula("and", (_progress(right, labels), Formula("or", (_progress(left, labels), f))))  # R


def holds_at_end(f: Formula, labels: frozenset[str]) -> bool:
    """Whether the one-step trace ``labels`` satisfies the NNF formula ``f`` (the trace ends after it)."""
    op = f.op
    if op == "true":
        return True
    if op == "false":
        return False
    if op == "name":
        return f.name in labels
    if op == "not":
        return f.args[0].name not in labels
    if op == "and":
        return all(holds_at_end(a, labels) for a in f.args)
    if op == "or":
        return any(holds_at_end(a, labels) for a in f.args)
    if op == "X":
        return False
    if op == "N":
        return True
    if op in ("F", "G"):
        return holds_at_end(f.args[0], labels)
    return holds_at_end(f.args[1], labels)  # U, R: the right operand must hold now


_ACCEPT, _REJECT = "accept", "reject"


def from_ltlf(formula: str, reward: float = 1.0) -> RewardMachine:
    """The minimal reward machine of an LTLf task.

    Args:
        formula: An LTLf formula over label names (:func:`~rewarddesign.machines.formula.parse_ltlf`:
            ``X``, ``F``, ``G``, ``U``, ``&``, ``|``, ``!``, parentheses, ``true``, ``false``).
        reward: What the machine pays on the step that first satisfies the formula.

    Returns:
        A machine with integer states: ``0`` the initial one, the highest the single terminal
        state (reached with ``reward`` on satisfaction, with 0 when the task can no longer be
        satisfied). Its edges are minimal-ish sums of products over the formula's names; self-loops
        paying 0 are left implicit.

    Raises:
        TypeError: ``formula`` is not a string.
        ValueError: ``formula`` does not parse, is unsatisfiable (no trace ever satisfies it), or
            needs more than :data:`MAX_STATES` residuals; ``reward`` is not finite.

    Example:
        >>> rm = from_ltlf("a U b")
        >>> [rm.step(0, labels) for labels in ({"b"}, {"a"}, set())]
        [(1, 1.0), (0, 0.0), (1, 0.0)]
    """
    import math

    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise ValueError(f"reward must be a finite number, got {reward!r}")
    parsed = parse_ltlf(formula)
    names = sorted(parsed.names)
    sets = list(label_sets(names))
    start = simplify(to_nnf(parsed))
    # explore the residuals; each maps every label set to a residual key, _ACCEPT or _REJECT
    residuals: dict[str, Formula] = {_key(start): start}
    moves: dict[str, list[str]] = {}
    queue = deque([_key(start)])
    while queue:
        key = queue.popleft()
        f = residuals[key]
        row = []
        for labels in sets:
            if holds_at_end(f, labels):
                row.append(_ACCEPT)
                continue
            nxt = progress(f, labels)
            if nxt == FALSE:
                row.append(_REJECT)
                continue
            nkey = _key(nxt)
            if nkey not in residuals:
                if len(residuals) >= MAX_STATES:
                    raise ValueError(f"formula {formula!r} needs more than {MAX_STATES} residual formulas")
                residuals[nkey] = nxt
                queue.append(nkey)
            row.append(nkey)
        moves[key] = row
    # residuals that can never reach acceptance are dead: the task has failed
    alive = {k for k, row in moves.items() if _ACCEPT in row}
    changed = True
    while changed:
        changed = False
        for k, row in moves.items():
            if k not in alive and any(t in alive for t in row):
                alive.add(k)
                changed = True
    if _key(start) not in alive:
        raise ValueError(f"formula {formula!r} is unsatisfiable: no label sequence satisfies it")
    live = [k for k in residuals if k in alive]  # in discovery order, the start first

    def target(t: str) -> str:
        return t if t in alive or t == _ACCEPT else _REJECT

    # Moore partition refinement; accept and reject are one terminal block (no outgoing edges)
    block = {k: 0 for k in live}
    end_block = -1
    while True:
        signatures: dict[tuple, int] = {}
        new_block = {}
        for k in live:
            sig = (block[k],) + tuple(
                (end_block, reward if t == _ACCEPT else 0.0)
                if target(t) in (_ACCEPT, _REJECT)
                else (block[target(t)], 0.0)
                for t in moves[k]
            )
            new_block[k] = signatures.setdefault(sig, len(signatures))
        if len(signatures) == len(set(block.values())):
            block = new_block
            break
        block = new_block
    # number the blocks by first discovery (the start's block is 0), the terminal state last
    numbers: dict[int, int] = {}
    for k in live:
        numbers.setdefault(block[k], len(numbers))
    end = len(numbers)
    transitions: dict[tuple[State, str | Formula], tuple[State, float]] = {}
    done: set[int] = set()
    for k in live:
        state = numbers[block[k]]
        if state in done:
            continue
        done.add(state)
        groups: dict[tuple[int, float], list[frozenset[str]]] = {}
        for labels, t in zip(sets, moves[k]):
            t = target(t)
            if t in (_ACCEPT, _REJECT):
                dest = (end, reward if t == _ACCEPT else 0.0)
            else:
                dest = (numbers[block[t]], 0.0)
            groups.setdefault(dest, []).append(labels)
        for dest, members in groups.items():
            if dest == (state, 0.0):
                continue  # staying put with 0 is what an unmatched label set does
            transitions[(state, cover(members, names))] = dest
    return RewardMachine(0, transitions, terminal=(end,))


def cover(members: Iterable[frozenset[str]], names: list[str]) -> Formula:
    """A sum of products over ``names`` that holds exactly for the label sets ``members``.

    Prime implicants by merging (Quine-McCluskey), then a greedy cover of the label sets.

    Example:
        >>> str(cover([frozenset(), frozenset({"a"})], ["a", "b"]))
        '!b'
    """
    minterms = {tuple(name in labels for name in names) for labels in members}
    if not minterms:
        return FALSE
    implicants: set[tuple[bool | None, ...]] = set(minterms)  # type: ignore[arg-type]
    primes: set[tuple[bool | None, ...]] = set()
    while implicants:
        merged: set[tuple[bool | None, ...]] = set()
        used: set[tuple[bool | None, ...]] = set()
        items = sorted(implicants, key=str)
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                diff = [j for j in range(len(names)) if a[j] != b[j]]
                if len(diff) == 1 and a[diff[0]] is not None and b[diff[0]] is not None:
                    merged.add(a[: diff[0]] + (None,) + a[diff[0] + 1 :])
                    used.update((a, b))
        primes |= implicants - used
        implicants = merged

    def covers(implicant: tuple[bool | None, ...], minterm: tuple[bool, ...]) -> bool:
        return all(v is None or v == m for v, m in zip(implicant, minterm))

    chosen = []
    left = set(minterms)
    ordered = sorted(primes, key=lambda p: (sum(v is not None for v in p), str(p)))
    while left:
        best = max(ordered, key=lambda p: sum(covers(p, m) for m in left))
        chosen.append(best)
        left = {m for m in left if not covers(best, m)}
    products = []
    for implicant in chosen:
        literals = [
            Formula("name", name=n) if v else Formula("not", (Formula("name", name=n),))
            for n, v in zip(names, implicant)
            if v is not None
        ]
        products.append(literals[0] if len(literals) == 1 else Formula("and", tuple(literals)) if literals else TRUE)
    return products[0] if len(products) == 1 else Formula("or", tuple(products))
