"""sha256 checks of weight files and the local record of Hub-reported hashes.

The reference hash of a file is, in this order: the manifest's ``sha256``; the hash recorded
on this machine when the file was downloaded and checked against the Hub's
(``$SEMFID_CACHE_DIR/sha256/<id>.json``, keyed by commit); the name of its Hugging Face cache
blob; a ``<file>.sha256`` sidecar written by ``semfid-weights download --to``. Only the first two
are *trusted*: a blob name or a sidecar travels with the file (anyone can name a file after its
own sha256), so a match only shows the file is intact, and the file counts as *unverified*
whatever its path. A file without a trusted reference loads with a warning. Hashes are computed
once per process per (file, device, inode, size, mtime, ctime): replacing the file (new inode)
or rewriting it in place (new ctime, even with its mtime restored) re-hashes it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from semfidelity.weights.errors import WeightIntegrityError
from semfidelity.weights.locations import hub_blob_sha256, hub_snapshot_commit, semfid_cache_dir
from semfidelity.weights.manifest import WeightEntry

__all__ = [
    "Reference",
    "sha256_file",
    "git_blob_sha1",
    "reference_for",
    "verify_file",
    "read_records",
    "write_record",
    "write_sidecar",
    "remember_verified",
    "forget_verified",
    "is_trusted",
    "record_key",
]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_verified: dict[tuple[str, str, int, int, int, int, int], str] = {}
_verified_lock = threading.Lock()


@dataclass(frozen=True)
class Reference:
    """An expected sha256, in words where it comes from, and whether that source is trusted.

    ``trusted`` is false for hashes that travel with the file itself (a cache blob's name, a
    sidecar): they detect corruption, not substitution.
    """

    sha256: str
    origin: str
    trusted: bool = True


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Lowercase hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_sha1(path: str | os.PathLike[str]) -> str:
    """Git's object id, ``sha1("blob <size>\\0" + bytes)``: the Hub's etag of non-LFS files."""
    digest = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _records_path(entry: WeightEntry) -> Path:
    return semfid_cache_dir() / "sha256" / f"{entry.id}.json"


def read_records(entry: WeightEntry) -> dict[str, dict[str, Any]]:
    """Recorded hashes of ``entry``: ``{commit or revision: {"sha256", "size", "origin", ...}}``."""
    path = _records_path(entry)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("ignoring unreadable hash record %s: %s", path, exc)
        return {}
    return {
        k: v
        for k, v in data.items()
        if isinstance(v, dict) and _SHA256.fullmatch(str(v.get("sha256")))
    }


def write_record(entry: WeightEntry, key: str, sha256: str, size: int, origin: str) -> None:
    """Record the verified ``sha256`` of ``entry`` at revision ``key`` (atomic, process-safe)."""
    path = _records_path(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with FileLock(str(path) + ".lock"):
        records = read_records(entry)
        records[key] = {"sha256": sha256, "size": size, "origin": origin, "recorded": stamp}
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def write_sidecar(path: Path, sha256: str) -> Path:
    """Write ``<path>.sha256`` in ``sha256sum`` format (``sha256sum -c`` can check it)."""
    sidecar = path.with_name(path.name + ".sha256")
    sidecar.write_text(f"{sha256}  {path.name}\n", encoding="utf-8")
    return sidecar


def _read_sidecar(path: Path) -> str | None:
    sidecar = path.with_name(path.name + ".sha256")
    try:
        first = sidecar.read_text(encoding="utf-8").split()
    except OSError:
        return None
    return first[0].lower() if first and _SHA256.fullmatch(first[0].lower()) else None


def record_key(entry: WeightEntry, path: Path) -> str | None:
    """The key of ``path``'s hash record: its snapshot commit (Hub), ``"file"`` (URL files)."""
    if entry.kind != "hub":
        return "file"
    return hub_snapshot_commit(path) or (entry.revision if entry.pinned else None)


