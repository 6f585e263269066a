"""Person ids that stay put as data changes.

Each run's clusters are matched to the previous run's persons by record
overlap:
- a cluster made of one earlier person's records keeps that person's id;
- a cluster that joins several earlier persons (a merge) keeps the oldest id,
  and the others become its aliases;
- an earlier person whose records now fall into several clusters (a split)
  leaves its id with the part holding most of its records; the other parts
  get new ids;
- records of an earlier person that now sit in a cluster another earlier
  person keeps have moved (a split from one, joining the other);
- a cluster of records never seen before gets a new id.
Every create, merge, split and move is returned as an event for
`identity.person_id_history`. With unchanged input nothing changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

# The events that change which records a person holds.
CHANGE_EVENTS = ("merge", "split", "move")


@dataclass(frozen=True)
class IdEvent:
    event: str  # create | merge | split | move
    person_id: str  # the id that carries on (or is created, or records moved to)
    other_person_id: str | None  # the id merged into it, or split or moved from
    records: int


def new_person_id(first_record_key: str, taken: set[str]) -> str:
    """A fresh id derived from the cluster's first record, never one used before."""
    salt = 0
    while True:
        text = first_record_key if salt == 0 else f"{first_record_key}#{salt}"
        candidate = "p_" + hashlib.md5(text.encode()).hexdigest()[:16]
        if candidate not in taken:
            return candidate
        salt += 1


def assign_person_ids(
    clusters: pd.DataFrame, previous: pd.DataFrame, age: dict[str, int]
) -> tuple[dict[int, str], list[IdEvent]]:
    """Choose an id for each cluster.

    `clusters`: record_key, component. `previous`: record_key, person_id from
    the last run. `age`: person_id -> creation order (smaller is older).
    Returns component -> person_id and the events. Set-based (pandas), since a
    first run at a million records has half a million clusters.
    """
    if clusters.empty:  # no person-bearing records yet (an empty frame's keys are not text)
        return {}, []
    # (groupby-min on text runs in Python per group; one sort does it at once)
    firsts = clusters.sort_values("record_key").drop_duplicates("component")
    first_key = dict(zip(firsts["component"], firsts["record_key"], strict=True))
    sizes = clusters["component"].value_counts().to_dict()
    overlap = (
        clusters.merge(previous, on="record_key", how="inner")
        .groupby(["person_id", "component"], as_index=False)
        .size()
    )
    # Each earlier person's home: the cluster holding most of its records
    # (ties to the cluster whose first record sorts first, for determinism).
    overlap["first_key"] = overlap["component"].map(first_key)
    overlap = overlap.sort_values(["person_id", "size", "first_key"], ascending=[True, False, True])
    is_home = ~overlap.duplicated("person_id")
    homes = overlap[is_home].copy()
    # A cluster that is home to several earlier persons keeps the oldest id.
    homes["age"] = homes["person_id"].map(age).fillna(1 << 62)
    homes = homes.sort_values(["component", "age", "person_id"])
    keeps = ~homes.duplicated("component")
    assigned: dict[int, str] = dict(
        zip(homes.loc[keeps, "component"], homes.loc[keeps, "person_id"], strict=True)
    )
    events = [
        IdEvent("merge", assigned[component], merged, int(sizes[component]))
        for component, merged in zip(
            homes.loc[~keeps, "component"], homes.loc[~keeps, "person_id"], strict=True
        )
    ]
    # Parts of earlier persons in a cluster another earlier person keeps: moves.
    moved = overlap[~is_home & overlap["component"].isin(list(assigned))]
    events += [
        IdEvent("move", assigned[component], person_id, int(size))
        for component, person_id, size in zip(
            moved["component"], moved["person_id"], moved["size"], strict=True
        )
    ]
    # Parts of earlier persons that did not keep the id: splits.
    split_from = overlap[~is_home].groupby("component")["person_id"].min().to_dict()
    taken = set(age) | set(previous["person_id"])
    for component in sorted(set(sizes) - set(assigned), key=first_key.__getitem__):
        person_id = new_person_id(first_key[component], taken)
        taken.add(person_id)
        assigned[component] = person_id
        origin = split_from.get(component)
        event = "split" if origin is not None else "create"
        events.append(IdEvent(event, person_id, origin, int(sizes[component])))
    return assigned, events
