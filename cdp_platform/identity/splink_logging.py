"""Splink's log lines and warnings into the run's log, not the console."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class _Forward(logging.Handler):
    def __init__(self, log) -> None:
        super().__init__(level=logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = f"splink: {record.getMessage()}"
        if record.levelno >= logging.WARNING:
            self.log.warning(message)
        else:
            self.log.debug(message)


@contextmanager
def splink_logs_to(log) -> Iterator[None]:
    """While open, what Splink logs or warns goes to `log` (a Dagster run log)."""
    logger = logging.getLogger("splink")
    handler = _Forward(log)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for warning in caught:
            log.warning(f"{warning.category.__name__}: {warning.message}")
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