def reference_for(entry: WeightEntry, path: Path) -> Reference | None:
    """The sha256 ``path`` must have to count as ``entry`` (see module docstring), or ``None``."""
    if entry.sha256 is not None:
        return Reference(entry.sha256, "the weights manifest")
    key = record_key(entry, path)
    record = read_records(entry).get(key) if key is not None else None
    if record is not None:
        when, how = record.get("recorded", "?"), record.get("origin", "?")
        origin = f"the hash recorded on {when} at download ({how})"
        return Reference(record["sha256"], origin)
    blob = hub_blob_sha256(path)
    if blob is not None:
        return Reference(
            blob, "the Hub's LFS sha256 (the name of the Hugging Face cache blob)", trusted=False
        )
    sidecar = _read_sidecar(path)
    if sidecar is not None:
        return Reference(sidecar, f"the sidecar file {path.name}.sha256", trusted=False)
    return None


def is_trusted(reference: Reference | None) -> bool:
    """Whether a file that matches ``reference`` counts as verified (not only intact)."""
    return reference is not None and reference.trusted


def _memo_key(entry: WeightEntry, path: Path) -> tuple[str, str, int, int, int, int, int]:
    st = path.stat()
    real = os.path.realpath(path)
    return (entry.id, real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remedy(entry: WeightEntry, where: str) -> str:
    if where == "explicit path":
        return (
            "If this is a different file on purpose (e.g. fine-tuned weights), load it without "
            "an id: load_state_dict(path=...)."
        )
    if entry.bundled:
        return "The installed package is damaged: reinstall semfidelity."
    return (
        f"Delete the file and fetch it again (`semfid-weights download --force {entry.id}`), "
        "or replace it with a good copy."
    )


def verify_file(entry: WeightEntry, path: Path, where: str, *, use_memo: bool = True) -> str:
    """Check ``path`` against the reference of ``entry``; return its sha256.

    Args:
        entry: manifest entry the file claims to be.
        path: the file.
        where: label of the place it was found (for messages), e.g. ``"SEMFID_WEIGHTS_DIR"``.
        use_memo: skip re-hashing a file already verified in this process (same device, inode,
            size, mtime and ctime).

    Raises:
        WeightIntegrityError: size or sha256 differs from the reference (message: both hashes).
    """
    stat = path.stat()
    memo_key = _memo_key(entry, path)
    if use_memo:
        with _verified_lock:
            if memo_key in _verified:
                return _verified[memo_key]
    reference = reference_for(entry, path)
    actual = sha256_file(path)
    if entry.size is not None and stat.st_size != entry.size:
        raise WeightIntegrityError(
            f"weight {entry.id!r}: {path} ({where}) has {stat.st_size} bytes, "
            f"expected {entry.size} "
            f"(sha256 {actual}, expected {reference.sha256 if reference else 'unknown'}). "
            f"The file was not loaded. {_remedy(entry, where)}"
        )
    if reference is not None and actual != reference.sha256:
        raise WeightIntegrityError(
            f"weight {entry.id!r}: sha256 mismatch for {path} ({where}): "
            f"expected {reference.sha256} (from {reference.origin}), got {actual}. "
            f"The file was not loaded. {_remedy(entry, where)}"
        )
    if not is_trusted(reference):
        if reference is None:
            known, intact = "no reference sha256 is known", ""
        else:
            known = "no trusted sha256 is known"
            intact = (
                f"; it matches {reference.origin}, which travels with the file and shows only "
                "that the file is intact, not that it is the published one"
            )
        logger.warning(
            "weight %r: %s for %s (%s)%s; loading it unverified (sha256 %s). "
            "Download it with `semfid-weights download %s` to record the Hub's hash.",
            entry.id,
            known,
            path,
            where,
            intact,
            actual,
            entry.id,
        )
    with _verified_lock:
        _verified[memo_key] = actual
    return actual


def remember_verified(entry: WeightEntry, path: Path, sha256: str) -> None:
    """Mark ``path`` as verified in this process (it was hashed and checked while downloading)."""
    with _verified_lock:
        _verified[_memo_key(entry, path)] = sha256


def forget_verified() -> None:
    """Drop the per-process memo of verified files (the next load re-hashes)."""
    with _verified_lock:
        _verified.clear()
