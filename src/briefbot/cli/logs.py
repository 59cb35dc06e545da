"""Logging for the CLI: human text by default, one JSON object a line with `--log-format json`.

With JSON, stderr carries nothing but JSON lines: the handler also takes other libraries'
warnings (through the root logger), which would otherwise reach stderr as bare text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from rich.logging import RichHandler

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to the `sys.stderr` of the moment, not the one at setup (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # not setStream: it flushes the old stream, maybe closed by now
        super().emit(record)


def configure(*, fmt: str, verbose: bool) -> None:
    root = logging.getLogger("briefbot")
    root.handlers.clear()
    # The handler this function put on the root logger before, if any (one per process).
    others = logging.getLogger()
    others.handlers = [h for h in others.handlers if not isinstance(h, _StderrHandler)]
    if fmt == "json":
        handler: logging.Handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        other = _StderrHandler()
        other.setFormatter(JsonFormatter())
        other.setLevel(logging.WARNING)
        others.addHandler(other)
    else:
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=False)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
