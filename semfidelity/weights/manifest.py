"""The weights manifest: one typed :class:`WeightEntry` per pretrained file.

The table lives in ``semfidelity/weights_manifest.json`` (shipped in the wheel; a byte-identical
copy sits at the repository root). ``SEMFID_WEIGHTS_MANIFEST=/path/extra.json`` adds entries of
the same format (new ids only: a built-in id cannot be redefined).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.resources
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WeightEntry", "get_entry", "list_entries", "MANIFEST_ENV", "FORMATS"]

MANIFEST_ENV = "SEMFID_WEIGHTS_MANIFEST"
FORMATS = ("safetensors", "torch", "dlib", "text")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def _check_package_path(where: str, name: str, value: object) -> None:
    """A path inside the package: relative, ``/``-separated, no ``..``, ``.`` or empty parts."""
    parts = value.split("/") if isinstance(value, str) else []
    if not parts or "\\" in value or ":" in value or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"{where}: {name} must be a relative path inside the semfidelity package "
            f"(no '..', no leading '/'), got {value!r}"
        )


@dataclass(frozen=True, kw_only=True)
class WeightEntry:
    """One pretrained file.

    Attributes:
        id: stable identifier used by metrics and the CLI, e.g. ``"clip-vit-b-32-openai"``.
        repo_id: Hugging Face Hub model repo (``None`` for bundled or URL-only files).
        filename: file name inside the repo (or of the bundled / downloaded file).
        revision: Hub revision, a 40-hex commit when pinned (``"main"`` when not yet pinned).
        sha256: lowercase hex sha256 of the file when known to us, else ``None`` (then the
            Hub-reported sha256 is used and recorded on first download).
        size: exact size in bytes when known, else ``None`` (see ``size_hint``).
        license: licence of the weights.
        source: provenance in words (who published it, how we found it).
        description: one line for tables.
        bundled: shipped inside the package under ``semfidelity/<package_path>``.
        format: ``"safetensors"``, ``"torch"`` (a pickle of tensors, loaded with
            ``torch.load(weights_only=True)``), ``"dlib"`` (dlib's own serialisation, read
            by dlib; no pickle) or ``"text"`` (a plain-text file such as a tokeniser
            vocabulary; resolved and hash-checked, never loaded as tensors).
        url: direct download URL for files not on the Hub.
        package_path: path of a bundled file relative to the ``semfidelity`` package.
        license_file: bundled licence text, relative to the package.
        pip_package: distribution that installs the file (e.g. ``"face-recognition-models"``);
            such entries are never downloaded by semfidelity: ``pip install`` brings them.
        pip_path: the file's path inside that distribution (its RECORD), e.g.
            ``"face_recognition_models/models/x.dat"``; found without importing the package.
        architecture: what the state dict fits, e.g. ``"open_clip/ViT-B-32-quickgelu"``,
            ``"torchvision/resnet50"``.
        revision_note: why ``revision`` is not a pinned commit, when it is not.
        sha256_note: where ``sha256`` comes from (or why it is unknown).
        size_hint: human-readable approximate size, e.g. ``"605 MB"``.
        notes: key-compatibility and usage notes.
    """

    id: str
    repo_id: str | None = None
    filename: str
    revision: str | None = None
    sha256: str | None = None
    size: int | None = None
    license: str
    source: str
    description: str
    bundled: bool = False
    format: str = "safetensors"
    url: str | None = None
    package_path: str | None = None
    license_file: str | None = None
    pip_package: str | None = None
    pip_path: str | None = None
    architecture: str = ""
    revision_note: str = ""
    sha256_note: str = ""
    size_hint: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"weights manifest entry {self.id!r}"
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValueError(f"{where}: id must match {_ID.pattern}, got {self.id!r}")
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"{where}: filename must be a bare file name, got {self.filename!r}")
        if self.sha256 is not None and not _SHA256.fullmatch(self.sha256):
            raise ValueError(
                f"{where}: sha256 must be 64 lowercase hex digits or null, got {self.sha256!r}"
            )
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise ValueError(f"{where}: size must be a non-negative int or null, got {self.size!r}")
        if self.format not in FORMATS:
            raise ValueError(f"{where}: format must be one of {FORMATS}, got {self.format!r}")
        sources = [s for s in (self.repo_id, self.url, self.package_path, self.pip_package) if s]
        if len(sources) != 1:
            raise ValueError(
                f"{where}: exactly one of repo_id, url, package_path, pip_package must be set, "
                f"got {sources}"
            )
        if bool(self.pip_package) != bool(self.pip_path):
            raise ValueError(f"{where}: pip_package and pip_path go together")
        if self.bundled != bool(self.package_path):
            raise ValueError(f"{where}: bundled=true goes with package_path (and only with it)")
        if self.package_path is not None:
            _check_package_path(where, "package_path", self.package_path)
            if self.sha256 is None:
                raise ValueError(f"{where}: a bundled file needs its sha256 (it is ours to know)")
        if self.license_file is not None:
            _check_package_path(where, "license_file", self.license_file)
        if self.repo_id and not self.revision:
            raise ValueError(
                f"{where}: a Hub entry needs a revision "
                "(a commit hash, or 'main' with a revision_note)"
            )

    @property
    def kind(self) -> str:
        """``"bundled"``, ``"hub"``, ``"url"`` or ``"pip"`` (installed by a pip package)."""
        if self.bundled:
            return "bundled"
        if self.pip_package:
            return "pip"
        return "hub" if self.repo_id else "url"

    @property
    def pinned(self) -> bool:
        """Whether the source is immutable (Hub commit, bundled file, hashed URL or pip file)."""
        if self.repo_id:
            return bool(self.revision and _COMMIT.fullmatch(self.revision))
        return self.bundled or self.sha256 is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy of every field."""
        return dataclasses.asdict(self)


