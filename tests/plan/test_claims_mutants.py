"""Which number a checkout may claim, at the ends of the range, and what a claim or a release replaces.

``inv dev claim`` takes the first of :func:`candidates`; a number off by one at either end of
``instances:``, a claim of another stack counted, or a kept stale claim would hand two
checkouts one instance. Mutation testing left the range ends and the stack filters unchecked.
"""
from __future__ import annotations

from multistack.model.claims import Claim, Registry
from multistack.plan.claims import candidates, engine_busy, with_claim, without

KEY = "shop:stack.yaml"
OTHER = "other:stack.yaml"


def test_candidates_run_from_first_to_last_inclusive() -> None:
    assert candidates(2, 5, Registry(), KEY, "/me") == [2, 3, 4, 5]
    assert candidates(7, 7, Registry(), KEY, "/me") == [7]


def test_our_own_claim_is_a_candidate_and_busy_numbers_never_are() -> None:
    registry = Registry((Claim(KEY, 2, "/me", ""), Claim(KEY, 3, "/a", ""), Claim(OTHER, 4, "/a", "")))
    assert candidates(2, 5, registry, KEY, "/me", busy=[5]) == [2, 4]


def test_engine_busy_leaves_out_every_claimed_number_of_the_stack_and_ours() -> None:
    registry = Registry((Claim(KEY, 1, "/a", ""), Claim(KEY, 2, "/me", ""), Claim(OTHER, 3, "/a", "")))
    assert engine_busy([0, 1, 2, 3, 4], registry, KEY, ours=[4]) == {0, 3}
    assert engine_busy([0, 1], Registry(), KEY, ours=()) == {0, 1}


def test_a_claim_replaces_the_same_number_and_the_same_checkouts_old_claim_of_that_stack_only() -> None:
    registry = Registry((Claim(KEY, 1, "/a", "old"), Claim(KEY, 2, "/b", ""), Claim(KEY, 3, "/c", ""),
                         Claim(OTHER, 1, "/b", ""), Claim(OTHER, 2, "/d", "")))
    new = Claim(KEY, 1, "/b", "new")
    assert with_claim(registry, new).claims == (Claim(KEY, 3, "/c", ""), Claim(OTHER, 1, "/b", ""),
                                                Claim(OTHER, 2, "/d", ""), new)


def test_a_claim_on_an_empty_registry_is_the_only_one() -> None:
    claim = Claim(KEY, 0, "/a", "t")
    assert with_claim(Registry(), claim) == Registry((claim,))


def test_a_release_drops_the_named_numbers_of_that_stack_only() -> None:
    registry = Registry((Claim(KEY, 1, "/a", ""), Claim(KEY, 2, "/b", ""), Claim(KEY, 3, "/c", ""),
                         Claim(OTHER, 1, "/a", "")))
    assert without(registry, KEY, iter([1, 3])).claims == (Claim(KEY, 2, "/b", ""), Claim(OTHER, 1, "/a", ""))
    assert without(registry, KEY, []) == registry
