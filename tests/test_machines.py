"""Reward machines, their formulas, and LTLf tasks by progression: known answers and a brute-force check."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rewarddesign.machines import (
    RewardMachine,
    from_ltlf,
    holds_at_end,
    label_sets,
    parse_formula,
    parse_ltlf,
    progress,
    simplify,
    to_nnf,
)
from rewarddesign.machines.formula import Formula

# ---------------------------------------------------------------- propositional formulas


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("a", {"a"}, True),
        ("a", set(), False),
        ("!a", set(), True),
        ("a & b", {"a"}, False),
        ("a | b", {"b"}, True),
        ("a | b & c", {"a"}, True),  # & binds tighter than |
        ("(a | b) & c", {"a"}, False),
        ("!a & b", {"b"}, True),
        ("!(a & b)", {"a", "b"}, False),
        ("true", set(), True),
        ("false", {"a"}, False),
        ("coffee & !plant", {"coffee", "office"}, True),
    ],
)
def test_formula_holds(text: str, labels: set[str], expected: bool) -> None:
    assert parse_formula(text).holds(labels) is expected


@pytest.mark.parametrize("text", ["", "   ", "a &", "& a", "(a", "a)", "a b", "a $ b", "!", "a | | b"])
def test_formula_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        parse_formula(text)


def test_formula_type_and_temporal_errors() -> None:
    with pytest.raises(TypeError, match="formula must be a string"):
        parse_formula(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="temporal"):
        parse_ltlf("F a").holds({"a"})
    # the temporal letters are label names in propositional formulas
    assert parse_formula("F & G").holds({"F", "G"})


def test_formula_round_trip_and_names() -> None:
    f = parse_formula("a & (b | !c)")
    assert str(f) == "a & (b | !c)" and parse_formula(str(f)) == f
    assert f.names == {"a", "b", "c"}
    assert [sorted(s) for s in label_sets(["b", "a"])] == [[], ["a"], ["b"], ["a", "b"]]


# ---------------------------------------------------------------- the machine, traced by hand

COFFEE = RewardMachine(
    initial="start",
    transitions={
        ("start", "coffee & !plant"): ("carrying", 0.0),
        ("start", "plant"): ("broken", 0.0),
        ("carrying", "office & !plant"): ("done", 1.0),
        ("carrying", "plant"): ("broken", 0.0),
    },
    terminal=("done", "broken"),
)


@pytest.mark.parametrize(
    ("trace", "states", "rewards"),
    [
        ([set(), {"coffee"}, set(), {"office"}], ["start", "carrying", "carrying", "done"], [0, 0, 0, 1]),
        ([{"office"}, {"coffee"}, {"office"}], ["start", "carrying", "done"], [0, 0, 1]),
        ([{"coffee"}, {"plant"}], ["carrying", "broken"], [0, 0]),
        ([{"coffee", "plant"}], ["broken"], [0]),
        ([{"mail"}, {"coffee", "mail"}, {"office", "mail"}], ["start", "carrying", "done"], [0, 0, 1]),
    ],
)
def test_machine_hand_traced(trace: list[set[str]], states: list[str], rewards: list[float]) -> None:
    state = COFFEE.initial
    seen, paid = [], []
    for labels in trace:
        state, reward = COFFEE.step(state, labels)
        seen.append(state)
        paid.append(reward)
    assert seen == states and paid == rewards


def test_machine_attributes() -> None:
    assert COFFEE.initial == "start"
    assert COFFEE.states[0] == "start" and set(COFFEE.states) == {"start", "carrying", "done", "broken"}
    assert COFFEE.terminal == {"done", "broken"}
    assert COFFEE.names == {"coffee", "plant", "office"}
    assert COFFEE.index("start") == 0 and COFFEE.n_states == 4
    assert COFFEE.is_terminal("done") and not COFFEE.is_terminal("carrying")
    assert len(COFFEE.outgoing("start")) == 2
    # equal structure, equal machines
    assert COFFEE == RewardMachine("start", dict(COFFEE_TRANSITIONS), terminal=("done", "broken"))


COFFEE_TRANSITIONS = {
    ("start", "coffee & !plant"): ("carrying", 0.0),
    ("start", "plant"): ("broken", 0.0),
    ("carrying", "office & !plant"): ("done", 1.0),
    ("carrying", "plant"): ("broken", 0.0),
}


def test_machine_unmatched_labels_stay_with_zero() -> None:
    rm = RewardMachine(0, {(0, "a"): (1, 2.5)}, terminal=(1,))
    assert rm.step(0, set()) == (0, 0.0)
    assert rm.step(0, {"b"}) == (0, 0.0)
    assert rm.step(0, frozenset({"a", "b"})) == (1, 2.5)
    assert rm.step(0, ["a"]) == (1, 2.5)  # any collection of names


def test_machine_validation() -> None:
    with pytest.raises(ValueError, match=r"two edges of state 0 hold for the label set \['a', 'b'\]"):
        RewardMachine(0, {(0, "a"): (1, 0.0), (0, "b"): (2, 0.0)})
    with pytest.raises(ValueError, match="terminal state 1 must have no outgoing edge"):
        RewardMachine(0, {(0, "a"): (1, 0.0), (1, "b"): (0, 0.0)}, terminal=(1,))
    with pytest.raises(ValueError, match="must be finite"):
        RewardMachine(0, {(0, "a"): (1, float("nan"))})
    with pytest.raises(TypeError, match="must be a real number"):
        RewardMachine(0, {(0, "a"): (1, "1")})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be a mapping"):
        RewardMachine(0, [((0, "a"), (1, 0.0))])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pairs"):
        RewardMachine(0, {0: (1, 0.0)})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"transitions\[\(0, 'a &'\)\]"):
        RewardMachine(0, {(0, "a &"): (1, 0.0)})
    with pytest.raises(ValueError, match="propositional"):
        RewardMachine(0, {(0, parse_ltlf("F a")): (1, 0.0)})
    with pytest.raises(TypeError, match="hashable"):
        RewardMachine([0], {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="terminal must be an iterable"):
        RewardMachine(0, {}, terminal="done")
    # disjoint edges over different names are fine
    RewardMachine(0, {(0, "a & !b"): (1, 0.0), (0, "b"): (2, 0.0)})


def test_machine_step_errors() -> None:
    with pytest.raises(ValueError, match="is terminal"):
        COFFEE.step("done", set())
    with pytest.raises(ValueError, match="state must be a state of the machine"):
        COFFEE.step("nowhere", set())
    with pytest.raises(TypeError, match="string"):
        COFFEE.step("start", "coffee")
    with pytest.raises(TypeError, match="labels must be strings"):
        COFFEE.step("start", {1})


# ---------------------------------------------------------------- progression, operator by operator


def _prog(text: str, *trace: set[str]) -> str:
    f = simplify(to_nnf(parse_ltlf(text)))
    for labels in trace:
        f = progress(f, frozenset(labels))
    return str(f)


@pytest.mark.parametrize(
    ("text", "trace", "residual"),
    [
        ("a", [{"a"}], "true"),
        ("a", [set()], "false"),
        ("!a", [{"a"}], "false"),
        ("X a", [set()], "a"),
        ("X a", [set(), {"a"}], "true"),
        ("F a", [set()], "Fa"),
        ("F a", [{"a"}], "true"),
        ("G a", [{"a"}], "Ga"),
        ("G a", [set()], "false"),
        ("a U b", [{"a"}], "a U b"),
        ("a U b", [{"b"}], "true"),
        ("a U b", [set()], "false"),
        ("a & X b", [{"a"}], "b"),
        ("a | X b", [set()], "b"),
        ("!X a", [set()], "!a"),  # weak next of !a
        ("!F a", [set()], "G!a"),
        ("!G a", [{"a"}], "F!a"),
        ("!(a U b)", [{"a"}], "!a R !b"),
        ("F(a & F b)", [{"a"}], "F(Fb & a) | Fb"),  # canonical: operands sorted
    ],
)
def test_progression_per_operator(text: str, trace: list[set[str]], residual: str) -> None:
    assert _prog(text, *trace) == residual


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("X a", {"a"}, False),  # strong next: the trace has no next step
        ("!X a", set(), True),  # weak next holds at the end
        ("F a", {"a"}, True),
        ("G a", {"a"}, True),
        ("a U b", {"b"}, True),
        ("a U b", {"a"}, False),
        ("!(a U b)", {"a"}, True),
    ],
)
def test_holds_at_end(text: str, labels: set[str], expected: bool) -> None:
    assert holds_at_end(simplify(to_nnf(parse_ltlf(text))), frozenset(labels)) is expected


# ---------------------------------------------------------------- from_ltlf: machines and semantics


def _holds(f: Formula, trace: list[frozenset[str]], i: int = 0) -> bool:
    """Finite-trace LTL semantics, straight from the definitions (the reference for the machines)."""
    n, op = len(trace), f.op
    if op == "true":
        return True
    if op == "false":
        return False
    if op == "name":
        return f.name in trace[i]
    if op == "not":
        return not _holds(f.args[0], trace, i)
    if op == "and":
        return all(_holds(a, trace, i) for a in f.args)
    if op == "or":
        return any(_holds(a, trace, i) for a in f.args)
    if op == "X":
        return i + 1 < n and _holds(f.args[0], trace, i + 1)
    if op == "F":
        return any(_holds(f.args[0], trace, j) for j in range(i, n))
    if op == "G":
        return all(_holds(f.args[0], trace, j) for j in range(i, n))
    if op == "U":
        return any(
            _holds(f.args[1], trace, j) and all(_holds(f.args[0], trace, k) for k in range(i, j)) for j in range(i, n)
        )
    raise AssertionError(op)


FORMULAS = [
    "a",
    "!a",
    "X a",
    "X X b",
    "F a",
    "G a",
    "a U b",
    "F(a & F b)",
    "F a & G !b",
    "G(a | b)",
    "!F a",
    "!(a U b)",
    "F(a & X b)",
    "(a | b) U (a & b)",
    "X(G !a) & a",
    "!X a",
    "F a | F b",
    "G(F a)",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_from_ltlf_pays_on_the_first_satisfying_prefix(text: str) -> None:
    """Every trace over {a, b} up to length 4: reward 1 exactly at the first prefix that satisfies the formula."""
    parsed = parse_ltlf(text)
    rm = from_ltlf(text)
    sets = list(label_sets(["a", "b"]))
    for length in range(1, 5):
        for trace in itertools.product(sets, repeat=length):
            state = rm.initial
            for t in range(length):
                prefix = list(trace[: t + 1])
                first = _holds(parsed, prefix) and not any(_holds(parsed, prefix[:k]) for k in range(1, t + 1))
                if rm.is_terminal(state):
                    # ended earlier: either paid before (a shorter prefix satisfied) or no continuation can
                    break
                state, reward = rm.step(state, trace[t])
                assert reward == (1.0 if first else 0.0), (text, trace[: t + 1])
                if reward == 0.0 and rm.is_terminal(state):  # failed: no extension (up to 3 steps) satisfies
                    for extra in itertools.product(sets, repeat=3):
                        for k in range(1, 4):
                            assert not _holds(parsed, prefix + list(extra[:k])), (text, prefix, extra[:k])


@pytest.mark.parametrize(
    ("text", "n_states"),
    [
        ("F a", 2),
        ("a U b", 2),
        ("F(a & F b)", 3),
        ("F(coffee & F office) & G !plant", 3),
        ("F(a & F(b & F(c & F d))) & G !n", 5),
        ("F a & F b", 4),
        ("F(a | b)", 2),
        ("F a | F a", 2),
    ],
)
def test_from_ltlf_is_minimal(text: str, n_states: int) -> None:
    rm = from_ltlf(text)
    assert rm.n_states == n_states
    assert rm.initial == 0 and rm.terminal == {n_states - 1}


def test_from_ltlf_coffee_traced() -> None:
    rm = from_ltlf("F(coffee & F office) & G !plant")
    trace = [set(), {"office"}, {"coffee"}, set(), {"office"}]
    out = []
    state = rm.initial
    for labels in trace:
        state, reward = rm.step(state, labels)
        out.append((state, reward))
    assert out == [(0, 0.0), (0, 0.0), (1, 0.0), (1, 0.0), (2, 1.0)]
    assert rm.step(1, {"plant"}) == (2, 0.0)  # the plant ends the task without reward
    assert rm.step(0, {"coffee", "office"}) == (2, 1.0)


def test_from_ltlf_reward_and_errors() -> None:
    rm = from_ltlf("F a", reward=2.5)
    assert rm.step(0, {"a"}) == (1, 2.5)
    with pytest.raises(ValueError, match="unsatisfiable"):
        from_ltlf("F a & G !a")
    with pytest.raises(ValueError, match="unsatisfiable"):
        from_ltlf("a & !a")
    with pytest.raises(ValueError, match="formula"):
        from_ltlf("F (a")
    with pytest.raises(ValueError, match="reward"):
        from_ltlf("F a", reward=np.inf)
    with pytest.raises(TypeError):
        from_ltlf(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "rewarddesign.machines",
        "rewarddesign.machines.formula",
        "rewarddesign.machines.machine",
        "rewarddesign.machines.ltlf",
        "rewarddesign.machines.wrappers",
        "rewarddesign.machines.potential",
        "rewarddesign.machines.product",
        "rewarddesign.envs.office_world",
        "rewarddesign.envs.craft_world",
        "rewarddesign.envs.labelled_point",
    ],
)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
