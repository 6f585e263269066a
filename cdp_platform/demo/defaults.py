"""The shipped demo set's parameters: `cdp demo generate`'s defaults.

Long enough for the churn and value models to train (they need 240 days of
history); the Makefile starts the daily partitions on its first day.
"""

from datetime import date

DEFAULT_PERSONS = 2000
DEFAULT_DAYS = 300
DEFAULT_START = date(2025, 12, 1)
DEFAULT_SEED = 42
