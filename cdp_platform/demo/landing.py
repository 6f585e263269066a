"""Collects generated records per source and day, with their ground truth."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

# Records are stamped between 01:00 and 23:00 UTC so that writing them in a
# +01:00 local time keeps them on the same day in UTC as their file.
FIRST_SECOND, LAST_SECOND = 3600, 82_800


class Landing:
    """Rows per (source, day index) and the true person of every record key."""

    def __init__(self, start: date, days: int):
        self.start = start
        self.days = days
        self.rows: dict[tuple[str, int], list[dict]] = defaultdict(list)
        self.truth: dict[tuple[str, str], str] = {}
        self._base = datetime(start.year, start.month, start.day, tzinfo=UTC)

    def add(self, source: str, day: int, row: dict, key: str | None, pid: str | None) -> None:
        self.rows[(source, day)].append(row)
        if key is not None and pid is not None:
            self.truth.setdefault((source, key), pid)

    def moment(self, day: int, second: int) -> datetime:
        return self._base + timedelta(days=day, seconds=second)

    def day_label(self, day: int) -> str:
        return (self.start + timedelta(days=day)).isoformat()


# Timestamp formats, one per source family (see the landing contract).
def iso_offset(moment: datetime) -> str:
    """HubSpot: ISO 8601 in local time (+01:00)."""
    return (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")


def iso_z(moment: datetime, millis: bool = False) -> str:
    """Segment, Zendesk and privacy requests: ISO 8601 in UTC with Z."""
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shopify(moment: datetime) -> str:
    """Shopify: local time with a compact offset."""
    return (moment + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S +0100")


def plain_utc(moment: datetime) -> str:
    """Mailchimp and the tills: UTC without an offset."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")
