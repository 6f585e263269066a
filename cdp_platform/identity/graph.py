"""Person clusters without chaining: links taken strongest first, under constraints.

Connected components let one weak or shared link chain unrelated people
together. Here records are merged one link at a time (union-find), in
priority order, and a link is refused when the person it would make is
implausible:
- first names: when both sides carry full first names, at least one pair
  must agree (nickname, typo, swapped boxes); a person's names stay one
  family, so Katherine and Kevin never meet through a "K.";
- dates of birth: when both sides have one, some pair must be equal up to
  one typed character or a day/month swap (a junior and a senior at one
  address with one name);
- limits per person from the configuration (one web-shop account, one CRM
  contact, ...).
Where a data set mistypes whole names or dates and the first two checks are
switched off, a link whose names and birth dates both disagree is still
refused.
A refused link is kept with its reason, so every decision can be explained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import jellyfish

from cdp_platform.identity.names import names_agree

Name = tuple[str, str | None]


@dataclass(frozen=True)
class PersonRules:
    name_similarity: float = 0.88
    dob_conflicts: bool = True
    max_values: dict[str, int] = field(default_factory=dict)  # attribute -> limit


def dobs_close(a: str, b: str) -> bool:
    """ISO dates one typed character apart, or with day and month swapped."""
    if a == b or jellyfish.damerau_levenshtein_distance(a, b) <= 1:
        return True
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


class PersonGraph:
    """Union-find over record indices that keeps what each cluster claims."""

    def __init__(
        self,
        names: list[Name | None],
        dobs: list[str | None],
        limited: dict[str, list[str | None]],
        rules: PersonRules,
    ):
        self.rules = rules
        self.parent = list(range(len(names)))
        self.size = [1] * len(names)
        self.names: dict[int, set[Name]] = {i: {n} for i, n in enumerate(names) if n is not None}
        self.dobs: dict[int, set[str]] = {i: {d} for i, d in enumerate(dobs) if d}
        self.limited: dict[str, dict[int, set[str]]] = {
            attr: {i: {v} for i, v in enumerate(values) if v} for attr, values in limited.items()
        }

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def conflict(self, ra: int, rb: int, check_names: bool) -> str | None:
        na, nb = self.names.get(ra), self.names.get(rb)
        names_clash = bool(na and nb and not self._names_compatible(na, nb))
        da, db = self.dobs.get(ra), self.dobs.get(rb)
        dobs_clash = bool(da and db and not any(dobs_close(x, y) for x in da for y in db))
        if check_names and names_clash:
            return "first names disagree"
        if self.rules.dob_conflicts and dobs_clash:
            return "dates of birth disagree"
        # Either may be mistyped beyond recognition, but not both at once.
        if names_clash and dobs_clash:
            return "first names and dates of birth disagree"
        for attr, limit in self.rules.max_values.items():
            va, vb = self.limited[attr].get(ra), self.limited[attr].get(rb)
            if va and vb and len(va | vb) > limit:
                return f"more than {limit} {attr} per person"
        return None

    def _names_compatible(self, na: set[Name], nb: set[Name]) -> bool:
        sim = self.rules.name_similarity
        full_a = [n for n in na if len(n[0]) > 1]
        full_b = [n for n in nb if len(n[0]) > 1]
        if full_a and full_b:
            return any(names_agree(x, y, sim) for x in full_a for y in full_b)
        return any(names_agree(x, y, sim) for x in na for y in nb)

    def link(self, a: int, b: int, check_names: bool = True) -> str | None:
        """Merge the clusters of `a` and `b`; the reason if refused, else None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        reason = self.conflict(ra, rb, check_names)
        if reason is not None:
            return reason
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        for sets in (self.names, self.dobs, *self.limited.values()):
            moved = sets.pop(rb, None)
            if moved:
                sets.setdefault(ra, set()).update(moved)
        return None

    def labels(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


def link_holders(
    graph: PersonGraph, holders: Iterable[tuple[int, bool]]
) -> list[tuple[int, int, str | None]]:
    """Records sharing one identifier value where some carry no name.

    A record without a name cannot say whose the value is. It joins the
    value's named holders only when they are one person by now; when they
    are several people (a household email) the value is contested and it
    joins no one. Returns (record, anchor, refusal) for each nameless holder.
    """
    holders = list(holders)
    named = [i for i, has_name in holders if has_name]
    nameless = [i for i, has_name in holders if not has_name]
    if len({graph.find(i) for i in named}) > 1:
        anchor = named[0]
        return [(i, anchor, "value shared by several named people") for i in nameless]
    anchor = named[0] if named else nameless[0]
    return [(i, anchor, graph.link(i, anchor)) for i in nameless if i != anchor]


def link_scored(
    graph: PersonGraph,
    pairs: list[tuple[int, int, float]],
    check_names: bool,
    strong: float,
    bridge_support: int,
) -> list[str | None]:
    """Scored pairs, most probable first, without letting a weak bridge chain people.

    A pair below `strong` that would join two multi-record people is held
    back; once every other pair is in, it joins them only if at least
    `bridge_support` scored pairs connect the two people by then. One
    borderline pair is not enough to make two people one.
    """
    reasons: list[str | None] = [None] * len(pairs)
    held: list[int] = []
    for i, (a, b, p) in enumerate(pairs):
        ra, rb = graph.find(a), graph.find(b)
        if ra != rb and p < strong and graph.size[ra] + graph.size[rb] > 2:
            held.append(i)
            continue
        reasons[i] = graph.link(a, b, check_names)
    support: dict[tuple[int, int], int] = {}
    for a, b, _ in pairs:
        ra, rb = graph.find(a), graph.find(b)
        if ra != rb:
            key = (min(ra, rb), max(ra, rb))
            support[key] = support.get(key, 0) + 1
    for i in held:
        a, b, _ = pairs[i]
        ra, rb = graph.find(a), graph.find(b)
        if ra == rb:
            continue
        if support.get((min(ra, rb), max(ra, rb)), 0) < bridge_support:
            reasons[i] = "single weak bridge between two people"
            continue
        reasons[i] = graph.link(a, b, check_names)
    return reasons
