"""How each person buys: a buy-till-you-die process, so purchase history carries signal.

Every person has a shopper profile drawn from a random stream of their own:
the day they first buy, the day they quietly stop buying (as most customers
do, without telling anyone), how often they buy while active, and whether
they fill big baskets. Web orders and in-store receipts both follow it, so
recency, frequency and spend predict the future the way they do in a real
shop, which is what churn and lifetime-value models learn from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MEAN_LIFETIME_DAYS = 240  # active life after the first purchase, exponential
MEAN_GAP_DAYS = 100  # days between purchases while active, gamma across people
MIN_GAP_DAYS = 7
BIG_BASKET_SHARE = 0.2


@dataclass(frozen=True)
class Shopper:
    first_day: int  # the first purchase
    last_day: int  # no purchase after this day (may lie past the period)
    gap_days: float  # mean days between purchases while active
    big_baskets: bool


def draw_shopper(seed: int, pid: str, days: int) -> Shopper:
    rng = random.Random(f"{seed}:shopper:{pid}")
    first = rng.randrange(days)
    lifetime = rng.expovariate(1 / MEAN_LIFETIME_DAYS)
    gap = max(MIN_GAP_DAYS, rng.gammavariate(2.0, MEAN_GAP_DAYS / 2.0))
    return Shopper(first, first + int(lifetime), gap, rng.random() < BIG_BASKET_SHARE)


def purchase_days(
    rng: random.Random, shopper: Shopper, days: int, since: int | None = None, slower: float = 1.0
) -> list[int]:
    """Purchase days in the period: one on `since` (default the first purchase), then
    a Poisson process at the shopper's pace (`slower` times the gap) until they stop."""
    day = shopper.first_day if since is None else since
    found = [day]
    end = min(shopper.last_day, days - 1)
    while True:
        day += max(1, round(rng.expovariate(1 / (shopper.gap_days * slower))))
        if day > end:
            return found
        found.append(day)
