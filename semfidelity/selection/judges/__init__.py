"""Vision-language judges that order SR candidates (see docs/selection.md).

``OpenAIJudge`` needs no extra dependency; ``HFJudge`` needs ``semfidelity[vlm]``
(transformers) and is imported lazily.
"""

from __future__ import annotations

from typing import Any

from semfidelity.selection.judges.base import Judge, JudgeError
from semfidelity.selection.judges.openai import OpenAIJudge

__all__ = ["Judge", "JudgeError", "OpenAIJudge", "HFJudge"]


def __getattr__(name: str) -> Any:
    if name == "HFJudge":
        from semfidelity.selection.judges.hf import HFJudge

        return HFJudge
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
