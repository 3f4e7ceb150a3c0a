"""OpenAIJudge against a loopback chat-completions server: request shape, protocol, retries."""

from __future__ import annotations

import json
import socket

import pytest
import torch
from chatserver import ChatServer, decode_images

from semfidelity.selection import rank
from semfidelity.selection.judges import JudgeError, OpenAIJudge
from semfidelity.selection.judges.openai import IMAGE_QUESTIONS, parse_answer


def graded_images(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` small images with distinct mean brightness (random order) plus texture."""
    g = torch.Generator().manual_seed(seed)
    levels = torch.randperm(n, generator=g).float() / n * 0.8 + 0.1
    texture = torch.rand(n, 3, 12, 16, generator=g) * 0.05
    return (levels[:, None, None, None] + texture).clamp(0, 1)


@pytest.fixture
def server(monkeypatch):
    # Environment proxies must not divert the judge: point them at an address that must
    # never be contacted.
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:9")
    monkeypatch.setenv("http_proxy", "http://10.255.255.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with ChatServer() as srv:
        yield srv


@pytest.fixture
def connections(monkeypatch):
    """Record every outgoing TCP connection (host, port)."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        seen.append(address[:2])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


def make_judge(srv: ChatServer, sleeps: list[float] | None = None, **kw) -> OpenAIJudge:
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return OpenAIJudge(base_url=srv.base_url, api_key="test-key", sleep=record, timeout=10, **kw)


def test_batches_of_ten_request_shape_and_ranking(server, connections):
    images = graded_images(25)
    order = make_judge(server).rank(images)

    assert sorted(order) == list(range(25))
    assert [len(decode_images(b)) for _, _, b in server.requests] == [10, 10, 5, 3]
    # the final round orders the three batch winners: the global brightest comes first
    bright = images.mean(dim=(1, 2, 3))
    winners = [int(bright[s : s + 10].argmax()) + s for s in (0, 10, 20)]
    assert order[:3] == sorted(winners, key=lambda i: -float(bright[i]))
    assert order[0] == int(bright.argmax())
    # runners-up of each batch follow (top-5 per batch), then the rest in input order
    assert set(order[3:15]) | set(winners) == {
        s + j for s in (0, 10, 20) for j in bright[s : s + 10].argsort(descending=True)[:5].tolist()
    }
    for path, headers, body in server.requests:
        assert path == "/v1/chat/completions"
        assert headers["Authorization"] == "Bearer test-key"
        assert body["model"] == "gpt-4o"
        assert body["response_format"] == {"type": "json_object"}
        system, user = body["messages"]
        assert system["role"] == "system" and "super-resolved" in system["content"]
        assert user["role"] == "user"
        parts = user["content"]
        assert parts[0]["type"] == "text"
        assert all(q in parts[0]["text"] for q in IMAGE_QUESTIONS)
        assert '"best"' in parts[0]["text"] and '"top_k"' in parts[0]["text"]
        labels = [p["text"] for p in parts[1:] if p["type"] == "text"]
        assert labels == [f"Image {j}:" for j in range(1, len(labels) + 1)]
    # images arrive losslessly (8-bit PNG of the input)
    first = decode_images(server.requests[0][2])[0]
    expected = (images[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert (first == expected).all()
    assert connections and all(host == "127.0.0.1" for host, _ in connections)


def test_single_batch_no_final_round_and_rank_integration(server, connections):
    images = graded_images(6, seed=1)
    judge = make_judge(server, model="local-vlm", top_k=3)
    r = rank(images, scorers=("vlm",), judge=judge)
    bright = images.mean(dim=(1, 2, 3))
    assert len(server.requests) == 1 and server.requests[0][2]["model"] == "local-vlm"
    assert r.order[:3] == bright.argsort(descending=True)[:3].tolist()
    assert r.scores["vlm"][r.order[0]] == 1.0 and r.scores["vlm"][r.order[-1]] == 0.0
    assert all(host == "127.0.0.1" for host, _ in connections)


def test_retry_on_429_and_5xx_with_exponential_backoff(server):
    server.script = [(429, "rate limited"), (503, "busy"), (500, "oops")]
    sleeps: list[float] = []
    order = make_judge(server, sleeps, backoff=0.5).rank(graded_images(4))
    assert sorted(order) == [0, 1, 2, 3]
    assert len(server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_persistent_server_errors_and_client_errors(server):
    server.script = [(503, "busy")] * 3
    with pytest.raises(JudgeError, match="after 3 attempts.*HTTP 503"):
        make_judge(server, max_retries=2).rank(graded_images(3))
    server.requests.clear()
    server.script = [(401, "bad key")]
    with pytest.raises(JudgeError, match="HTTP 401.*bad key"):
        make_judge(server).rank(graded_images(3))
    assert len(server.requests) == 1  # no retry on a client error


def test_malformed_replies_are_retried_then_fail_clearly(server):
    server.script = [(200, "Image 2 looks best to me.")]
    order = make_judge(server).rank(graded_images(3, seed=2))  # second attempt is valid JSON
    assert sorted(order) == [0, 1, 2] and len(server.requests) == 2

    server.requests.clear()
    server.default = lambda body: '{"best": 7, "top_k": [7, 1, 2]}'
    with pytest.raises(JudgeError, match="malformed after 3 attempts.*1..3"):
        make_judge(server, max_malformed=2).rank(graded_images(3))
    assert len(server.requests) == 3


def test_parse_answer_strict_format():
    assert parse_answer('```json\n{"best": 2, "top_k": [2, 1]}\n```', n=3, k=2).top == [1, 0]
    assert parse_answer('{"best": "3", "top_k": ["1", "3"]}', n=3, k=2).top == [2, 0]
    assert parse_answer('{"best": 3, "top_k": [1, 2]}', n=3, k=2).top == [2, 0]
    for bad in (
        "not json",
        '{"top_k": [1, 2]}',
        '{"best": 1, "top_k": [1, 1]}',
        '{"best": 1, "top_k": [1]}',
        '{"best": 0, "top_k": [1, 2]}',
        '{"best": true, "top_k": [1, 2]}',
        "[1, 2]",
    ):
        with pytest.raises(ValueError):
            parse_answer(bad, n=3, k=2)


def test_configuration_from_environment_and_errors(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAIJudge()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    judge = OpenAIJudge()
    assert judge.base_url == "http://127.0.0.1:1/v1" and judge.api_key == "env-key"
    with pytest.raises(ValueError, match="base_url"):
        OpenAIJudge(base_url="ftp://example")
    with pytest.raises(ValueError, match="batch_size"):
        OpenAIJudge(batch_size=1)
    with pytest.raises(ValueError, match="images"):
        judge.rank(torch.rand(2, 4, 8, 8))


def test_unreachable_endpoint_fails_after_retries():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    sleeps: list[float] = []
    judge = OpenAIJudge(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=1, sleep=sleeps.append
    )
    with pytest.raises(JudgeError, match="after 2 attempts"):
        judge.rank(torch.rand(2, 3, 8, 8))
    assert sleeps == [2.0]


def test_request_body_is_json_serialisable_and_small():
    judge = OpenAIJudge(base_url="http://127.0.0.1:1/v1", api_key="k", detail="low")
    body = judge.build_request(torch.rand(2, 3, 8, 8), k=1)
    assert json.loads(json.dumps(body)) == body
    assert body["messages"][1]["content"][2]["image_url"]["detail"] == "low"
