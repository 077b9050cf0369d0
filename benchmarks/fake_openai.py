"""A loopback OpenAI-compatible server for tests and benchmarks: chat completions, plain or
streamed as server-sent events, with scripted replies, errors and slowness, recording every
request and how long the server itself spent on it.

    with FakeOpenAI() as server:
        server.reply = lambda request: "Cards arrive in 3-5 working days [1]."
        settings = Settings(llm_model="fake", openai_base_url=server.base_url, ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def default_reply(request: dict) -> str:
    """Cites the first passage; a rewrite request gets the last message back as a question."""
    system = request["messages"][0]["content"]
    if "stand-alone question" in system:
        last = request["messages"][-1]["content"].rsplit("Last message:", 1)[-1].strip()
        return f"{last} (stand-alone)"
    return "Here is what our help articles say about that [1]."


class FakeOpenAI:
    """Start with `with`; set `reply`, `status`, `delay_s`, `token_delay_s`, `garbage`."""

    def __init__(self) -> None:
        self.reply: Callable[[dict], str] = default_reply
        self.status = 200
        """An HTTP status other than 200 answers every request with that error."""
        self.delay_s = 0.0
        """Wait before answering at all."""
        self.token_delay_s = 0.0
        """Wait between streamed tokens."""
        self.garbage = False
        """Answer 200 with a body that is not a chat completion."""
        self.requests: list[dict] = []
        self.served_ms: list[float] = []
        """The server's own time per request, from the body read to the last byte sent."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def bodies(self) -> str:
        """Every request body received, as one string (for "never sent" assertions)."""
        with self._lock:
            return "\n".join(json.dumps(r) for r in self.requests)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                started = time.perf_counter()
                with fake._lock:
                    fake.requests.append(body)
                try:
                    self._answer(body)
                finally:
                    with fake._lock:
                        fake.served_ms.append((time.perf_counter() - started) * 1000)

            def _answer(self, body: dict) -> None:
                time.sleep(fake.delay_s)
                if fake.status != 200:
                    self._send(fake.status, {"error": {"message": "scripted failure",
                                                       "type": "server_error"}})
                elif fake.garbage:
                    self._send(200, {"unexpected": "shape"}, raw=b"<html>not json</html>")
                elif body.get("stream"):
                    self._stream(body, fake.reply(body))
                else:
                    self._send(200, _completion(body, fake.reply(body)))

            def _send(self, status: int, payload: dict, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                tokens = [t + " " for t in text.split(" ")]
                tokens[-1] = tokens[-1].rstrip()
                try:
                    for token in tokens:
                        self._event(_chunk(body, {"content": token}))
                        time.sleep(fake.token_delay_s)
                    self._event(_chunk(body, {}, finish="stop"))
                    if (body.get("stream_options") or {}).get("include_usage"):
                        usage = _usage(body, text)
                        self._event({**_chunk(body, {}), "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (deadline): that is allowed
                self.close_connection = True

            def _event(self, payload: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _usage(body: dict, text: str) -> dict:
    prompt = sum(len(m["content"].split()) for m in body["messages"])
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _chunk(body: dict, delta: dict, finish: str | None = None) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _completion(body: dict, text: str) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": _usage(body, text)}
