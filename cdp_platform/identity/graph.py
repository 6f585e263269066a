"""Persons from links, without chaining: union-find under limits, average linkage.

Nodes (records with equal identity fields, see `nodes.py`) are merged one
link at a time. Two kinds of decision:
- **configured identifiers** (one web-shop account, one order) join nodes
  outright; a merge is refused only when the person would hold more distinct
  values of a limited attribute than the configuration allows;
- **scored evidence** joins two people only when the model, over every pair
  of their nodes it scored, finds them the same person
  (`link_by_evidence`): their best pair is a match and none of their pairs
  speaks against it, or on average over all their pairs. One strong pair
  between two people whose other nodes disagree is a chain, not a match.
A refused link keeps its reason, so every decision can be explained.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import jellyfish

from cdp_platform.identity.names import names_agree

# Why two people a reviewer labelled a non-match stay apart.
KEPT_APART = "labelled non-match in review"

Name = tuple[str, str | None]


@dataclass(frozen=True)
class PersonRules:
    max_values: dict[str, int] = field(default_factory=dict)  # attribute -> limit


def dobs_close(a: str, b: str) -> bool:
    """ISO dates one typed character apart, or with day and month swapped."""
    if a == b or jellyfish.damerau_levenshtein_distance(a, b) <= 1:
        return True
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


class PlausiblePeople:
    """Without a trained model, what an identifier that needs agreeing names may
    join: people whose full first names and birth dates agree (an initial agrees
    with its name, a date with a one-character slip or swapped day and month),
    judged over every record a person already holds so one initial cannot chain
    Katherine to Kevin."""

    def __init__(self, names: list[Name | None], dobs: list[str | None], similarity: float):
        self.similarity = similarity
        self.names: dict[int, set[Name]] = {i: {n} for i, n in enumerate(names) if n}
        self.dobs: dict[int, set[str]] = {i: {d} for i, d in enumerate(dobs) if d}

    def conflict(self, ra: int, rb: int) -> str | None:
        na, nb = self.names.get(ra), self.names.get(rb)
        if na and nb:
            full_a = [n for n in na if len(n[0]) > 1] or list(na)
            full_b = [n for n in nb if len(n[0]) > 1] or list(nb)
            if not any(names_agree(x, y, self.similarity) for x in full_a for y in full_b):
                return "first names disagree"
        da, db = self.dobs.get(ra), self.dobs.get(rb)
        if da and db and not any(dobs_close(x, y) for x in da for y in db):
            return "dates of birth disagree"
        return None

    def merged(self, kept: int, gone: int) -> None:
        for sets in (self.names, self.dobs):
            moved = sets.pop(gone, None)
            if moved:
                sets.setdefault(kept, set()).update(moved)


class PersonGraph:
    """Union-find over node indices that keeps the limited values each cluster holds."""

    def __init__(
        self,
        count: int,
        limited: dict[str, list[list[str] | None]],
        rules: PersonRules,
        plausible: PlausiblePeople | None = None,
    ):
        self.rules = rules
        self.plausible = plausible
        self.apart: dict[int, set[int]] = {}  # node -> nodes labelled another person
        self.constrained: dict[int, set[int]] = {}  # root -> its nodes with such labels
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

    def keep_apart(self, a: int, b: int) -> None:
        """A reviewer's `non-match`: the nodes' people never merge."""
        self.apart.setdefault(a, set()).add(b)
        self.apart.setdefault(b, set()).add(a)
        for node in (a, b):
            self.constrained.setdefault(self.find(node), set()).add(node)

    def conflict(self, ra: int, rb: int) -> str | None:
        small, other = sorted((ra, rb), key=lambda r: len(self.constrained.get(r, ())))
        for node in self.constrained.get(small, ()):
            if any(self.find(m) == other for m in self.apart[node]):
                return KEPT_APART
        for attr, limit in self.rules.max_values.items():
            va, vb = self.limited[attr].get(ra), self.limited[attr].get(rb)
            if va and vb and len(va | vb) > limit:
                return f"more than {limit} {attr} per person"
        return None

    def link(self, a: int, b: int, check_names: bool = False) -> str | None:
        """Merge the clusters of `a` and `b`; the reason if refused, else None.
        `check_names` applies `PlausiblePeople` (links made without a model)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        reason = self.conflict(ra, rb)
        if reason is None and check_names and self.plausible is not None:
            reason = self.plausible.conflict(ra, rb)
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
        if self.plausible is not None:
            self.plausible.merged(ra, rb)
        moved = self.constrained.pop(rb, None)
        if moved:
            self.constrained.setdefault(ra, set()).update(moved)
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
    return [(i, anchor, graph.link(i, anchor, check_names=True)) for i in nameless if i != anchor]


