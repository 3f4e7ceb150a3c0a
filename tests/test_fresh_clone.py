"""README's test command passes on a fresh clone: tests read nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Paths that only exist on the project's build machines, never in a user's clone.
OUTSIDE = re.compile(r"\.\./shared|SEMFID_SHARED|parent\s*/\s*[\"']shared[\"']|/work/")


def test_tests_read_nothing_outside_the_repository():
    hits = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert not hits, "tests read outside the repository:\n" + "\n".join(hits)


def test_bundled_test_images_are_present_with_sources():
    data = REPO / "tests" / "data"
    sources = (data / "SOURCES.md").read_text(encoding="utf-8")
    pngs = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    assert len(pngs) >= 28, pngs
    for rel in pngs:
        assert rel in sources, f"{rel} has no entry in tests/data/SOURCES.md"
    for licence in ("set5_swinir/LICENSE.SwinIR.txt", "baboon_x4_esrgan/LICENSE.ESRGAN.txt"):
        assert (data / licence).is_file(), licence
