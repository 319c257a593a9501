"""Logs as `awslambdaric` writes them: framed on `_LAMBDA_TELEMETRY_LOG_FD` (one CloudWatch
event per record), `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL` honoured."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass

from .conftest import StartRuntime, function_url_event, startup_report
from .runtime_api_emulator import RuntimeApiEmulator

TEXT_LINE = re.compile(r"\[(\w+)\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t([\w-]*)\t(.*)", re.S)


@dataclass(frozen=True)
class Frame:
    frame_type: int
    timestamp_us: int
    message: str


def parse_frames(data: bytes) -> list[Frame]:
    frames = []
    while data:
        frame_type = int.from_bytes(data[:4], "big")
        length = int.from_bytes(data[4:8], "big")
        timestamp = int.from_bytes(data[8:16], "big")
        frames.append(Frame(frame_type, timestamp, data[16 : 16 + length].decode()))
        data = data[16 + length :]
    return frames


def run_and_collect(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime, env: dict[str, str]
) -> tuple[list[Frame], str, str]:
    """Frames written while the app logs and fails one request, the stdout of the process,
    and the failed request's id."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe:
        try:
            runtime = start_runtime(
                "streaming_app.app",
                env={"_LAMBDA_TELEMETRY_LOG_FD": str(write_end), **env},
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        assert startup_report(emulator)["env"]["telemetry_fd"] is None
        emulator.invoke(function_url_event("/log"))
        failed_id = emulator.enqueue(function_url_event("/fail-before"))
        assert emulator.result(failed_id).kind == "error"
        runtime.terminate()
        assert runtime.wait() == 0
        return parse_frames(pipe.read()), runtime.log(), failed_id


def test_text_records_are_one_frame_each_tracebacks_included(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime
) -> None:
    started = time.time_ns() // 1000
    frames, stdout, _ = run_and_collect(emulator, start_runtime, {})

    # Without AWS_LAMBDA_LOG_LEVEL every record has the plain log frame type, and the
    # root logger keeps Python's default level, WARNING (as under awslambdaric)
    records = [frame for frame in frames if frame.frame_type == 0xA55A0003]
    parsed = [TEXT_LINE.fullmatch(frame.message) for frame in records]
    assert all(parsed), records
    by_message = {match[3].splitlines()[0]: match for match in parsed if match}
    assert "hello from the app" not in by_message
    assert by_message["careful"][1] == "WARNING"
    assert by_message["careful"][3] == "careful\n"
    failure = by_message["it failed"]
    assert failure[1] == "ERROR"
    assert failure[3].startswith("it failed\nTraceback (most recent call last):\n")
    assert failure[3].endswith("ValueError: bad value")
    assert len({match[2] for match in by_message.values()}) == 1  # the request id
    # The invocation error: awslambdaric's error report, one ERROR frame
    [report] = [frame for frame in frames if frame.frame_type == 0xA55A0017]
    lines = report.message.split("\n")
    assert lines[:2] == [
        "[ERROR] LookupError: no route to the model",
        "Traceback (most recent call last):",
    ]
    assert lines[2].startswith('\u00a0\u00a0File "')
    assert "raise LookupError" in lines[-1]
    assert all(started <= frame.timestamp_us <= time.time_ns() // 1000 for frame in frames)
    assert len(frames) == len(records) + 1
    # and none of it on stdout
    assert "it failed" not in stdout
    assert "no route to the model" not in stdout


def test_log_level_filters_and_sets_each_frames_level(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime
) -> None:
    info, warning = {"AWS_LAMBDA_LOG_LEVEL": "INFO"}, {"AWS_LAMBDA_LOG_LEVEL": "WARN"}
    frames, _, _ = run_and_collect(emulator, start_runtime, info)
    fewer, _, _ = run_and_collect(emulator, start_runtime, warning)

    levels = [(frame.frame_type, frame.message.split("\t")[-1].splitlines()[0]) for frame in frames]
    assert (0xA55A000F, "hello from the app") in levels
    assert (0xA55A0013, "careful") in levels
    assert (0xA55A0017, "it failed") in levels
    assert "hello from the app" not in str(fewer)


def test_json_format_writes_awslambdarics_fields(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime
) -> None:
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    frames, _, failed_id = run_and_collect(emulator, start_runtime, env)

    documents = {frame.frame_type: [] for frame in frames}
    for frame in frames:
        documents[frame.frame_type].append(json.loads(frame.message))
    [info] = [d for d in documents[0xA55A000E] if d.get("message") == "hello from the app"]
    assert set(info) == {"timestamp", "level", "message", "logger", "requestId"}
    assert info["level"] == "INFO"
    assert info["logger"] == "streaming_app"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["timestamp"])
    [warning] = documents[0xA55A0012]
    assert warning["tokens"] == 7  # extra fields are kept
    errors = documents[0xA55A0016]
    [logged] = [d for d in errors if d.get("message") == "it failed"]
    assert logged["errorType"] == "ValueError"
    assert logged["errorMessage"] == "bad value"
    assert "raise ValueError" in logged["stackTrace"][-1]
    assert logged["location"].endswith("streaming_app.py:log:" + logged["location"].split(":")[-1])
    [report] = [d for d in errors if "log_level" in d]
    assert report["log_level"] == "ERROR"
    assert report["errorType"] == "LookupError"
    assert report["requestId"] == failed_id
    assert set(report) == {
        "timestamp",
        "log_level",
        "errorMessage",
        "errorType",
        "requestId",
        "stackTrace",
    }


def test_without_the_pipe_an_init_failure_is_one_stdout_line(
    emulator: RuntimeApiEmulator, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime("failing_import.app")

    assert runtime.wait() == 1
    [line] = [line for line in runtime.log().split("\n") if line.startswith("[ERROR]")]
    title, header, *trace = line.split("\r")
    assert title == "[ERROR] RuntimeError: GATEWAY_API_KEYS is not set"
    assert header == "Traceback (most recent call last):"
    assert trace[-1].startswith("\u00a0\u00a0\u00a0\u00a0raise RuntimeError")