# Clusters whose pairs on average say "more likely one person than two".
EVEN_ODDS = 0.5
# A pair or cluster keeps the previous run's decision while its match weight
# stays within this many bits of the bar it is judged by (the threshold, or
# the prior for evidence against): an erasure or another day's names move name
# frequencies, and a rare name's weight by a fraction of a bit.
HYSTERESIS_BITS = 0.5
# A pair speaks against two records being one person when its match weight is
# below the prior's by more than this. A pair with nothing to compare (an
# email-only browser beside a till's loyalty card) sits on the prior, give or
# take float error, and says nothing either way; a fifth of a bit is far above
# that error and below the weight of any comparison level that says something.
AGAINST_BITS = 0.2


def shifted(probability: float, bits: float) -> float:
    """`probability` with its match weight moved by `bits`."""
    if not 0 < probability < 1:
        return probability
    weight = math.log2(probability / (1 - probability)) + bits
    return 1 / (1 + 2**-weight)


def hysteresis_band(probability: float, bits: float = HYSTERESIS_BITS) -> tuple[float, float]:
    """The probabilities `bits` of match weight below and above `probability`."""
    return shifted(probability, -bits), shifted(probability, bits)


# A cluster whose nodes were not all one person before.
MIXED = -2


class Linkage:
    """What the scored pairs between two clusters say, kept as clusters merge.

    Two clusters are one person when their best pair reaches the threshold and
    no pair of their nodes carries evidence against it (a probability
    `AGAINST_BITS` below the prior: the comparison made them clearly less
    likely one person than two records drawn at random). Where one does, the
    average over every pair they could have (their scored nodes multiplied, a pair never scored counting as
    nothing) must also say they are more likely one person than two: one
    strong pair between people whose other nodes disagree is a chain, not a
    match, while one person's many records, some badly typed, still hold
    together.

    Both bars hold the previous map's decision within `bits` of match weight:
    a pair near the prior (a comparison that says almost nothing) must not
    switch a cluster between its best pair and its average from run to run.
    """

    def __init__(
        self,
        graph: PersonGraph,
        scored: list[bool],
        against: float,
        threshold: float,
        previous: Sequence[int] | None = None,
        bits: float = 0.0,
    ):
        self.graph = graph
        self.against = against
        self.threshold = threshold
        self.band = hysteresis_band(threshold, bits)
        self.against_bar = shifted(against, -AGAINST_BITS)
        self.against_band = hysteresis_band(self.against_bar, bits)
        self.weight: dict[int, int] = {}
        for i, is_scored in enumerate(scored):
            if is_scored:
                root = graph.find(i)
                self.weight[root] = self.weight.get(root, 0) + 1
        # root -> the one person all its nodes were in the previous map, or
        # MIXED (several, or a node not seen before)
        self.previous: dict[int, int] = {}
        for i, person in enumerate(previous if previous is not None else []):
            root = graph.find(i)
            held = self.previous.get(root, person)
            self.previous[root] = person if held == person and person >= 0 else MIXED
        # root -> root -> [sum, best, worst] of the pairs between them
        self.pairs: dict[int, dict[int, list[float]]] = {}

    def add(self, a: int, b: int, probability: float) -> None:
        ra, rb = self.graph.find(a), self.graph.find(b)
        if ra == rb:
            return
        stats = self.pairs.setdefault(ra, {}).get(rb)
        if stats is None:
            stats = [0.0, 0.0, 1.0]
            self.pairs[ra][rb] = stats
            self.pairs.setdefault(rb, {})[ra] = stats
        stats[0] += probability
        stats[1] = max(stats[1], probability)
        stats[2] = min(stats[2], probability)

    def score(self, ra: int, rb: int) -> float:
        """How convincing the two clusters are as one person: at least the
        threshold when they are."""
        total, best, worst = self.pairs[ra][rb]
        if worst >= self._against(ra, rb):
            return self._kept(ra, rb, best)
        possible = max(self.weight.get(ra, 1), 1) * max(self.weight.get(rb, 1), 1)
        # The average's bar is even odds, mapped onto the threshold's scale;
        # evidence against never makes a merge easier than the best pair alone.
        return self._kept(
            ra, rb, min(best, min(total / possible / EVEN_ODDS, 1.0) * self.threshold)
        )

    def _together_before(self, ra: int, rb: int) -> bool | None:
        """Whether the previous map held the two clusters as one person; None
        when either was not wholly one person then."""
        was_a, was_b = self.previous.get(ra, MIXED), self.previous.get(rb, MIXED)
        return None if MIXED in (was_a, was_b) else was_a == was_b

    def _against(self, ra: int, rb: int) -> float:
        """The probability below which a pair speaks against the clusters being
        one person: `AGAINST_BITS` below the prior, moved by the band toward the
        previous decision."""
        before = self._together_before(ra, rb)
        if before is None:
            return self.against_bar
        return self.against_band[0] if before else self.against_band[1]

    def _kept(self, ra: int, rb: int, score: float) -> float:
        """Within the `band` around the threshold, the previous map's decision:
        one person's two parts stay together a little below it, two people stay
        apart a little above it (as `with_hysteresis` does for pairs; a
        cluster's average moves a little when a record is erased)."""
        before = self._together_before(ra, rb)
        if before is None:
            return score
        low, high = self.band
        if before and low <= score < self.threshold:
            return self.threshold
        if not before and self.threshold <= score < high:
            return math.nextafter(self.threshold, 0)
        return score

    def merged(self, kept: int, gone: int) -> None:
        self.weight[kept] = self.weight.get(kept, 0) + self.weight.pop(gone, 0)
        was_kept, was_gone = self.previous.get(kept, MIXED), self.previous.pop(gone, MIXED)
        self.previous[kept] = was_kept if was_kept == was_gone else MIXED
        moved = self.pairs.pop(gone, {})
        moved.pop(kept, None)
        into = self.pairs.setdefault(kept, {})
        into.pop(gone, None)
        for other, stats in moved.items():
            neighbour = self.pairs[other]
            neighbour.pop(gone, None)
            current = into.get(other)
            if current is None:
                into[other] = neighbour[kept] = stats
                continue
            current[0] += stats[0]
            current[1] = max(current[1], stats[1])
            current[2] = min(current[2], stats[2])


