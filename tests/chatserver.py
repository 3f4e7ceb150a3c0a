"""A loopback HTTP server speaking the OpenAI chat-completions protocol, for judge tests.

The "model" behind it is a plain function of the decoded images: it ranks them by mean
brightness (brighter = better), so tests can predict what a correct client must conclude.
Tests script failures (HTTP status codes, garbage replies) through ``script``.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def decode_images(body: dict) -> list[np.ndarray]:
    """The data-URI PNG images of a chat-completions request, as HWC uint8 arrays."""
    out = []
    for part in body["messages"][-1]["content"]:
        if part.get("type") == "image_url":
            url = part["image_url"]["url"]
            assert url.startswith("data:image/png;base64,"), url[:40]
            png = base64.b64decode(url.split(",", 1)[1])
            out.append(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    return out


def brightness_answer(body: dict) -> str:
    """The reply of a model that prefers brighter images, in the judge's JSON format."""
    images = decode_images(body)
    text = body["messages"][-1]["content"][0]["text"]
    k = int(text.split("lists the labels of the ")[1].split()[0])
    order = sorted(range(len(images)), key=lambda j: -float(images[j].mean()))
    labels = [j + 1 for j in order[:k]]
    return json.dumps({"best": labels[0], "top_k": labels})


class ChatServer:
    """``with ChatServer() as srv: srv.base_url`` -> ``http://127.0.0.1:PORT/v1``.

    ``script``: list of ``(status, content)`` consumed one per request before the default
    behaviour; ``content`` is the assistant text for 200, the error body otherwise.
    ``requests``: ``(path, headers, body)`` of every request received.
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, str]] = []
        self.requests: list[tuple[str, dict, dict]] = []
        self.default = brightness_answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                server.requests.append((self.path, dict(self.headers), body))
                if server.script:
                    status, content = server.script.pop(0)
                else:
                    status, content = 200, server.default(body)
                if status == 200:
                    payload = json.dumps(
                        {
                            "id": "chatcmpl-test",
                            "object": "chat.completion",
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop",
                                }
                            ],
                        }
                    ).encode()
                else:
                    payload = json.dumps({"error": {"message": content}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
