"""A fake OpenAI / Azure OpenAI Chat Completions endpoint, scripted by tests, speaking the real wire format.

    fake = FakeOpenAI()
    fake.enqueue(answer({"title": "...", "rationale": "..."}), failure(429, retry_after=0.1), ...)
    with serve_asgi(fake.app) as base_url:   # the real openai client with base_url=f"{base_url}/v1"
        ...
    fake.requests  # every request body received, in order

Serves `POST /v1/chat/completions` (OpenAI) and `POST /openai/deployments/{deployment}/chat/completions`
(Azure, `api-version` query). Each request takes the next scripted step: a `Reply` (content — e.g. the JSON of
a `response_format` json_schema answer —, `tool_calls`, `refusal`, finish reason, usage tokens, an optional
delay to provoke client timeouts) or a `Failure` (status, `{"error": {"message", "type", "param", "code"}}`,
optional `Retry-After`). A step may also be a function of the request body. With nothing scripted the fake
answers 500 (`server_error`), so a test never passes by accident.

Image content parts (`{"type": "image_url", "image_url": {"url", "detail"}}`) are accepted and recorded in
`fake.images` (with the index of the request that carried them). Speech to text: `POST /v1/audio/transcriptions`
(and Azure's `/openai/deployments/{deployment}/audio/transcriptions`) takes the multipart upload, records it in
`fake.transcriptions` (model, response_format, granularities, file name, size, first bytes) and answers the
next step of its own script, `fake.enqueue_transcription(transcript(...), failure(429), ...)`: the
`verbose_json` body (segments, duration usage) or the `json` one (text, token usage), by the request's format.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass(frozen=True)
class Reply:
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None  # default: "tool_calls" with tool calls, else "stop"
    prompt_tokens: int = 120
    completion_tokens: int = 30
    delay: float = 0.0


@dataclass(frozen=True)
class Failure:
    status: int
    message: str = "fake failure"
    type: str = "server_error"
    code: str | None = None
    retry_after: float | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, text)
    language: str = "english"
    duration: float | None = None  # default: the last segment's end
    delay: float = 0.0


Step = Reply | Failure | Callable[[dict[str, Any]], "Reply | Failure"]
TranscriptStep = Transcript | Failure


def transcript(text: str, segments: list[tuple[float, float, str]] | None = None, **kwargs: Any) -> Transcript:
    return Transcript(text=text, segments=list(segments or []), **kwargs)


def answer(payload: Any, **kwargs: Any) -> Reply:
    """A structured-output answer: the JSON text of `payload` as the message content."""
    return Reply(content=json.dumps(payload), **kwargs)


_call_ids = itertools.count(1)


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id or f"call_fake_{next(_call_ids)}", "type": "function",
            "function": {"name": name, "arguments": args}}


def failure(status: int, *, retry_after: float | None = None, message: str | None = None) -> Failure:
    """The error bodies OpenAI sends for the common statuses."""
    kinds = {429: ("rate_limit_exceeded", "requests", "Rate limit reached for requests"),
             500: ("server_error", None, "The server had an error while processing your request."),
             503: ("server_error", None, "The engine is currently overloaded, please try again later"),
             400: ("invalid_request_error", None, "Invalid request"),
             401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided")}
    kind, code, text = kinds.get(status, ("server_error", None, "error"))
    return Failure(status, message or text, kind, code, retry_after)


def _error_response(f: Failure) -> JSONResponse:
    headers = {} if f.retry_after is None else {"Retry-After": f"{f.retry_after:g}"}
    body = {"error": {"message": f.message, "type": f.type, "param": None, "code": f.code}}
    return JSONResponse(body, status_code=f.status, headers=headers)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.images: list[dict[str, Any]] = []  # {"request": index into requests, "url", "detail"}
        self.transcription_script: deque[TranscriptStep] = deque()
        self.transcriptions: list[dict[str, Any]] = []
        self.app = self._build()
        self._ids = itertools.count(1)

    def enqueue(self, *steps: Step) -> FakeOpenAI:
        self.script.extend(steps)
        return self

    def enqueue_transcription(self, *steps: TranscriptStep) -> FakeOpenAI:
        self.transcription_script.extend(steps)
        return self

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()
        self.headers.clear()
        self.images.clear()
        self.transcription_script.clear()
        self.transcriptions.clear()

    def _record_images(self, body: dict[str, Any]) -> None:
        for message in body.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    image = part.get("image_url") or {}
                    self.images.append({"request": len(self.requests) - 1, "url": image.get("url", ""),
                                        "detail": image.get("detail")})

    def _completion(self, body: dict[str, Any], r: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": r.content, "refusal": r.refusal,
                                   "annotations": []}
        if r.tool_calls:
            message["tool_calls"] = r.tool_calls
        finish = r.finish_reason or ("tool_calls" if r.tool_calls else "stop")
        return {
            "id": f"chatcmpl-fake{next(self._ids)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"), "system_fingerprint": "fp_fake", "service_tier": "default",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
                      "total_tokens": r.prompt_tokens + r.completion_tokens},
        }

    async def _handle(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") and not request.headers.get("api-key"):
            return _error_response(failure(401))
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return _error_response(Failure(400, "We could not parse the JSON body of your request.",
                                           "invalid_request_error"))
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self._record_images(body)
        step: Step = self.script.popleft() if self.script else Failure(500, "fake: nothing scripted")
        if callable(step):
            step = step(body)
        if step.delay:
            await asyncio.sleep(step.delay)
        if isinstance(step, Failure):
            return _error_response(step)
        return JSONResponse(self._completion(body, step))

    async def _transcribe(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") and not request.headers.get("api-key"):
            return _error_response(failure(401))
        fields, files = _multipart(request.headers.get("content-type", ""), await request.body())
        upload = files.get("file")
        if upload is None or not fields.get("model"):
            return _error_response(Failure(400, "file and model are required", "invalid_request_error"))
        response_format = fields.get("response_format", ["json"])[0]
        self.transcriptions.append({
            "model": fields["model"][0], "response_format": response_format,
            "timestamp_granularities": fields.get("timestamp_granularities[]", []),
            "filename": upload[0], "size": len(upload[1]), "head": upload[1][:12]})
        self.headers.append(dict(request.headers))
        step = self.transcription_script.popleft() if self.transcription_script else Failure(
            500, "fake: no transcription scripted")
        if step.delay:
            await asyncio.sleep(step.delay)
        if isinstance(step, Failure):
            return _error_response(step)
        duration = step.duration if step.duration is not None else (step.segments[-1][1] if step.segments else 1.0)
        if response_format != "verbose_json":
            tokens = max(1, len(step.text.split()))
            return JSONResponse({"text": step.text, "usage": {
                "type": "tokens", "input_tokens": round(duration * 10), "output_tokens": tokens,
                "total_tokens": round(duration * 10) + tokens}})
        segments = [{"id": i, "seek": 0, "start": start, "end": end, "text": text, "tokens": [1, 2],
                     "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2, "no_speech_prob": 0.01}
                    for i, (start, end, text) in enumerate(step.segments)]
        return JSONResponse({"task": "transcribe", "language": step.language, "duration": duration,
                             "text": step.text, "segments": segments,
                             "usage": {"type": "duration", "seconds": duration}})

    def _build(self) -> FastAPI:
        app = FastAPI(title="Fake OpenAI", openapi_url=None, docs_url=None, redoc_url=None)
        app.add_api_route("/v1/chat/completions", self._handle, methods=["POST"])
        app.add_api_route("/chat/completions", self._handle, methods=["POST"])
        app.add_api_route("/openai/deployments/{deployment}/chat/completions", self._handle, methods=["POST"])
        for path in ("/v1/audio/transcriptions", "/audio/transcriptions",
                     "/openai/deployments/{deployment}/audio/transcriptions"):
            app.add_api_route(path, self._transcribe, methods=["POST"])
        app.state.fake = self
        return app


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    """A multipart/form-data body: its text fields (repeatable) and its files (name, bytes), by field name."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data)
        else:
            fields.setdefault(name, []).append(data.decode())
    return fields, files
