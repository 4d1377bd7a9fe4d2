"""structlog: JSON lines in production, readable lines on a laptop; a request id on each."""

from __future__ import annotations

import logging
import sys

import structlog

from tijarat.settings import Settings


def configure_logging(settings: Settings, *, level_name: str | None = None) -> None:
    """Logs go to stderr, so a command's stdout (e.g. `demo --json`) stays its answer."""
    name = (level_name or settings.log_level).upper()
    level = logging.getLevelNamesMapping().get(name, logging.INFO)
    json_lines = settings.log_json or settings.environment == "production"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,  # request_id, bound per request
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
