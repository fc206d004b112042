"""The pure choice of a free instance number, and the registry after a claim or a release."""
from __future__ import annotations

from hypothesis import given, strategies as st

from multistack.model.claims import Claim, Registry
from multistack.plan.claims import candidates, engine_busy, with_claim, without

KEY = "s:stack.yaml"


def _reg(*pairs: tuple[int, str]) -> Registry:
    return Registry(tuple(Claim(KEY, n, checkout, "") for n, checkout in pairs))


def test_candidates_skip_other_checkouts_and_busy_numbers_but_not_our_own() -> None:
    registry = _reg((0, "/a"), (2, "/me"))
    assert candidates(0, 4, registry, KEY, "/me", busy={1}) == [2, 3, 4]
    assert candidates(0, 4, registry, KEY, "/b") == [1, 3, 4]
    assert candidates(3, 3, _reg((3, "/a")), KEY, "/b") == []


def test_another_stacks_claims_do_not_count() -> None:
    registry = Registry((Claim("other:stack.yaml", 0, "/a", ""),))
    assert candidates(0, 1, registry, KEY, "/b") == [0, 1]


def test_engine_busy_is_what_runs_without_a_claim_and_is_not_ours() -> None:
    assert engine_busy({0, 1, 2, 3}, _reg((1, "/a")), KEY, ours={2}) == {0, 3}


def test_with_claim_replaces_a_checkouts_old_claim_and_keeps_others() -> None:
    registry = with_claim(_reg((0, "/a"), (1, "/b")), Claim(KEY, 3, "/b", ""))
    assert sorted((c.instance, c.checkout) for c in registry.claims) == [(0, "/a"), (3, "/b")]


def test_without_drops_only_the_named_numbers_of_the_stack() -> None:
    registry = Registry(_reg((0, "/a"), (1, "/b")).claims + (Claim("o:stack.yaml", 0, "/c", ""),))
    assert sorted((c.stack, c.instance) for c in without(registry, KEY, [0]).claims) == [("o:stack.yaml", 0), (KEY, 1)]


@given(st.dictionaries(st.integers(0, 9), st.sampled_from(["/a", "/b", "/me"])), st.sets(st.integers(0, 9)))
def test_candidates_are_exactly_the_numbers_nobody_else_holds_and_nothing_uses(held, busy) -> None:
    registry = _reg(*held.items())
    got = candidates(0, 9, registry, KEY, "/me", busy)
    assert got == sorted(got)
    for n in range(10):
        assert (n in got) == (n not in busy and held.get(n, "/me") == "/me")
