"""Tijarat: open-source platform for Pakistan's digital export supply chain."""

__version__ = "0.1.0"
