"""The served application: the HTTP API with the dashboard mounted beside it.

`api` and `web` never import each other; this module, above both, puts them together.
"""

from __future__ import annotations

from fastapi import FastAPI

from tijarat.api.app import create_app
from tijarat.bootstrap import Container


def create(container: Container | None = None) -> FastAPI:
    return create_app(container)


def create_from_environment() -> FastAPI:
    """For `uvicorn --factory` with several workers: each builds its own container."""
    return create(None)
