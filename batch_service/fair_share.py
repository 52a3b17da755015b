"""Max-min fair shares: how the scheduler splits what one tick can give among owners.

Capacity (free running slots, or the tick's budget of log lines) is poured like water: every
claimant rises to the same level, counting what it already holds, and nobody gets more than
it asks for; what one cannot use goes to the others. It is the allocation fair schedulers
converge to (Hadoop's fair scheduler, Kubernetes' Kueue, the DRF family, with one resource),
without preemption: what a claimant already holds is never taken back.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def fair_shares(demands: Mapping[K, int], capacity: int, held: Mapping[K, int] | None = None) -> dict[K, int]:
    """Split `capacity` among claimants: `demands[k]` units wanted, `held[k]` already theirs.

    The result gives k at most demands[k], and maximises the smallest total (held + given);
    units left over at the final level go one each to claimants in `demands` order.
    """
    held = held or {}
    wanted = {key: max(0, demand) for key, demand in demands.items()}
    capacity = max(0, capacity)

    def given_at(level: int, key: K) -> int:
        return min(wanted[key], max(0, level - held.get(key, 0)))

    def total_at(level: int) -> int:
        return sum(given_at(level, key) for key in wanted)

    low, high = 0, max((held.get(key, 0) + want for key, want in wanted.items()), default=0)
    while low < high:  # the highest level whose total still fits
        middle = (low + high + 1) // 2
        if total_at(middle) <= capacity:
            low = middle
        else:
            high = middle - 1
    shares = {key: given_at(low, key) for key in wanted}
    spare = capacity - sum(shares.values())
    for key in wanted:
        if spare <= 0:
            break
        if shares[key] < wanted[key] and held.get(key, 0) + shares[key] == low:
            shares[key] += 1
            spare -= 1
    return shares
