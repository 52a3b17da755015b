"""Max-min fair shares, the arithmetic the scheduler splits slots and log lines with."""

from __future__ import annotations

import pytest

from batch_service.fair_share import fair_shares


def test_capacity_is_split_evenly_among_the_hungry() -> None:
    assert fair_shares({"a": 1_000_000, "b": 1_000_000, "c": 10}, 50_000) == {
        "a": 24_995,
        "b": 24_995,
        "c": 10,
    }


def test_what_one_cannot_use_goes_to_the_others() -> None:
    assert fair_shares({"a": 3, "b": 100}, 50) == {"a": 3, "b": 47}


def test_what_a_claimant_already_holds_counts_against_it() -> None:
    # a runs 6 jobs, b none: the 4 free slots all go to b until both are level.
    assert fair_shares({"a": 2_000, "b": 5}, 4, held={"a": 6}) == {"a": 0, "b": 4}
    assert fair_shares({"a": 2_000, "b": 5}, 8, held={"a": 6}) == {"a": 3, "b": 5}


def test_units_left_at_the_final_level_go_in_order() -> None:
    assert fair_shares({"a": 10, "b": 10, "c": 10}, 7) == {"a": 3, "b": 2, "c": 2}


@pytest.mark.parametrize("capacity", [0, 1, 5, 29, 30, 31, 1000])
def test_never_more_than_capacity_or_demand(capacity: int) -> None:
    demands = {"a": 1, "b": 7, "c": 22}
    shares = fair_shares(demands, capacity, held={"b": 3})
    assert sum(shares.values()) == min(capacity, sum(demands.values()))
    assert all(0 <= shares[key] <= demands[key] for key in demands)


def test_nobody_asking_gets_nothing() -> None:
    assert fair_shares({}, 10) == {}
    assert fair_shares({"a": 0}, 10) == {"a": 0}
