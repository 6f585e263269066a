"""Persons from links, without chaining: union-find under limits, average linkage.

Nodes (records with equal identity fields, see `nodes.py`) are merged one
link at a time. Two kinds of decision:
- **configured identifiers** (one web-shop account, one order) join nodes
  outright; a merge is refused only when the person would hold more distinct
  values of a limited attribute than the configuration allows;
- **scored evidence** joins two people only when the model, over every pair
  of their nodes it scored, finds them the same person on average
  (`link_by_average`). One strong pair between two people whose other nodes
  disagree is a chain, not a match, and is refused.
A refused link keeps its reason, so every decision can be explained.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonRules:
    max_values: dict[str, int] = field(default_factory=dict)  # attribute -> limit


class PersonGraph:
    """Union-find over node indices that keeps the limited values each cluster holds."""

    def __init__(self, count: int, limited: dict[str, list[list[str] | None]], rules: PersonRules):
        self.rules = rules
        self.parent = list(range(count))
        self.size = [1] * count
        self.limited: dict[str, dict[int, set[str]]] = {
            attr: {i: set(v) for i, v in enumerate(values) if v} for attr, values in limited.items()
        }

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def conflict(self, ra: int, rb: int) -> str | None:
        for attr, limit in self.rules.max_values.items():
            va, vb = self.limited[attr].get(ra), self.limited[attr].get(rb)
            if va and vb and len(va | vb) > limit:
                return f"more than {limit} {attr} per person"
        return None

    def link(self, a: int, b: int) -> str | None:
        """Merge the clusters of `a` and `b`; the reason if refused, else None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        reason = self.conflict(ra, rb)
        if reason is not None:
            return reason
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        for sets in self.limited.values():
            moved = sets.pop(rb, None)
            if moved:
                sets.setdefault(ra, set()).update(moved)
        return None

    def labels(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


def link_holders(
    graph: PersonGraph, holders: Iterable[tuple[int, bool]]
) -> list[tuple[int, int, str | None]]:
    """Nodes sharing one identifier value where some carry no name.

    A node without a name cannot say whose the value is. It joins the value's
    named holders only when they are one person by now; when they are several
    people (a household email) the value is contested and it joins no one.
    Returns (node, anchor, refusal) for each nameless holder.
    """
    holders = list(holders)
    named = [i for i, has_name in holders if has_name]
    nameless = [i for i, has_name in holders if not has_name]
    if len({graph.find(i) for i in named}) > 1:
        anchor = named[0]
        return [(i, anchor, "value shared by several named people") for i in nameless]
    anchor = named[0] if named else nameless[0]
    return [(i, anchor, graph.link(i, anchor)) for i in nameless if i != anchor]


class AverageLinkage:
    """Sums of pair probabilities between clusters, kept as clusters merge.

    The linkage of two clusters is the sum of their scored pairs' match
    probabilities over the pairs they could have (their scored nodes
    multiplied): a pair never scored counts as no evidence of a match.
    """

    def __init__(self, graph: PersonGraph, scored: list[bool]):
        self.graph = graph
        self.weight: dict[int, int] = {}
        for i, is_scored in enumerate(scored):
            if is_scored:
                root = graph.find(i)
                self.weight[root] = self.weight.get(root, 0) + 1
        self.sums: dict[int, dict[int, float]] = {}

    def add(self, a: int, b: int, probability: float) -> None:
        ra, rb = self.graph.find(a), self.graph.find(b)
        if ra == rb:
            return
        left, right = self.sums.setdefault(ra, {}), self.sums.setdefault(rb, {})
        left[rb] = left.get(rb, 0.0) + probability
        right[ra] = right.get(ra, 0.0) + probability

    def linkage(self, ra: int, rb: int) -> float:
        possible = max(self.weight.get(ra, 1), 1) * max(self.weight.get(rb, 1), 1)
        return self.sums.get(ra, {}).get(rb, 0.0) / possible

    def merged(self, kept: int, gone: int) -> None:
        self.weight[kept] = self.weight.get(kept, 0) + self.weight.pop(gone, 0)
        moved = self.sums.pop(gone, {})
        moved.pop(kept, None)
        into = self.sums.setdefault(kept, {})
        into.pop(gone, None)
        for other, total in moved.items():
            into[other] = into.get(other, 0.0) + total
            neighbour = self.sums[other]
            neighbour.pop(gone, None)
            neighbour[kept] = neighbour.get(kept, 0.0) + total


def link_by_average(
    graph: PersonGraph, pairs: list[tuple[int, int, float]], scored: list[bool], threshold: float
) -> dict[tuple[int, int], str]:
    """Merge clusters while the best average linkage is at least `threshold`.

    Returns the refusals by the configured limits, keyed by the two roots
    refused (at the time); other pairs left apart fell short of the threshold.
    """
    linkage = AverageLinkage(graph, scored)
    for a, b, p in pairs:
        linkage.add(a, b, p)
    heap = [
        (-linkage.linkage(ra, rb), ra, rb)
        for ra, others in linkage.sums.items()
        for rb in others
        if ra < rb and linkage.linkage(ra, rb) >= threshold
    ]
    heapq.heapify(heap)
    refused: dict[tuple[int, int], str] = {}
    while heap:
        negative, ra, rb = heapq.heappop(heap)
        if graph.find(ra) != ra or graph.find(rb) != rb or (ra, rb) in refused:
            continue  # stale: one side has merged since
        value = linkage.linkage(ra, rb)
        if abs(value + negative) > 1e-12:
            continue  # stale: the linkage changed
        reason = graph.link(ra, rb)
        if reason is not None:
            refused[(ra, rb)] = reason
            continue
        kept = graph.find(ra)
        linkage.merged(kept, rb if kept == ra else ra)
        for other in linkage.sums.get(kept, {}):
            value = linkage.linkage(kept, other)
            if value >= threshold:
                heapq.heappush(heap, (-value, min(kept, other), max(kept, other)))
    return refused
