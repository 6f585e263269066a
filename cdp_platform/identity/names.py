"""When two first names can belong to one person.

The same rule in SQL (record pairs, in the warehouse) and in Python (whole
clusters, while they are merged), so both layers agree on who is who. Names
are compared after nickname resolution (`first_name_canonical`). They agree
when equal, when one is the other's initial, when they are this similar
(Jaro-Winkler, which catches a typed slip), or when one record has first and
last name typed into the wrong boxes.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish


def first_names_agree_sql(a: str, b: str, similarity: float) -> str:
    """SQL: the records aliased `a` and `b` may be one person by their names."""

    def agree(x: str, y: str) -> str:
        return (
            f"({x} = {y} OR (length({x}) = 1 AND starts_with({y}, {x})) "
            f"OR (length({y}) = 1 AND starts_with({x}, {y})) "
            f"OR jaro_winkler_similarity({x}, {y}) >= {similarity})"
        )

    fa, fb = f"{a}.first_name_canonical", f"{b}.first_name_canonical"
    la, lb = f"{a}.last_name", f"{b}.last_name"
    swapped_a = f"({la} IS NOT NULL AND {agree(la, fb)} AND ({lb} IS NULL OR {agree(fa, lb)}))"
    swapped_b = f"({lb} IS NOT NULL AND {agree(fa, lb)} AND ({la} IS NULL OR {agree(la, fb)}))"
    return f"({fa} IS NULL OR {fb} IS NULL OR {agree(fa, fb)} OR {swapped_a} OR {swapped_b})"


@lru_cache(maxsize=200_000)
def _agree(x: str, y: str, similarity: float) -> bool:
    if x == y:
        return True
    if len(x) == 1 or len(y) == 1:
        return x[0] == y[0]
    return jellyfish.jaro_winkler_similarity(x, y) >= similarity


def names_agree(a: tuple[str, str | None], b: tuple[str, str | None], similarity: float) -> bool:
    """(first, last) of two records; the first names are present."""
    (fa, la), (fb, lb) = a, b
    if _agree(fa, fb, similarity):
        return True
    if la and _agree(la, fb, similarity) and (lb is None or _agree(fa, lb, similarity)):
        return True
    return bool(lb and _agree(fa, lb, similarity) and (la is None or _agree(la, fb, similarity)))
