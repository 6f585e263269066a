"""A Postgres table as a destination: upsert and delete on a key column.

The table is created when missing, with the key as primary key and a text
column per mapped field (plus `person_id` and `synced_at`). Each batch is one
transaction: `INSERT ... ON CONFLICT (key) DO UPDATE` for upserts (`DO NOTHING`
for inserts, a plain `UPDATE` for updates), `DELETE` for deletes. A lost
connection or a serialization failure is transient; a constraint the data
breaks refuses the batch, which the engine splits to find the row.
The connection string comes from the environment.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from cdp_platform.activation.destinations.base import (
    BatchRejected,
    ItemResult,
    Limits,
    TransientError,
)
from cdp_platform.activation.plan import REMOVALS, Change


class PostgresDestination:
    def __init__(
        self,
        dsn: str,
        table: str,
        key_column: str,
        columns: list[str],
        schema: str = "public",
        limits: Limits | None = None,
    ):
        self.name = "postgres"
        self.dsn = dsn
        self.account = f"postgres:{schema}.{table}"
        self.table = sql.Identifier(schema, table)
        self.key_column = key_column
        self.columns = columns
        self.limits = limits or Limits(batch_size=1000, requests_per_second=50, max_concurrency=2)
        self._created = False

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(
                self.dsn, connect_timeout=max(1, round(self.limits.connect_timeout_seconds))
            )
        except psycopg.OperationalError as exc:
            raise TransientError("could not connect to Postgres") from exc

    def _ensure_table(self, conn: psycopg.Connection) -> None:
        if self._created:
            return
        columns = [
            sql.SQL("{} TEXT PRIMARY KEY").format(sql.Identifier(self.key_column)),
            sql.SQL("person_id TEXT"),
            *(sql.SQL("{} TEXT").format(sql.Identifier(c)) for c in self.columns),
            sql.SQL("synced_at TIMESTAMPTZ DEFAULT now()"),
        ]
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                self.table, sql.SQL(", ").join(columns)
            )
        )
        self._created = True

    def send(self, operation: str, changes: list[Change], idempotency_key: str) -> list[ItemResult]:
        names = [self.key_column, "person_id", *self.columns]
        key = sql.Identifier(self.key_column)
        if operation in REMOVALS:
            statement = sql.SQL("DELETE FROM {} WHERE {} = %s").format(self.table, key)
            params = [(c.key,) for c in changes]
        elif operation == "update":
            sets = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(n)) for n in names[1:]
            )
            statement = sql.SQL("UPDATE {} SET {}, synced_at = now() WHERE {} = %s").format(
                self.table, sets, key
            )
            params = [(*self._values(c)[1:], c.key) for c in changes]
        else:
            conflict = (
                sql.SQL("DO NOTHING")
                if operation == "insert"
                else sql.SQL("DO UPDATE SET {}, synced_at = now()").format(
                    sql.SQL(", ").join(
                        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in names[1:]
                    )
                )
            )
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) {}").format(
                self.table,
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                key,
                conflict,
            )
            params = [self._values(c) for c in changes]
        try:
            with self._connect() as conn:
                self._ensure_table(conn)
                with conn.cursor() as cursor:
                    cursor.executemany(statement, params)
        except (psycopg.OperationalError, psycopg.errors.SerializationFailure) as exc:
            raise TransientError(f"Postgres: {type(exc).__name__}") from exc
        except psycopg.DataError as exc:
            raise BatchRejected(f"Postgres refused the rows: {type(exc).__name__}") from exc
        except psycopg.IntegrityError as exc:
            raise BatchRejected(f"Postgres refused the rows: {type(exc).__name__}") from exc
        return [ItemResult(c.key, True) for c in changes]

    def _values(self, change: Change) -> tuple:
        fields = change.fields
        return (
            change.key,
            change.person_id,
            *(None if fields.get(c) is None else str(fields.get(c)) for c in self.columns),
        )
