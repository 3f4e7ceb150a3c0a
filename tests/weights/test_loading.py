"""Safe loading: safetensors or weights_only torch.load, never pickle code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from weights_testkit import (
    tiny_bytes,
    tiny_state_dict,
    write_manifest,
)

from semfidelity import weights


def test_path_without_id_loads_without_hash_check(tmp_path):
    user = tmp_path / "finetuned.pth"
    torch.save({"state_dict": {"w": torch.arange(3.0)}, "epoch": 4}, user)
    assert torch.equal(weights.load_state_dict(path=user)["w"], torch.arange(3.0))
    st = tmp_path / "finetuned.safetensors"
    st.write_bytes(tiny_bytes())
    assert weights.load_state_dict(path=st).keys() == tiny_state_dict().keys()
    with pytest.raises(TypeError, match="weight_id, path or both"):
        weights.load_state_dict()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_pickle_that_executes_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(1), "payload": _Exploit(marker)}, evil)
    with pytest.raises(weights.WeightLoadError, match="weights_only=True") as info:
        weights.load_state_dict(path=evil)
    assert "never runs code" in str(info.value)
    write_manifest(
        tmp_path, monkeypatch, {"id": "evil", "url": "http://127.0.0.1:9/e", "format": "torch"}
    )
    with pytest.raises(weights.WeightLoadError, match="refused to load"):
        weights.load_state_dict("evil", path=evil)
    assert not marker.exists()


def test_non_tensor_content_and_garbage_are_refused(tmp_path):
    bad = tmp_path / "list.pth"
    torch.save([torch.ones(1)], bad)
    with pytest.raises(weights.WeightLoadError, match="mapping of parameter names"):
        weights.load_state_dict(path=bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(weights.WeightLoadError, match="safetensors"):
        weights.load_state_dict(path=junk)
