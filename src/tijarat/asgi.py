"""The served application: the HTTP API with the dashboard mounted beside it.

`api` and `web` never import each other; this module, above both, puts them together. The API
owns the process: its lifespan builds the container (when none is given) and closes it. The
dashboard is mounted at the root after every API route, so /v1/..., /docs, /healthz and
/metrics stay the API's, and everything else (/, /sign-in, /home, /operator/...) is a page.
"""

from __future__ import annotations

from fastapi import FastAPI

from tijarat.api.app import create_app
from tijarat.bootstrap import Container
from tijarat.settings import Settings
from tijarat.web.app import create_dashboard


def create(container: Container | None = None) -> FastAPI:
    app = create_app(container)
    # Same environment as the container the API's lifespan will build from it.
    settings = container.settings if container is not None else Settings()

    def shared() -> Container:
        built: Container = app.state.container
        return built

    # Unnamed, so page names resolve as they are ("home", not "dashboard:home").
    app.mount("/", create_dashboard(shared, settings))
    return app


def create_from_environment() -> FastAPI:
    """For `uvicorn --factory` with several workers: each builds its own container."""
    return create(None)
