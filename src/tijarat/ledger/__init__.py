"""The double-entry ledger every rupee moves through (TigerBeetle semantics, stored in SQL)."""
