"""Batched non-negative lasso in torch: the sparse-coding step of SpLiCE (docs/metrics/splice.md).

    w* = argmin_{w >= 0}  ||w C - z||_2^2 + l1 * ||w||_1          C: (K, D), z: (D,), w: (K,)

This is the objective of SpLiCE's solvers (Bhalla et al., NeurIPS 2024): their scikit-learn
``Lasso(alpha=l1 / (2 D), positive=True, fit_intercept=False)`` minimises it divided by ``2 D``,
and their ADMM splits it the same way. Here it is solved by FISTA (Beck & Teboulle, SIAM J.
Imaging Sci. 2009) with the projected soft-threshold as proximal step and gradient-based
adaptive restart (O'Donoghue & Candès, Found. Comput. Math. 2015), for a whole batch at once on
any device. Every row stops on its own optimality test, so a row's iterates never depend on the
other rows of its batch (batch invariance), and the start (all zeros) is fixed (determinism).
"""

from __future__ import annotations

import logging

import torch

__all__ = ["kkt_residual", "lasso_objective", "nonneg_lasso"]

logger = logging.getLogger(__name__)


def _grad(w: torch.Tensor, dictionary: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return 2.0 * (w @ dictionary - targets) @ dictionary.T


def kkt_residual(
    w: torch.Tensor, dictionary: torch.Tensor, targets: torch.Tensor, l1: float
) -> torch.Tensor:
    """Per-row optimality violation ``max_k |w - max(w - (grad + l1), 0)|``, ``(B,)``.

    Zero exactly at the minimiser: active entries have ``grad_k = -l1``, inactive ones
    ``grad_k >= -l1`` (the KKT conditions of the non-negative lasso).
    """
    g = _grad(w, dictionary, targets) + l1
    return (w - (w - g).clamp_min(0.0)).abs().amax(dim=-1)


def lasso_objective(
    w: torch.Tensor, dictionary: torch.Tensor, targets: torch.Tensor, l1: float
) -> torch.Tensor:
    """``||w C - z||^2 + l1 ||w||_1`` per row, ``(B,)``."""
    return (w @ dictionary - targets).square().sum(-1) + l1 * w.abs().sum(-1)


def _check(dictionary: torch.Tensor, targets: torch.Tensor, l1: float, max_iter: int, tol: float):
    for name, t in (("dictionary", dictionary), ("targets", targets)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 2 or not t.is_floating_point():
            raise ValueError(f"{name}: expected a 2-D float tensor, got {t.ndim}-D {t.dtype}")
    if targets.shape[1] != dictionary.shape[1]:
        raise ValueError(
            f"targets: expected dimension {dictionary.shape[1]} (the dictionary's), "
            f"got {targets.shape[1]}"
        )
    if isinstance(l1, bool) or not isinstance(l1, (int, float)) or not l1 >= 0:
        raise ValueError(f"l1: expected a number >= 0, got {l1!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter: expected an int >= 1, got {max_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"tol: expected a number > 0, got {tol!r}")


def _fista(
    atoms: torch.Tensor,
    z: torch.Tensor,
    w: torch.Tensor,
    l1: float,
    step: torch.Tensor,
    max_iter: int,
    tol: float,
    check_every: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """FISTA with restart on per-row dictionaries ``atoms (B, m, D)`` from ``w (B, m)``.

    Returns the codes and a mask of the rows that met ``tol`` on this dictionary.
    """
    n = z.shape[0]
    out, met = w.clone(), torch.zeros(n, dtype=torch.bool, device=z.device)
    active = torch.arange(n, device=z.device)
    y, t = w.clone(), z.new_ones(n)

    def grad(v, a, zz):
        r = torch.einsum("bm,bmd->bd", v, a) - zz
        return 2.0 * torch.einsum("bd,bmd->bm", r, a)

    it = 0
    while active.numel() and it < max_iter:
        for _ in range(min(check_every, max_iter - it)):
            w_new = (y - step[:, None] * (grad(y, atoms, z) + l1)).clamp_min(0.0)
            # Restart the momentum of a row whose last step went against its gradient mapping.
            restart = ((y - w_new) * (w_new - w)).sum(-1) > 0
            t_new = (1.0 + torch.sqrt(1.0 + 4.0 * t * t)) / 2.0
            beta = torch.where(restart, torch.zeros_like(t), (t - 1.0) / t_new)
            y = w_new + beta[:, None] * (w_new - w)
            t = torch.where(restart, torch.ones_like(t), t_new)
            w = w_new
        it += min(check_every, max_iter - it)
        g = grad(w, atoms, z) + l1
        done = (w - (w - g).clamp_min(0.0)).abs().amax(-1) < tol
        out[active] = w
        met[active[done]] = True
        keep = ~done
        active, atoms, z, w, y, t, step = (
            active[keep], atoms[keep], z[keep], w[keep], y[keep], t[keep], step[keep]
        )  # fmt: skip
    return out, met


def _steps(atoms: torch.Tensor, iterations: int = 50, margin: float = 1.05) -> torch.Tensor:
    """``1 / L`` per row, ``L = 2 sigma_max(atoms_b)^2`` by power iteration on the Gram matrix
    (float32, fixed start: deterministic), with a 5% margin against its underestimate."""
    a = atoms.float()
    gram = a @ a.transpose(1, 2)
    v = torch.ones(gram.shape[:2], dtype=gram.dtype, device=gram.device)
    for _ in range(iterations):
        v = torch.nn.functional.normalize((gram @ v[..., None])[..., 0], dim=-1)
    top = (v * (gram @ v[..., None])[..., 0]).sum(-1)
    return (1.0 / (2.0 * margin * top).clamp_min(1e-12)).to(atoms.dtype)


@torch.no_grad()
def nonneg_lasso(
    dictionary: torch.Tensor,
    targets: torch.Tensor,
    l1: float,
    *,
    max_iter: int = 10000,
    tol: float = 1e-6,
    working_set: int = 256,
    grow: int = 64,
    check_every: int = 10,
) -> torch.Tensor:
    """Non-negative lasso codes ``(B, K)`` of ``targets (B, D)`` over ``dictionary (K, D)``.

    Minimises ``||w C - z||^2 + l1 ||w||_1`` subject to ``w >= 0`` for each row ``z``, to a
    :func:`kkt_residual` below ``tol`` on the **whole** dictionary.

    Working sets keep each iteration small when ``K`` is large (a 10 000-concept vocabulary):
    each row starts on its ``working_set`` atoms most correlated with it, is solved there by
    FISTA, and is then checked against every atom; a row with violators gets its ``grow``
    worst ones added and is solved again from where it was (the others are left alone, so a
    row's result does not depend on the rest of its batch). Rows not at ``tol`` after
    ``max_iter`` iterations per round are returned as they are and logged. Computation runs in
    the dtype of ``targets`` (float32 gives codes to about 1e-6 on unit-norm CLIP-sized
    problems). Not differentiable: the result is an argmin, returned without a graph.
    """
    _check(dictionary, targets, l1, max_iter, tol)
    for name, v in (("working_set", working_set), ("grow", grow), ("check_every", check_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
    c = dictionary.to(device=targets.device, dtype=targets.dtype)
    n, k = targets.shape[0], c.shape[0]
    out = targets.new_zeros(n, k)
    if k == 0 or n == 0:
        return out
    # A zero atom at index k pads working sets of different sizes: its code stays 0.
    padded = torch.cat([c, c.new_zeros(1, c.shape[1])])
    m = min(working_set, k)
    sets = (targets @ c.T).topk(m, dim=-1).indices  # (B, m)
    codes = targets.new_zeros(n, m)
    todo = torch.arange(n, device=targets.device)
    unmet = torch.zeros(n, dtype=torch.bool, device=targets.device)
    while todo.numel():
        atoms = padded[sets[todo]]
        w, met = _fista(
            atoms, targets[todo], codes[todo], l1, _steps(atoms), max_iter, tol, check_every
        )
        codes[todo] = w
        unmet[todo] = ~met
        full = torch.zeros(todo.numel(), k + 1, dtype=w.dtype, device=w.device)
        full.scatter_(1, sets[todo], w)
        g = 2.0 * (full[:, :k] @ c - targets[todo]) @ c.T + l1
        viol = torch.cat([(-g).clamp_min(0.0), g.new_zeros(todo.numel(), 1)], dim=1)
        viol = viol.scatter_(1, sets[todo], 0.0)[:, :k]  # in-set atoms: the FISTA test
        bad = (viol.amax(-1) >= tol) & met
        if not bool(bad.any()) or sets.shape[1] >= k + 1:
            break
        add = viol[bad].topk(min(grow, k), dim=-1)
        extra = torch.where(add.values > 0, add.indices, torch.full_like(add.indices, k))
        pad = torch.full((n, extra.shape[1]), k, dtype=sets.dtype, device=sets.device)
        pad[todo[bad]] = extra
        sets = torch.cat([sets, pad], dim=1)
        codes = torch.cat([codes, codes.new_zeros(n, extra.shape[1])], dim=1)
        todo = todo[bad]
    out = torch.zeros(n, k + 1, dtype=codes.dtype, device=codes.device)
    out.scatter_add_(1, sets, codes)
    if bool(unmet.any()):
        logger.warning(
            "nonneg_lasso: %d of %d rows did not reach tol=%g in %d iterations",
            int(unmet.sum()),
            n,
            tol,
            max_iter,
        )
    return out[:, :k]
