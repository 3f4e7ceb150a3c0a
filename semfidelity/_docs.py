"""Links to the documentation for messages users read (errors, ``--help``, metric notes).

The ``docs/`` folder is not in the wheel, so a message must not point at a repository path: it
links the online copy (the ``Documentation`` URL in ``pyproject.toml``). Imports nothing.
"""

from __future__ import annotations

__all__ = ["DOCS_URL", "docs_url"]

DOCS_URL = "https://github.com/semfidelity/semfidelity/blob/main/docs/"


def docs_url(page: str) -> str:
    """The online address of ``docs/<page>`` (``page`` like ``"weights.md#integrity"``)."""
    return DOCS_URL + page
