"""What the warehouse layers' assets share, declared once below every layer."""

from __future__ import annotations

# The tag on a column holding personal data (the UI's column schema shows it;
# masking and erasure read it).
PII = {"pii": ""}

# Every asset of the layers above the sources writes the one warehouse file:
# one run at a time per pool, owned by the platform team.
WAREHOUSE_ASSET = {"pool": "warehouse", "owners": ["team:data-platform"]}
