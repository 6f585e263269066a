"""The warehouse's tables, declared once each, one module per layer."""