def _parse(text: str, origin: str) -> dict[str, WeightEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"weights manifest {origin} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("weights"), list):
        raise ValueError(f"weights manifest {origin}: expected an object with a 'weights' list")
    fields = {f.name for f in dataclasses.fields(WeightEntry)}
    entries: dict[str, WeightEntry] = {}
    for raw in data["weights"]:
        unknown = sorted(set(raw) - fields)
        if unknown:
            raise ValueError(
                f"weights manifest {origin}: entry {raw.get('id')!r} has unknown keys {unknown}"
            )
        try:
            entry = WeightEntry(**raw)
        except TypeError as exc:
            raise ValueError(f"weights manifest {origin}: entry {raw.get('id')!r}: {exc}") from exc
        if entry.id in entries:
            raise ValueError(f"weights manifest {origin}: id {entry.id!r} appears twice")
        entries[entry.id] = entry
    return entries


@functools.lru_cache(maxsize=1)
def _builtin() -> dict[str, WeightEntry]:
    text = (
        importlib.resources.files("semfidelity")
        .joinpath("weights_manifest.json")
        .read_text("utf-8")
    )
    return _parse(text, "semfidelity/weights_manifest.json")


@functools.lru_cache(maxsize=8)
def _extra(path: str, mtime_ns: int) -> dict[str, WeightEntry]:
    return _parse(Path(path).read_text(encoding="utf-8"), path)


def _entries() -> dict[str, WeightEntry]:
    entries = _builtin()
    extra_path = os.environ.get(MANIFEST_ENV)
    if not extra_path:
        return entries
    try:
        mtime = Path(extra_path).stat().st_mtime_ns
    except OSError as exc:
        raise ValueError(f"{MANIFEST_ENV}={extra_path!r}: cannot read the file ({exc})") from exc
    extra = _extra(extra_path, mtime)
    clash = sorted(set(extra) & set(entries))
    if clash:
        raise ValueError(
            f"{MANIFEST_ENV}={extra_path!r} redefines built-in weight ids {clash}; use new ids"
        )
    return {**entries, **extra}


def list_entries() -> list[WeightEntry]:
    """Every known weight entry (built-in, then ``SEMFID_WEIGHTS_MANIFEST`` additions)."""
    return list(_entries().values())


def get_entry(weight_id: str) -> WeightEntry:
    """The manifest entry of ``weight_id``.

    Raises:
        TypeError: ``weight_id`` is not a string.
        ValueError: unknown id, with "did you mean" suggestions.
    """
    if not isinstance(weight_id, str):
        raise TypeError(f"weight_id: expected a str, got {type(weight_id).__name__}")
    entries = _entries()
    if weight_id in entries:
        return entries[weight_id]
    close = difflib.get_close_matches(weight_id.lower(), list(entries), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"weight_id: unknown weight {weight_id!r}.{hint} Known ids: {', '.join(entries)}."
    )
