"""structlog set-up: JSON lines in production, readable lines by hand.

Every record goes through the standard library's root logger, so that lines
from uvicorn and other libraries are rendered like ours: one JSON object per
line on stdout, carrying the request's bound context (request_id, user_id).
"""

import logging
import sys

import structlog

from app.core.settings import Settings

# Our handler is found and replaced by this name, so that building the app
# again (tests, reloads) neither duplicates lines nor removes other handlers.
HANDLER_NAME = "support-tickets"

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _renderer(log_format: str) -> list[structlog.types.Processor]:
    """The processors that turn an event into the final line."""
    if log_format == "json":
        # A plain-text traceback: unlike rich tracebacks it never prints
        # local variables, which may hold a token.
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(),
            exception_formatter=structlog.dev.plain_traceback,
        )
    ]


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.name = HANDLER_NAME
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderer(settings.log_format),
            ],
        )
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
