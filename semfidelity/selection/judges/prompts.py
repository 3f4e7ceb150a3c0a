"""The prompts and the request body of the OpenAI-compatible judge (see docs/selection.md).

The TWS paper (Korkmaz et al.) does not publish its prompts or answer format; these are ours.
"""

from __future__ import annotations

import base64
from typing import Any

import torch

from semfidelity.selection.judges.base import png_bytes

__all__ = ["CONTEXT_PROMPT", "IMAGE_QUESTIONS", "ANSWER_FORMAT", "build_request"]

CONTEXT_PROMPT = (
    "You are an expert in image quality assessment for image super-resolution. You will see "
    "{n} candidate super-resolved images, labelled Image 1 to Image {n}. A generative "
    "(diffusion) super-resolution model produced all of them from the same low-resolution "
    "input, so they show the same scene and differ only in the details the model generated. "
    "Judge how trustworthy each image is: faithful to a plausible scene, free of artifacts, "
    "with no invented or foreign content."
)

IMAGE_QUESTIONS = (
    "Does the image contain visible artifacts (noise, blur, ringing, blocking, broken or "
    "doubled edges, unnatural texture)?",
    "Does any region show content that is implausible or foreign to the scene (objects, "
    "shapes, text or textures that do not belong there)?",
    "Are fine details sharp and natural, and consistent with the rest of the image?",
)

ANSWER_FORMAT = (
    "Answer these questions for every image and compare the images. Then reply with only a "
    'JSON object and no other text: {{"best": <label>, "top_k": [<label>, ...]}} where '
    '"best" is the label of the most trustworthy image and "top_k" lists the labels of the '
    "{k} most trustworthy images, best first, without repeats. Labels are the integers 1 to "
    "{n}."
)


def build_request(
    images: torch.Tensor, k: int, *, model: str, detail: str, json_mode: bool
) -> dict[str, Any]:
    """The chat-completions request body for one batch of ``(n, 3, H, W)`` images: the
    context prompt as system message, then the questions and answer format, then each image
    as a lossless base64 PNG data URI preceded by ``Image j:``."""
    n = images.shape[0]
    questions = "\n".join(f"{j}. {q}" for j, q in enumerate(IMAGE_QUESTIONS, start=1))
    parts: list[dict[str, Any]] = [
        {
            "type": "text",
            "text": f"Questions for each image:\n{questions}\n\n" + ANSWER_FORMAT.format(k=k, n=n),
        }
    ]
    for j in range(n):
        data = base64.b64encode(png_bytes(images[j])).decode("ascii")
        parts.append({"type": "text", "text": f"Image {j + 1}:"})
        parts.append(
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{data}", "detail": detail},
            }
        )
    body: dict[str, Any] = {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": CONTEXT_PROMPT.format(n=n)},
            {"role": "user", "content": parts},
        ],
    }
    if json_mode:
        body["response_format"] = {"type": "json_object"}
    return body
