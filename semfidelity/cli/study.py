"""``semfid-study``: run a user study in the browser and export its votes.

    semfid-study serve REF PRED --db study.sqlite              # yes/no "semantic error?"
    semfid-study serve REF PRED_A PRED_B --db s.sqlite --question 2afc
    semfid-study serve --db study.sqlite                       # reopen (after a crash, too)
    semfid-study export --db study.sqlite --out votes.csv [--labels pairs.csv]

Folders are paired by relative folder and file stem, as in ``semfid-score``. The server binds
to 127.0.0.1 unless ``--host`` says otherwise; off loopback a token is required (``--token``,
or one is generated and printed). Exit codes: 0 success, 1 runtime failure, 2 usage error.
See docs/study.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from semfidelity.scoring.pairs import discover_pairs
from semfidelity.training.study import MIN_VOTES, mos_from_votes
from semfidelity.training.study_app import StudyStore, build_items, export_votes

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="semfid-study", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="create (first time) or reopen a study and serve it")
    s.add_argument("folders", nargs="*", help="REF PRED (yesno) or REF PRED_A PRED_B (2afc)")
    s.add_argument("--db", required=True, help="the study's SQLite file (created if missing)")
    s.add_argument("--question", choices=("yesno", "2afc"), default="yesno")
    s.add_argument("--traps", type=int, default=None, help="trap items (default 10%%, >= 2)")
    s.add_argument("--seed", type=int, default=0, help="trap choice and per-rater orders")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--token", help="access token raters must bring (?token=...)")
    e = sub.add_parser("export", help="write the votes CSV (and MOS labels for yesno)")
    e.add_argument("--db", required=True)
    e.add_argument("--out", required=True, help="votes CSV")
    e.add_argument("--labels", help="also write mos_from_votes' pair CSV here (yesno)")
    e.add_argument("--min-trap-accuracy", type=float, default=1.0, help="on planted traps (1.0)")
    e.add_argument(
        "--min-votes",
        type=int,
        default=MIN_VOTES,
        help=f"fewest kept votes per pair ({MIN_VOTES}; the thesis had 15-30)",
    )
    e.add_argument(
        "--consensus",
        type=float,
        default=0.9,
        help="agreement that makes a pair a consensus trap (0.9, the thesis'); 0 = off",
    )
    e.add_argument(
        "--consensus-min-votes", type=int, default=10, help="other raters' votes it needs (10)"
    )
    e.add_argument(
        "--min-consensus-accuracy",
        type=float,
        default=0.8,
        help="raters below this share right on consensus traps are dropped (0.8)",
    )
    return p


def _pairs(folders: list[str], question: str) -> list[tuple[str, ...]]:
    want = 2 if question == "yesno" else 3
    if len(folders) != want:
        raise ValueError(
            f"--question {question} needs {want} folders "
            f"({'REF PRED' if want == 2 else 'REF PRED_A PRED_B'}), got {len(folders)}"
        )
    found = [{p.key: p for p in discover_pairs(folders[0], f).pairs} for f in folders[1:]]
    keys = sorted(set.intersection(*(set(d) for d in found)))
    if not keys:
        raise ValueError(f"no pairs found between {folders[0]!r} and {folders[1:]}")
    return [(str(found[0][k].ref), *(str(d[k].pred) for d in found)) for k in keys]


def _serve(args: argparse.Namespace) -> int:
    db = Path(args.db)
    if db.exists():
        if args.folders:
            raise ValueError(
                f"--db {str(db)!r} exists: reopen it without folders, or use a new --db"
            )
        store = StudyStore(db)
    else:
        items = build_items(
            _pairs(args.folders, args.question), args.question, args.traps, args.seed
        )
        store = StudyStore.create(db, items, args.question, args.seed)
    token = args.token
    loopback = args.host == "localhost" or _is_loopback(args.host)
    if token is None and not loopback:
        token = secrets.token_urlsafe(16)
    from werkzeug.serving import make_server  # the study extra (Flask) is needed from here on

    from semfidelity.training.study_app.app import create_app

    server = make_server(args.host, args.port, create_app(store, token), threaded=True)
    url = f"http://{args.host}:{server.server_port}/" + (f"?token={token}" if token else "")
    n = len(store.items())
    sys.stdout.write(f"semfid-study: {n} items ({store.question}) from {db}; raters open {url}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _export(args: argparse.Namespace) -> int:
    store = StudyStore(args.db)
    n = export_votes(store, args.out)
    sys.stdout.write(f"{args.out}: {n} votes\n")
    if args.labels:
        if store.question != "yesno":
            raise ValueError(
                "--labels: MOS labels come from yesno studies; for 2afc use "
                "semfidelity.training.study_app.preferences_from_votes"
            )
        s = mos_from_votes(
            args.out,
            args.labels,
            min_trap_accuracy=args.min_trap_accuracy,
            min_votes=args.min_votes,
            consensus=args.consensus or None,
            consensus_min_votes=args.consensus_min_votes,
            min_consensus_accuracy=args.min_consensus_accuracy,
        )
        sys.stdout.write(
            f"{s.pairs_csv}: {s.n_pairs} pairs ({s.n_below_min_votes} left out with fewer than "
            f"{args.min_votes} votes), raters dropped: {list(s.raters_dropped)}\n"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``semfid-study`` with ``argv``; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return _serve(args) if args.command == "serve" else _export(args)
    except ImportError as exc:
        sys.stderr.write(
            f"semfid-study: error: {exc}; install the study extra: "
            "pip install 'semfidelity[study]'\n"
        )
        return 2
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        sys.stderr.write(f"semfid-study: error: {exc}\n")
        return 2
    except OSError as exc:  # port in use, unwritable output
        sys.stderr.write(f"semfid-study: error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
