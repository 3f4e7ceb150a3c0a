"""Pair discovery: which prediction (SR) file is scored against which reference file.

The rule (also in docs/cli.md, "Pairing"):

* REF and PRED are both files (one pair) or both folders (searched recursively; hidden files and
  folders, and files whose extension is not an image extension, are ignored).
* Folders are paired by **relative folder + file stem**, never by sort order: ``ref/a/b.png``
  pairs with ``pred/a/b.jpg`` (any image extension, case-insensitive). Stems are compared
  case-sensitively.
* ``pred_suffixes`` (CLI ``--pred-suffix _x4,_SR``): a prediction stem ending in one of these
  suffixes is matched after removing it, so ``pred/b_x4.png`` pairs with ``ref/b.png``. An exact
  stem match wins over a suffix match.
* ``ref_suffixes`` (CLI ``--ref-suffix _BSRGAN``): the same for reference stems, so names that
  differ by a method suffix on both sides pair (``ref/Lincoln_BSRGAN.png`` with
  ``pred/Lincoln_ESRGAN.png`` given ``--ref-suffix _BSRGAN --pred-suffix _ESRGAN``).
* Two files of one folder that map to the same key (``b.png`` and ``b.jpg``; or ``b.png`` and
  ``b_x4.png`` with ``--pred-suffix _x4``) are ambiguous: the key is reported as a duplicate by
  name and not scored. Files without a partner are reported as unmatched by name.

The pair key (``"a/b"``: relative folder and stem, ``/``-separated) names the row in the output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from semfidelity.io import IMAGE_EXTENSIONS

__all__ = ["Pair", "PairingResult", "discover_pairs"]


@dataclass(frozen=True)
class Pair:
    """One (reference, prediction) pair; ``key`` is the relative folder + stem."""

    key: str
    ref: Path
    pred: Path


@dataclass
class PairingResult:
    """Pairs sorted by key, plus every file that could not be paired, by name."""

    pairs: list[Pair]
    unmatched_ref: list[str] = field(default_factory=list)
    unmatched_pred: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    #: files or folders that could not be used: ``(reason, name, detail)`` with reason
    #: ``broken_link`` (dangling or looping symlink) or ``unreadable`` (a folder)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[tuple[str, str, str]]:
        """``(reason, key, detail)`` for each unpaired or ambiguous file/key."""
        out = [
            ("unmatched_ref", n, f"no prediction for reference {n!r}") for n in self.unmatched_ref
        ]
        out += [
            ("unmatched_pred", n, f"no reference for prediction {n!r}") for n in self.unmatched_pred
        ]
        out += [
            ("duplicate", k, f"several files map to key {k!r}: {', '.join(v)}")
            for k, v in sorted(self.duplicates.items())
        ]
        return out + list(self.skipped)


def _image_files(root: Path, side: str, skipped: list) -> list[Path]:
    """Image files under ``root`` (recursive, hidden entries skipped), relative to ``root``.

    Symlinked folders are followed, each real folder (device + inode) once, so a link cycle
    (``loop -> .``, ``up -> ..``) neither repeats files nor runs forever. Dangling or looping
    file links and unreadable folders are appended to ``skipped`` with a reason.
    """
    found = []
    seen: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "?"
        skipped.append(("unreadable", f"{side}/{rel}", f"cannot list folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            rel = Path(dirpath, name).relative_to(root)
            if not os.path.exists(Path(dirpath, name)):
                skipped.append(
                    ("broken_link", f"{side}/{rel.as_posix()}", "dangling or looping symlink")
                )
                continue
            found.append(rel)
    return sorted(found)


def _key(rel: Path, stem: str) -> str:
    parent = rel.parent.as_posix()
    return stem if parent == "." else f"{parent}/{stem}"


def _index(
    files: Iterable[Path], suffixes: Sequence[str], exact: set[str] | None
) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """key -> file; keys claimed by several files go to the duplicates dict instead."""
    claims: dict[str, list[Path]] = {}
    for rel in files:
        key = _key(rel, rel.stem)
        if exact is not None and key not in exact:
            for suffix in suffixes:
                if suffix and rel.stem.endswith(suffix) and len(rel.stem) > len(suffix):
                    key = _key(rel, rel.stem[: -len(suffix)])
                    break
        claims.setdefault(key, []).append(rel)
    index = {k: v[0] for k, v in claims.items() if len(v) == 1}
    dups = {k: [p.as_posix() for p in v] for k, v in claims.items() if len(v) > 1}
    return index, dups


def discover_pairs(
    ref: str | os.PathLike,
    pred: str | os.PathLike,
    pred_suffixes: Sequence[str] = (),
    ref_suffixes: Sequence[str] = (),
) -> PairingResult:
    """Pair the files of ``ref`` and ``pred`` (two files, or two folders; see module doc).

    Raises:
        FileNotFoundError: ``ref`` or ``pred`` does not exist.
        ValueError: one is a file and the other a folder.
    """
    ref_p, pred_p = Path(ref), Path(pred)
    for name, p in (("REF", ref_p), ("PRED", pred_p)):
        if not p.exists():
            raise FileNotFoundError(f"{name}: no such file or folder: {str(p)!r}")
    if ref_p.is_file() != pred_p.is_file():
        kinds = ["file" if p.is_file() else "folder" for p in (ref_p, pred_p)]
        raise ValueError(
            f"REF and PRED must both be files or both be folders, got REF a {kinds[0]} "
            f"({str(ref_p)!r}) and PRED a {kinds[1]} ({str(pred_p)!r})"
        )
    if ref_p.is_file():
        return PairingResult(pairs=[Pair(key=ref_p.stem, ref=ref_p, pred=pred_p)])
    skipped: list[tuple[str, str, str]] = []
    pred_files = _image_files(pred_p, "PRED", skipped)
    raw_pred_keys = {_key(rel, rel.stem) for rel in pred_files}
    ref_files = _image_files(ref_p, "REF", skipped)
    ref_index, ref_dups = _index(ref_files, tuple(ref_suffixes), raw_pred_keys)
    pred_index, pred_dups = _index(pred_files, tuple(pred_suffixes), set(ref_index))
    dups = {k: [f"REF/{n}" for n in v] for k, v in ref_dups.items()}
    for k, v in pred_dups.items():
        dups.setdefault(k, []).extend(f"PRED/{n}" for n in v)
    pairs = [
        Pair(key=k, ref=ref_p / ref_index[k], pred=pred_p / pred_index[k])
        for k in sorted(set(ref_index) & set(pred_index))
        if k not in dups
    ]
    unmatched_ref = sorted(
        ref_index[k].as_posix() for k in set(ref_index) - set(pred_index) - set(dups)
    )
    unmatched_pred = sorted(
        pred_index[k].as_posix() for k in set(pred_index) - set(ref_index) - set(dups)
    )
    return PairingResult(pairs, unmatched_ref, unmatched_pred, dups, skipped)
