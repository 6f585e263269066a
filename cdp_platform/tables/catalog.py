"""Every declared warehouse table, in data-flow order."""

from cdp_platform.tables import activation, identity, privacy, profiles, segments, sources
from cdp_platform.tables.table import Table

LAYERS = (sources, identity, privacy, profiles, segments, activation)
TABLES: list[Table] = [
    value for layer in LAYERS for value in vars(layer).values() if isinstance(value, Table)
]
