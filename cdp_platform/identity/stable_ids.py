"""Person ids that stay put as data changes.

Each run's clusters are matched to the previous run's persons by record
overlap:
- a cluster made of one earlier person's records keeps that person's id;
- a cluster that joins several earlier persons (a merge) keeps the oldest id,
  and the others become its aliases;
- an earlier person whose records now fall into several clusters (a split)
  leaves its id with the part holding most of its records; the other parts
  get new ids;
- a cluster of records never seen before gets a new id.
Every create, merge and split is returned as an event for
`identity.person_id_history`. With unchanged input nothing changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class IdEvent:
    event: str  # create | merge | split
    person_id: str  # the id that carries on (or is created)
    other_person_id: str | None  # the id merged into it, or split from
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
    Returns component -> person_id and the events.
    """
    overlap = (
        clusters.merge(previous, on="record_key", how="inner")
        .groupby(["person_id", "component"], as_index=False)
        .size()
    )
    first_key = clusters.groupby("component")["record_key"].min()
    sizes = clusters.groupby("component").size()
    # Each earlier person's home: the cluster holding most of its records
    # (ties to the cluster whose first record sorts first, for determinism).
    overlap["first_key"] = overlap["component"].map(first_key)
    overlap = overlap.sort_values(["person_id", "size", "first_key"], ascending=[True, False, True])
    homes = overlap.drop_duplicates("person_id")
    events: list[IdEvent] = []
    assigned: dict[int, str] = {}
    taken = set(age) | set(previous["person_id"])
    for component, group in homes.groupby("component"):
        ids = sorted(group["person_id"], key=lambda pid: (age.get(pid, 1 << 62), pid))
        keeper = ids[0]
        assigned[component] = keeper
        for merged in ids[1:]:
            events.append(IdEvent("merge", keeper, merged, int(sizes[component])))
    # Parts of earlier persons that did not keep the id: splits.
    left_behind = overlap[
        ~overlap.set_index(["person_id", "component"]).index.isin(
            homes.set_index(["person_id", "component"]).index
        )
    ]
    split_from = left_behind.groupby("component")["person_id"].min()
    for component in sorted(sizes.index, key=lambda c: first_key[c]):
        if component in assigned:
            continue
        person_id = new_person_id(first_key[component], taken)
        taken.add(person_id)
        assigned[component] = person_id
        if component in split_from.index:
            events.append(IdEvent("split", person_id, split_from[component], int(sizes[component])))
        else:
            events.append(IdEvent("create", person_id, None, int(sizes[component])))
    return assigned, events
