"""Log records and error reports as the managed runtime client (`awslambdaric`) writes them.

On Lambda, `_LAMBDA_TELEMETRY_LOG_FD` names a pipe that takes framed records: each frame
becomes one CloudWatch event, so a multi-line traceback stays one event (on stdout every
line would be its own). Without it (locally), records go to stdout. `AWS_LAMBDA_LOG_FORMAT`
(`Text` or `JSON`) and `AWS_LAMBDA_LOG_LEVEL` mean what they mean for the managed
runtime. Standard library only: init failures are logged before anything else imports.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any, Protocol

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The frame type tells the platform the level (and whether the message is JSON).
TEXT_FRAME_TYPES = {
    logging.NOTSET: 0xA55A0003,
    logging.DEBUG: 0xA55A000B,
    logging.INFO: 0xA55A000F,
    logging.WARNING: 0xA55A0013,
    logging.ERROR: 0xA55A0017,
    logging.CRITICAL: 0xA55A001B,
}
JSON_FRAME_TYPES = {level: frame_type - 1 for level, frame_type in TEXT_FRAME_TYPES.items()}
# LogRecord attributes that are not a record's own extra fields in JSON.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
}

_request_id = ""
_tenant_id: str | None = None


class Sink(Protocol):
    error_line_separator: str

    def write(self, message: str, frame_type: int) -> None: ...


class StdoutSink:
    """Without the telemetry pipe: one line per record (the frame type is dropped)."""

    error_line_separator = "\r"  # CloudWatch splits stdout on LF only: one event

    def write(self, message: str, frame_type: int) -> None:
        sys.stdout.write(message if message.endswith("\n") else message + "\n")
        sys.stdout.flush()


class FramedSink:
    """The telemetry pipe: frame type (4 bytes), length (4), time in microseconds (8), then
    the UTF-8 message; big-endian."""

    error_line_separator = "\n"

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()  # apps may log from threads: frames must not mix

    def write(self, message: str, frame_type: int) -> None:
        data = message.encode("utf-8", "backslashreplace")
        header = frame_type.to_bytes(4, "big") + len(data).to_bytes(4, "big")
        frame = memoryview(header + (time.time_ns() // 1000).to_bytes(8, "big") + data)
        with self._lock:
            while frame:  # a pipe may take a large frame in parts
                frame = frame[os.write(self._fd, frame) :]


_sink: Sink = StdoutSink()
_json = False


def set_request(request_id: str, tenant_id: str | None) -> None:
    """The invocation that following records belong to."""
    global _request_id, _tenant_id
    _request_id, _tenant_id = request_id, tenant_id


def install() -> None:
    """A root handler writing to the telemetry pipe (or stdout), in the configured format;
    the level from `AWS_LAMBDA_LOG_LEVEL` (`TRACE` is DEBUG). As under the managed runtime,
    every `logging.Formatter` then writes UTC times, and child processes do not get the pipe.
    """
    global _sink, _json
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    _sink = FramedSink(int(fd)) if fd else StdoutSink()
    _json = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = "DEBUG" if level == "TRACE" else level
    logging.Formatter.converter = time.gmtime
    formatter = JsonFormatter() if _json else logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT)
    handler = _Handler(_sink, frame_by_level=_json or bool(level))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)


def log_error(document: Mapping[str, Any]) -> None:
    """An error document as `awslambdaric` logs it before posting it: `[ERROR] Type:
    message` and the traceback (indented with no-break spaces), or the document as JSON."""
    frame_type = (JSON_FRAME_TYPES if _json else TEXT_FRAME_TYPES)[logging.ERROR]
    if _json:
        timestamp = time.strftime(JSON_DATE_FORMAT, time.gmtime())
        record = {"timestamp": timestamp, "log_level": "ERROR", **document}
        _sink.write(json.dumps(record, ensure_ascii=False, default=str), frame_type)
        return
    title = " ".join(filter(None, ["[ERROR]", document.get("errorType")]))
    if document.get("errorMessage"):
        title += (":" if document.get("errorType") else "") + f" {document['errorMessage']}"
    lines = [title, "Traceback (most recent call last):"]
    for entry in document.get("stackTrace", []):
        lines += [_nbsp_indent(line) for line in entry.splitlines()] or [""]
    _sink.write(_sink.error_line_separator.join(lines), frame_type)


def _nbsp_indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def _level(record: logging.LogRecord) -> int:
    """The record's level rounded down to a standard one (`awslambdaric`'s frame types)."""
    return min(50, max(0, record.levelno)) // 10 * 10


class _Handler(logging.Handler):
    def __init__(self, sink: Sink, *, frame_by_level: bool) -> None:
        super().__init__()
        self._sink = sink
        self._frame_by_level = frame_by_level

    def emit(self, record: logging.LogRecord) -> None:
        record.aws_request_id = _request_id
        record.tenant_id = _tenant_id
        try:
            message = self.format(record)
            types = JSON_FRAME_TYPES if _json else TEXT_FRAME_TYPES
            frame_type = types[_level(record)] if self._frame_by_level else types[0]
            self._sink.write(message, frame_type)
        except Exception:
            self.handleError(record)


class JsonFormatter(logging.Formatter):
    """`AWS_LAMBDA_LOG_FORMAT=JSON`: the fields `awslambdaric` writes, then the record's
    extra fields; fields that are None are left out."""

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        exc_info = record.exc_info
        document: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": logging.getLevelName(_level(record)),
            "message": record.getMessage(),
            "logger": record.name,
        }
        if exc_info and exc_info[0] is not None:
            document["stackTrace"] = traceback.format_tb(exc_info[2])
            document["errorType"] = exc_info[0].__name__
            document["errorMessage"] = str(exc_info[1])
        document["requestId"] = getattr(record, "aws_request_id", None)
        if exc_info:
            document["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        document["tenantId"] = getattr(record, "tenant_id", None)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in document:
                document[key] = value
        present = {key: value for key, value in document.items() if value is not None}
        return json.dumps(present, ensure_ascii=False, default=str) + "\n"