def link_by_evidence(
    graph: PersonGraph,
    pairs: list[tuple[int, int, float]],
    scored: list[bool],
    threshold: float,
    against: float,
    previous: Sequence[int] | None = None,
    bits: float = 0.0,
) -> dict[tuple[int, int], str]:
    """Merge clusters, most convincing first, while their score (`Linkage`) is at
    least `threshold`; `previous` is each node's person in the previous map
    (a code, -1 if new), whose decisions hold within `bits` of match weight.

    Returns the refusals by the configured limits, keyed by the two roots
    refused (at the time); other pairs left apart fell short of the threshold.
    """
    linkage = Linkage(graph, scored, against, threshold, previous, bits)
    for a, b, p in pairs:
        linkage.add(a, b, p)
    heap = [
        (-linkage.score(ra, rb), ra, rb)
        for ra, others in linkage.pairs.items()
        for rb in others
        if ra < rb and linkage.score(ra, rb) >= threshold
    ]
    heapq.heapify(heap)
    refused: dict[tuple[int, int], str] = {}
    while heap:
        negative, ra, rb = heapq.heappop(heap)
        if graph.find(ra) != ra or graph.find(rb) != rb or (ra, rb) in refused:
            continue  # stale: one side has merged since
        if abs(linkage.score(ra, rb) + negative) > 1e-12:
            continue  # stale: the score changed, and was pushed again
        reason = graph.link(ra, rb)
        if reason is not None:
            refused[(ra, rb)] = reason
            continue
        kept = graph.find(ra)
        linkage.merged(kept, rb if kept == ra else ra)
        for other in linkage.pairs.get(kept, {}):
            value = linkage.score(kept, other)
            if value >= threshold:
                heapq.heappush(heap, (-value, min(kept, other), max(kept, other)))
    return refused
