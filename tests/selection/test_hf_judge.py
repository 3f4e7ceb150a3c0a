"""HFJudge with a tiny randomly initialised BLIP-2 (real architecture) and a local tokenizer.

Shape and plumbing only: the weights are random, so the scores carry no meaning; what is
checked is the loading path (save_pretrained -> from_pretrained, no network), P("yes") read
from the next-token logits, batching, the ranking contract and the ``vlm`` scorer.
"""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import (
    Blip2Config,
    Blip2ForConditionalGeneration,
    Blip2Processor,
    BlipImageProcessor,
    OPTConfig,
    PreTrainedTokenizerFast,
)

from semfidelity.selection import rank
from semfidelity.selection.judges.base import to_pil
from semfidelity.selection.judges.hf import DEFAULT_QUESTIONS, HFJudge


def tiny_processor() -> Blip2Processor:
    words = ["<pad>", "</s>", "<unk>", "<image>", "yes", "no", "question", "answer", ":", "?"]
    for q, _ in DEFAULT_QUESTIONS:
        for w in q.lower().replace("?", " ").replace(",", " ").split():
            if w not in words:
                words.append(w)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    return Blip2Processor(image_processor=image_processor, tokenizer=tokenizer, num_query_tokens=4)


def tiny_blip2(vocab_size: int) -> Blip2ForConditionalGeneration:
    config = Blip2Config(
        vision_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8,
        ),
        qformer_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            encoder_hidden_size=16, vocab_size=vocab_size,
        ),
        text_config=OPTConfig(
            vocab_size=vocab_size, hidden_size=16, ffn_dim=32, num_hidden_layers=1,
            num_attention_heads=2, word_embed_proj_dim=16, max_position_embeddings=128,
            pad_token_id=0, bos_token_id=1, eos_token_id=1,
        ).to_dict(),
        num_query_tokens=4,
        image_token_index=3,
    )  # fmt: skip
    torch.manual_seed(0)
    return Blip2ForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_blip2")
    processor = tiny_processor()
    tiny_blip2(len(processor.tokenizer)).save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def judge(tiny_dir):
    # loaded like a real model: AutoProcessor / AutoModelForImageTextToText from a folder
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return HFJudge(str(tiny_dir), device="cpu", batch_size=2)


def test_loads_from_local_folder_and_scores(judge):
    assert isinstance(judge.model, Blip2ForConditionalGeneration)
    images = torch.rand(5, 3, 24, 20, generator=torch.Generator().manual_seed(0))
    scores = judge.scores(images)
    assert scores.shape == (5,) and scores.dtype == torch.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    order = judge.rank(images)
    assert sorted(order) == list(range(5))
    assert [scores[i] for i in order] == sorted(scores.tolist(), reverse=True)
    # batching does not change the result
    judge.batch_size = 5
    try:
        torch.testing.assert_close(judge.scores(images), scores, atol=1e-5, rtol=0)
    finally:
        judge.batch_size = 2


def test_p_yes_is_the_yes_no_softmax_of_the_next_token():
    processor = tiny_processor()
    model = tiny_blip2(len(processor.tokenizer))
    judge = HFJudge(model, processor=processor, device="cpu")
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    question = DEFAULT_QUESTIONS[2][0]
    text = f"Question: {question} Answer:"
    inputs = processor(images=[to_pil(im) for im in images], text=[text] * 2, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[:, -1]
    vocab = processor.tokenizer.get_vocab()
    expected = torch.stack([logits[:, vocab["yes"]], logits[:, vocab["no"]]], -1).softmax(-1)[:, 0]
    torch.testing.assert_close(judge.p_yes(images, question), expected, atol=1e-5, rtol=0)
    # the score averages P(yes) for the good-if-yes question and 1-P(yes) for the others
    parts = [judge.p_yes(images, q) for q, _ in DEFAULT_QUESTIONS]
    manual = (1 - parts[0] + 1 - parts[1] + parts[2]) / 3
    torch.testing.assert_close(judge.scores(images), manual, atol=1e-6, rtol=0)


def test_vlm_scorer_in_rank_and_errors(judge, tiny_dir):
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    r = rank(images, judge=judge)  # auto without reference/lr: consensus + vlm
    assert set(r.scores) == {"consensus", "vlm"}
    best = judge.rank(images)[0]
    assert r.scores["vlm"][best] == 1.0
    with pytest.raises(ValueError, match="processor"):
        HFJudge(tiny_blip2(10), device="cpu")
    with pytest.raises(ValueError, match="prompt"):
        HFJudge(str(tiny_dir), prompt="no placeholder")


@pytest.mark.parametrize("var", ["SEMFID_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_flags_make_the_judge_load_local_files_only(monkeypatch, var):
    import transformers

    seen = []

    def fake_from_pretrained(model_id, **kwargs):
        seen.append(kwargs.get("local_files_only"))
        raise OSError(f"{model_id} not in the local cache")

    monkeypatch.delenv("SEMFID_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv(var, "1")
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", fake_from_pretrained)
    with pytest.raises(OSError, match="not in the local cache"):
        HFJudge("someone/some-vlm")
    assert seen == [True]
