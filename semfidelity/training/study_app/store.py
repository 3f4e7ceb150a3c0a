"""SQLite storage of a study: its items and every vote, safe against crashes and double votes.

Each vote is one transaction committed (``synchronous=FULL``, write-ahead log) before the web
app answers, so a killed server loses no acknowledged vote; ``PRIMARY KEY (rater, item)`` makes a
second vote of one rater on one item impossible (it is refused, the first one kept). Every rater
sees all items in an order of their own, fixed by the study seed and the rater id, so a restart
resumes at the same item.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from semfidelity.training.study_app.design import ANSWERS, QUESTIONS, Item

__all__ = ["StudyStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, reference TEXT NOT NULL, a TEXT NOT NULL, b TEXT, trap TEXT);
CREATE TABLE IF NOT EXISTS votes (
    rater TEXT NOT NULL, item INTEGER NOT NULL REFERENCES items(id), answer TEXT NOT NULL,
    seconds REAL, at REAL NOT NULL, PRIMARY KEY (rater, item));
"""


class StudyStore:
    """A study database at ``path``: :meth:`create` a new one, or open an existing one."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"study database not found: {str(self.path)!r}")
        meta = dict(self._query("SELECT key, value FROM meta"))
        if "question" not in meta:
            raise ValueError(f"{str(self.path)!r} is not a semfid-study database (no question)")
        self.question: str = meta["question"]
        self.seed = int(meta["seed"])
        self.secret: str = meta["secret"]
        self.base = Path(meta["base"])

    @classmethod
    def create(
        cls, path: str | os.PathLike, items: Sequence[Item], question: str, seed: int = 0
    ) -> StudyStore:
        """Write a new study with ``items`` (absolute paths are stored) and open it."""
        p = Path(path)
        if p.exists():
            raise FileExistsError(f"study database exists: {str(p)!r} (open it instead)")
        if question not in QUESTIONS:
            raise ValueError(f"question: expected one of {sorted(QUESTIONS)}, got {question!r}")
        if not items:
            raise ValueError("items: a study needs at least one item")
        p.parent.mkdir(parents=True, exist_ok=True)
        with closing(cls._connect(p)) as con, con:
            con.executescript(_SCHEMA)
            meta = {"question": question, "seed": str(seed), "secret": secrets.token_hex(32)}
            meta["base"] = str(Path.cwd())
            con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            con.executemany(
                "INSERT INTO items (reference, a, b, trap) VALUES (?, ?, ?, ?)",
                [
                    (
                        str(Path(it.reference).resolve()),
                        str(Path(it.a).resolve()),
                        str(Path(it.b).resolve()) if it.b else None,
                        it.trap,
                    )
                    for it in items
                ],
            )
        return cls(p)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        con = sqlite3.connect(path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        return con

    def _query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with closing(self._connect(self.path)) as con:
            return con.execute(sql, args).fetchall()

    def items(self) -> dict[int, Item]:
        """Every item by id."""
        rows = self._query("SELECT id, reference, a, b, trap FROM items ORDER BY id")
        return {r[0]: Item(r[1], r[2], r[3], r[4]) for r in rows}

    def order(self, rater: str) -> list[int]:
        """The item ids in ``rater``'s order (fixed by the study seed and the rater id)."""
        ids = [r[0] for r in self._query("SELECT id FROM items ORDER BY id")]
        random.Random(f"{self.seed}:{rater}").shuffle(ids)
        return ids

    def answered(self, rater: str) -> set[int]:
        return {r[0] for r in self._query("SELECT item FROM votes WHERE rater = ?", (rater,))}

    def next_item(self, rater: str) -> int | None:
        """The first item ``rater`` has not answered, or ``None`` when done."""
        done = self.answered(rater)
        return next((i for i in self.order(rater) if i not in done), None)

    def progress(self, rater: str) -> tuple[int, int]:
        """``(answered, total)`` for ``rater``."""
        total = self._query("SELECT COUNT(*) FROM items")[0][0]
        return len(self.answered(rater)), total

    def vote(self, rater: str, item: int, answer: str, seconds: float | None = None) -> bool:
        """Record ``answer``; ``False`` (nothing changed) if ``rater`` already answered ``item``.

        Raises:
            ValueError: unknown item, or an answer that is not one of the question's.
        """
        if answer not in ANSWERS[self.question]:
            raise ValueError(f"answer: expected one of {ANSWERS[self.question]}, got {answer!r}")
        if not self._query("SELECT 1 FROM items WHERE id = ?", (item,)):
            raise ValueError(f"item: no item {item!r} in this study")
        with closing(self._connect(self.path)) as con, con:
            cur = con.execute(
                "INSERT OR IGNORE INTO votes VALUES (?, ?, ?, ?, ?)",
                (rater, item, answer, seconds, time.time()),
            )
            return cur.rowcount == 1

    def votes(self) -> list[tuple[str, int, str, float | None, float]]:
        """All votes as ``(rater, item, answer, seconds, unix time)``, in recording order."""
        return self._query("SELECT rater, item, answer, seconds, at FROM votes ORDER BY at, rowid")
