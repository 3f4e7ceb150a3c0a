"""``semfid-weights``: list, download, verify and locate the pretrained files semfidelity uses.

Exit codes: 0 success, 1 failure (missing, download error, hash mismatch), 2 usage error
(bad arguments, unknown weight id).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from semfidelity._docs import docs_url
from semfidelity.weights import (
    WeightEntry,
    WeightIntegrityError,
    WeightsError,
    download,
    export,
    find_local,
    get_entry,
    list_entries,
    resolve,
    verify_file,
)
from semfidelity.weights.integrity import is_trusted, reference_for
from semfidelity.weights.locations import local_places

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _size(entry: WeightEntry) -> str:
    if entry.size is not None:
        return f"{entry.size} B"
    return f"~{entry.size_hint}" if entry.size_hint else "?"


def _cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for entry in list_entries():
        place = find_local(entry)
        rows.append(
            {
                "id": entry.id,
                "size": _size(entry),
                "license": entry.license,
                "cached": "bundled" if entry.bundled else ("yes" if place else "no"),
                "path": str(place.path) if place else None,
                "source": entry.repo_id
                or entry.url
                or (f"pip:{entry.pip_package}" if entry.pip_package else None)
                or f"semfidelity/{entry.package_path}",
                "revision": entry.revision,
                "sha256": entry.sha256,
            }
        )
    if args.json:
        _out(json.dumps(rows, indent=2))
        return EXIT_OK
    cols = ("id", "size", "license", "cached")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    _out("  ".join(c.upper().ljust(widths[c]) for c in cols).rstrip())
    for row in rows:
        _out("  ".join(str(row[c]).ljust(widths[c]) for c in cols).rstrip())
    return EXIT_OK


def _selected(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[WeightEntry]:
    if args.all and args.ids:
        parser.error("give weight ids or --all, not both")
    if args.all:
        return list_entries()
    if not args.ids:
        parser.error("give at least one weight id, or --all")
    return [get_entry(weight_id) for weight_id in args.ids]


def _cmd_download(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    status = EXIT_OK
    for entry in _selected(args, parser):
        if entry.bundled:
            _out(f"{entry.id}: bundled with semfidelity, nothing to download")
            continue
        try:
            path = download(entry.id, force=args.force)
            if args.to is not None:
                path = export(entry.id, args.to)
        except WeightsError as exc:
            _err(f"{entry.id}: FAILED\n{exc}")
            status = EXIT_FAIL
            continue
        _out(f"{entry.id}: {path}")
    return status


def _cmd_verify(args: argparse.Namespace) -> int:
    entries = [get_entry(weight_id) for weight_id in args.ids] if args.ids else list_entries()
    status, checked = EXIT_OK, 0
    for entry in entries:
        for place in local_places(entry):
            if not place.found or place.path is None:
                continue
            checked += 1
            trusted = is_trusted(reference_for(entry, place.path))
            try:
                sha256 = verify_file(entry, place.path, place.label, use_memo=False)
            except WeightIntegrityError as exc:
                _err(f"MISMATCH {entry.id}: {exc}")
                status = EXIT_FAIL
                continue
            label = "ok        " if trusted else "UNVERIFIED"
            note = "" if trusted else " (no trusted reference hash: intact at best, not verified)"
            _out(f"{label} {entry.id}: {place.path} ({place.label}) sha256 {sha256}{note}")
    if checked == 0:
        _out("no weight files found locally (nothing to verify)")
    return status


def _cmd_path(args: argparse.Namespace) -> int:
    try:
        _out(str(resolve(args.id, download=False)))
    except WeightsError as exc:
        _err(str(exc))
        return EXIT_FAIL
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``semfid-weights`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="semfid-weights",
        description="List, download, verify and locate semfidelity's pretrained weight files.",
        epilog="Offline: HF_HUB_OFFLINE=1 or SEMFID_OFFLINE=1. Mirrors: HF_ENDPOINT. "
        "Cache: HF_HOME. Local folder: SEMFID_WEIGHTS_DIR/<id>/<filename>. "
        f"Documentation: {docs_url('weights.md')}",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p_list = sub.add_parser("list", help="every weight: id, size, license, cached or not")
    p_list.add_argument("--json", action="store_true", help="JSON with paths, sources and hashes")
    p_dl = sub.add_parser("download", help="download weights (and check their sha256)")
    p_dl.add_argument("ids", nargs="*", metavar="ID")
    p_dl.add_argument("--all", action="store_true", help="every weight in the manifest")
    p_dl.add_argument("--force", action="store_true", help="download again even if present")
    p_dl.add_argument(
        "--to",
        metavar="DIR",
        help="also copy to DIR/<id>/<filename> + .sha256 (SEMFID_WEIGHTS_DIR)",
    )
    p_verify = sub.add_parser("verify", help="re-hash every local copy; exit 1 on mismatch")
    p_verify.add_argument("ids", nargs="*", metavar="ID", help="default: all")
    p_path = sub.add_parser("path", help="print the verified local path of a weight (no download)")
    p_path.add_argument("id", metavar="ID")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``semfid-weights``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "download":
            return _cmd_download(args, parser)
        if args.command == "verify":
            return _cmd_verify(args)
        return _cmd_path(args)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, WeightsError):
            _err(str(exc))
            return EXIT_FAIL
        _err(f"semfid-weights: error: {exc}")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
