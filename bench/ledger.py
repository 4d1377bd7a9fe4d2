"""Ledger throughput: `python bench/ledger.py [--database-url URL] [--json]`.

The same measurement as `tijarat bench ledger`; see docs/PERFORMANCE.md for results.
"""

from __future__ import annotations

from tijarat.cli.main import app

if __name__ == "__main__":
    app(["bench", "ledger", *__import__("sys").argv[1:]])
