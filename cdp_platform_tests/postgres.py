"""The local PostgreSQL server the tests use (override with CDP_TEST_POSTGRES_DSN)."""

import os

DSN = os.environ.get("CDP_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
