"""A loopback chat server answering with the fake model's brain: the OpenAI chat
completions API (``/v1/chat/completions``) and the Anthropic messages API (``/v1/messages``).

It lets tests and demos drive the real provider path (HTTP, the OpenAI SDK, usage
objects, pricing) without a vendor. A script of faults (HTTP errors, delays,
unusable answers) can be queued. It reports usage like a real server, and can claim
any model name, so pricing from the price table is exercised too.

    python -m threatroom.llm.fakeserver --port 8089
    threatroom discuss examples/flask-blog.yaml --llm openai-compatible:fake --llm-base-url http://127.0.0.1:8089/v1
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake import answer


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering one request."""

    status: int = 0  # an HTTP error status, or 0 to answer
    delay: float = 0.0  # seconds to wait first
    garbage: bool = False  # answer with content that fails validation
    retry_after: float | None = None


def _prompt(body: dict[str, Any]) -> str:
    for msg in reversed(body.get("messages", [])):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("tools"):
        tool = body["tools"][0]
        return tool["function"].get("parameters", {}) if "function" in tool else tool.get("input_schema", {})
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("schema", {})


class FakeServer:
    """Run with ``with FakeServer() as url:``; ``requests`` holds every request body."""

    def __init__(self, *, model_name: str = "threatroom-fake", host: str = "127.0.0.1", port: int = 0) -> None:
        self.model_name = model_name
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []  # Authorization headers seen, so tests can check a key was sent
        self.api_versions: list[str] = []  # anthropic-version headers seen
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _reply(self, body: dict[str, Any], api: str = "openai") -> tuple[int, dict[str, Any], dict[str, str], float]:
        with self._lock:
            self.requests.append(body)
            fault = self.faults.popleft() if self.faults else Fault()
        headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status:
            if api == "anthropic":
                return fault.status, {"type": "error", "error": {"type": "api_error", "message": "injected fault"}}, headers, fault.delay
            return fault.status, {"error": {"message": "injected fault", "type": "server_error", "code": fault.status}}, headers, fault.delay
        schema = _schema(body)
        data = {"message": 42} if fault.garbage else answer(_prompt(body), wants_threats="threats" in schema.get("properties", {}))
        if api == "anthropic":
            return 200, self._anthropic(body, data), headers, fault.delay
        content = json.dumps(data)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None,
                       "tool_calls": [{"id": f"call_{len(self.requests)}", "type": "function", "function": {"name": name, "arguments": content}}]}
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        completion_tokens = max(1, len(content) // 4)
        out = {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()), "model": self.model_name,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if body.get("tools") else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        }
        return 200, out, headers, fault.delay

    def _anthropic(self, body: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        n = len(self.requests)
        if body.get("tools"):
            block: dict[str, Any] = {"type": "tool_use", "id": f"toolu_{n}", "name": body["tools"][0]["name"], "input": data}
        else:
            block = {"type": "text", "text": json.dumps(data)}
        return {
            "id": f"msg_{n}", "type": "message", "role": "assistant", "model": self.model_name, "content": [block],
            "stop_reason": "tool_use" if body.get("tools") else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": max(1, len(json.dumps([body.get("system"), body.get("messages")])) // 4),
                      "output_tokens": max(1, len(json.dumps(data)) // 4)},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: prompts are user data
                return

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model_name, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0].rstrip("/")
                api = "anthropic" if path.endswith("/messages") else "openai" if path.endswith("/chat/completions") else ""
                if not api:
                    self._send(404, {"error": {"message": "not found"}})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                except ValueError:
                    self._send(400, {"error": {"message": "invalid JSON"}})
                    return
                server.authorizations.append(self.headers.get("Authorization") or self.headers.get("x-api-key") or "")
                server.api_versions.append(self.headers.get("anthropic-version") or "")
                status, payload, headers, delay = server._reply(body, api)
                if delay:
                    time.sleep(delay)
                self._send(status, payload, headers)

        return Handler

    def start(self) -> str:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Loopback OpenAI-compatible fake model server for threatroom.")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--model-name", default="threatroom-fake")
    args = ap.parse_args(argv)
    server = FakeServer(model_name=args.model_name, port=args.port)
    print(f"fake model server on {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Fault", "FakeServer"]
