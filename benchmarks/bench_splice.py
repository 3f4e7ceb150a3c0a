"""SpLiCE's sparse coding on CPU: our batched torch solver vs scikit-learn's Lasso(positive=True),
the solver SpLiCE's code uses by default (``solver='skl'``), on a CLIP-sized synthetic problem.

    python benchmarks/bench_splice.py                      # K=10000, D=512, B=16, l1=0.25
    python benchmarks/bench_splice.py --batch 64 --threads 2 --metric

The dictionary imitates SpLiCE's: unit atoms sharing a common component, centred on their mean
and renormalised; each target is a unit-norm mix of 10 atoms plus noise. scikit-learn runs with
SpLiCE's settings (``alpha = l1 / (2 D)``, ``tol=1e-6``, ``max_iter=10000``, one row at a time)
and, for the agreement columns, with ``tol=1e-12``. ``--metric`` also times ``splice_sym`` end to
end with the full-size ViT-B-32 and the default 10 000-concept vocabulary (random weights:
timing only; the first build embeds the vocabulary, later builds read it from the cache).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import Lasso

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from semfidelity.functional.lasso import kkt_residual, lasso_objective, nonneg_lasso  # noqa: E402


def problem(k: int, d: int, b: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    atoms = F.normalize(torch.randn(k, d, generator=g) + 2.0 * torch.randn(d, generator=g), dim=1)
    atoms = F.normalize(atoms - atoms.mean(0), dim=1).double()
    w = torch.zeros(b, k, dtype=torch.float64)
    for i in range(b):
        w[i, torch.randperm(k, generator=g)[:10]] = torch.rand(10, generator=g, dtype=w.dtype)
    z = w @ atoms + 0.5 * torch.randn(b, d, generator=g, dtype=w.dtype) / d**0.5
    return atoms, F.normalize(z, dim=1)


def sklearn_codes(atoms: torch.Tensor, z: torch.Tensor, l1: float, tol: float) -> torch.Tensor:
    lasso = Lasso(
        alpha=l1 / (2 * atoms.shape[1]), fit_intercept=False, positive=True, max_iter=10000, tol=tol
    )
    x = atoms.T.numpy()
    return torch.from_numpy(np.stack([lasso.fit(x, row.numpy()).coef_.copy() for row in z]))


def timed(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concepts", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--l1", type=float, default=0.25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--metric", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    atoms, z = problem(args.concepts, args.dim, args.batch)
    print(f"K={args.concepts} D={args.dim} B={args.batch} l1={args.l1} threads={args.threads}")
    exact = sklearn_codes(atoms, z, args.l1, 1e-12)
    rows = []
    for name, fn in (
        ("semfidelity float64", lambda: nonneg_lasso(atoms, z, args.l1)),
        ("semfidelity float32", lambda: nonneg_lasso(atoms.float(), z.float(), args.l1)),
        ("sklearn tol=1e-6 (SpLiCE)", lambda: sklearn_codes(atoms, z, args.l1, 1e-6)),
    ):
        sec, w = timed(fn, args.repeats)
        w = w.double()
        gap = lasso_objective(w, atoms, z, args.l1) - lasso_objective(exact, atoms, z, args.l1)
        rows.append(
            (
                name,
                sec,
                args.batch / sec,
                float((w - exact).abs().max()),
                int(((w > 1e-6) != (exact > 1e-6)).sum()),
                float(gap.max()),
                float(kkt_residual(w, atoms, z, args.l1).max()),
            )
        )
    print("| solver | s / batch | codes / s | max abs diff vs sklearn 1e-12 | support flips | "
          "objective excess | max KKT residual |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, sec, rate, diff, flips, gap, kkt in rows:
        print(f"| {name} | {sec:.3f} | {rate:.1f} | {diff:.2e} | {flips} | {gap:.1e} | {kkt:.1e} |")
    print(f"mean L0 of the codes: {(exact > 0).sum(1).double().mean():.1f}")
    if args.metric:
        import semfidelity

        x = torch.rand(args.batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        t0 = time.perf_counter()
        m = semfidelity.create_metric("splice_sym", device="cpu", clip_weights="random")
        build = time.perf_counter() - t0
        sec, _ = timed(lambda: m(x, x[:1]), args.repeats)
        print(f"splice_sym ViT-B-32 (random), 10000 concepts: build {build:.1f} s, "
              f"{args.batch} pairs {sec:.2f} s ({args.batch / sec:.1f} pairs/s)")  # fmt: skip


if __name__ == "__main__":
    main()
