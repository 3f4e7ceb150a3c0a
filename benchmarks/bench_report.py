"""Size and load time of the HTML report on a generated run of N pairs (default 10 000).

    python benchmarks/bench_report.py --pairs 10000 --side 64 --work /tmp/report-bench

Writes N synthetic reference/prediction PNG pairs (a gradient scene + noise of growing
amplitude, a few corrupt files), scores them with ``semfid-score --metrics psnr,ssim --maps
--report``, then opens the report in headless Chromium (tests/browser.py's flags) and times:
navigation to ``load``, the script's first render (``data-ready``), a sort of the whole table,
a filter and a gallery tab switch. Prints one Markdown table (docs/report.md quotes it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser import chromium, console_errors  # noqa: E402

from semfidelity.cli.report import main as report_main  # noqa: E402
from semfidelity.cli.score import main as score_main  # noqa: E402


def make_pairs(root: Path, n: int, side: int) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    for i in range(n):
        sub = f"d{i // 1000:02d}"
        for d in ("ref", "pred"):
            (root / d / sub).mkdir(parents=True, exist_ok=True)
        img = np.stack([(xx * 3 + i) % 256, (yy * 5 + i // 7) % 256, (xx + yy + i) % 256], -1)
        amp = 1 + i % 40
        noisy = np.clip(img + rng.integers(-amp, amp + 1, img.shape), 0, 255)
        Image.fromarray(img.astype(np.uint8)).save(root / "ref" / sub / f"{i:05d}.png")
        if i % 997 == 5:
            (root / "pred" / sub / f"{i:05d}.png").write_bytes(b"corrupt")
        else:
            Image.fromarray(noisy.astype(np.uint8)).save(root / "pred" / sub / f"{i:05d}.png")


def js_time(drv, script: str) -> float:
    t = time.perf_counter()
    drv.execute_script(script)
    drv.execute_script("return document.getElementById('pager-info').textContent")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--side", type=int, default=64)
    ap.add_argument("--work", default="/tmp/semfid-report-bench")
    ap.add_argument(
        "--reuse", action="store_true", help="keep WORK's scores, only rewrite the report"
    )
    args = ap.parse_args()
    work = Path(args.work)
    report = work / "report.html"
    t0 = t1 = time.perf_counter()
    if args.reuse:
        report_main([str(work / "scores.csv"), "--maps", str(work / "maps"), "--out", str(report)])
    else:
        shutil.rmtree(work, ignore_errors=True)
        make_pairs(work, args.pairs, args.side)
        t1 = time.perf_counter()
        argv = [str(work / "ref"), str(work / "pred"), "--metrics", "psnr,ssim", "-q"]
        argv += ["--out", str(work / "scores.csv"), "--maps", str(work / "maps")]
        with contextlib.redirect_stdout(io.StringIO()):  # the run's summary
            score_main([*argv, "--report", str(report), "--batch-size", "64"])
    t2 = time.perf_counter()
    drv = chromium(work)
    try:
        t = time.perf_counter()
        drv.get(report.as_uri())
        while not drv.execute_script("return document.body.dataset.ready"):
            time.sleep(0.01)
        ready = time.perf_counter() - t
        nav = drv.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return [n.domContentLoadedEventEnd, n.loadEventEnd]"
        )
        sort = js_time(drv, "document.querySelector('#table th[data-col=psnr]').click()")
        filt = js_time(
            drv,
            "const f = document.getElementById('filter'); f.value = 'ssim<0.5';"
            "f.dispatchEvent(new Event('input'))",
        )
        tab = js_time(
            drv, "document.querySelector('#gallery-tabs button[data-metric=ssim]').click()"
        )
        errors = console_errors(drv)
        drv.save_screenshot(str(work / "report.png"))
    finally:
        drv.quit()
    size = report.stat().st_size
    print(f"| pairs | {args.pairs} ({args.side}x{args.side} px) |")
    print("|---|---|")
    if args.reuse:
        print(f"| semfid-report (report alone) | {t2 - t1:.1f} s |")
    else:
        print(f"| write pairs / score + report | {t1 - t0:.1f} s / {t2 - t1:.1f} s |")
    print(f"| report size | {size / 1e6:.2f} MB ({size / args.pairs:.0f} B per pair) |")
    print(f"| DOMContentLoaded / load | {nav[0]:.0f} ms / {nav[1]:.0f} ms |")
    print(f"| navigation to first render (script done) | {ready * 1000:.0f} ms |")
    ms = " / ".join(f"{x * 1000:.0f}" for x in (sort, filt, tab))
    print(f"| sort {args.pairs} rows / filter / gallery tab | {ms} ms |")
    print(f"| console errors | {len(errors)} |")


if __name__ == "__main__":
    main()
