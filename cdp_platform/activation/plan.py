"""What a sync run must send: the rows added, changed and removed since the
destination last accepted them, plus the rows that failed before.

A row is a record keyed by its identifier in the destination (an email, a
person id), with the fields the sync maps and a hash of them. The sync's
state remembers, per key, the hash the destination last accepted and whether
the last attempt failed. Comparing the two gives the plan:

| mode      | new key  | changed  | unchanged, failed before | gone (or consent revoked) |
|-----------|----------|----------|--------------------------|---------------------------|
| `upsert`  | upsert   | upsert   | upsert                   | -                         |
| `insert`  | insert   | -        | insert (if never sent)   | -                         |
| `update`  | skipped  | update   | update                   | -                         |
| `mirror`  | upsert   | upsert   | upsert                   | delete                    |
| `add`     | add      | -        | add (if never sent)      | -                         |
| `remove`  | add      | -        | add (if never sent)      | remove                    |

`add` only ever grows an audience; `remove` keeps it in step, taking out whoever
left it. A person without consent for the sync's purpose is never sent: they
are logged as `skipped_consent`, and in `mirror` and `remove` modes a person
the destination holds is removed once their consent is gone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["upsert", "insert", "update", "mirror", "add", "remove"]
MODES: tuple[str, ...] = ("upsert", "insert", "update", "mirror", "add", "remove")
REMOVING = {"mirror": "delete", "remove": "remove"}
# Operations that take a record out of a destination; `erase` answers a DELETE
# privacy request, so a destination may say so (a webhook's `subject.deleted`).
REMOVALS = frozenset({"delete", "remove", "erase"})


def fields_hash(fields: dict) -> str:
    """A stable hash of the mapped fields: the same values give the same hash."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    key: str
    person_id: str
    fields: dict = field(hash=False, compare=False)
    consented: bool = True

    @property
    def hash(self) -> str:
        return fields_hash(self.fields)


@dataclass(frozen=True)
class Known:
    """What the state says of a key: the hash last accepted (None: never accepted)."""

    person_id: str
    accepted_hash: str | None
    failed: bool = False
    destination_id: str | None = None
    # The hash of a send that was in flight when its run died (no answer recorded).
    in_flight_hash: str | None = None


@dataclass(frozen=True)
class Change:
    operation: str  # upsert, insert, update, delete, add, remove
    key: str
    person_id: str
    fields: dict = field(hash=False, compare=False, default_factory=dict)
    hash: str | None = None
    destination_id: str | None = None


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    # (key, person_id, status) of rows deliberately not sent.
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for change in self.changes:
            found[change.operation] = found.get(change.operation, 0) + 1
        return found


def plan_changes(
    mode: str, rows: list[Row], state: dict[str, Known], erased: frozenset[str] = frozenset()
) -> Plan:
    """The changes `mode` calls for between the model's `rows` and the sync `state`.

    Persons in `erased` (a DELETE privacy request) are taken out of the destination
    whatever the mode: erasure reaches every destination that holds them."""
    if mode not in MODES:
        raise ValueError(f"unknown sync mode {mode!r}; one of {MODES}")
    plan = Plan()
    present: set[str] = set()
    for row in rows:
        if not row.consented:
            plan.skipped.append((row.key, row.person_id, "skipped_consent"))
            continue  # and, for mirror/remove, treated as gone below
        present.add(row.key)
        known = state.get(row.key)
        digest = row.hash
        sent_before = known is not None and known.accepted_hash is not None
        unchanged = sent_before and known.accepted_hash == digest
        retry = known is not None and known.failed
        if unchanged and not retry:
            continue
        operation = _operation(mode, sent_before, unchanged)
        if operation is None:
            if mode == "update" and not sent_before:
                plan.skipped.append((row.key, row.person_id, "skipped_not_in_destination"))
            continue
        plan.changes.append(
            Change(operation, row.key, row.person_id, row.fields, digest, _id(known))
        )
    for key, known in state.items():
        # Held, or maybe held: a send in flight when its run died may have landed.
        if key in present or (known.accepted_hash is None and known.in_flight_hash is None):
            continue
        if known.person_id in erased:
            removal = "remove" if mode in ("add", "remove") else "erase"
        elif mode in REMOVING:
            removal = REMOVING[mode]
        else:
            continue
        plan.changes.append(
            Change(removal, key, known.person_id, destination_id=known.destination_id)
        )
    return plan


def _operation(mode: str, sent_before: bool, unchanged: bool) -> str | None:
    if mode in ("upsert", "mirror"):
        return "upsert"
    if mode == "insert":
        return None if sent_before else "insert"
    if mode == "update":
        return "update" if sent_before else None
    # Audiences: membership does not change with the fields.
    return None if sent_before else "add"


def _id(known: Known | None) -> str | None:
    return known.destination_id if known else None
