"""The batched non-negative lasso of SpLiCE against scikit-learn's coordinate descent (the solver
SpLiCE's own code uses by default) and against known sparse ground truth."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import Lasso

from semfidelity.functional.lasso import kkt_residual, lasso_objective, nonneg_lasso


def problem(k=300, d=64, b=5, nnz=6, noise=0.3, seed=0, dtype=torch.float64):
    """Unit atoms with a shared component removed SpLiCE-style, unit targets near sparse mixes."""
    g = torch.Generator().manual_seed(seed)
    atoms = F.normalize(torch.randn(k, d, generator=g, dtype=dtype) + 1.5, dim=1)
    atoms = F.normalize(atoms - atoms.mean(0), dim=1)
    truth = torch.zeros(b, k, dtype=dtype)
    for i in range(b):
        idx = torch.randperm(k, generator=g)[:nnz]
        truth[i, idx] = 0.2 + torch.rand(nnz, generator=g, dtype=dtype)
    z = truth @ atoms + noise * torch.randn(b, d, generator=g, dtype=dtype) / d**0.5
    return atoms, F.normalize(z, dim=1), truth


def sklearn_codes(atoms, z, l1):
    """SpLiCE's 'skl' solver: Lasso(alpha = l1 / (2 D), positive, no intercept), tightened."""
    d = atoms.shape[1]
    out = []
    for row in z:
        m = Lasso(
            alpha=l1 / (2 * d), fit_intercept=False, positive=True, max_iter=100000, tol=1e-12
        )
        out.append(torch.from_numpy(m.fit(atoms.T.numpy(), row.numpy()).coef_.copy()))
    return torch.stack(out)


@pytest.mark.parametrize("l1", [0.05, 0.25])
@pytest.mark.parametrize("working_set", [16, 1000])  # grown from a small set / whole dictionary
def test_equals_sklearn_lasso_positive(l1, working_set):
    atoms, z, _ = problem()
    ours = nonneg_lasso(atoms, z, l1, tol=1e-9, working_set=working_set)
    ref = sklearn_codes(atoms, z, l1)
    assert (ref > 0).sum() > 5  # a non-trivial sparse solution
    assert torch.equal(ours > 1e-7, ref > 1e-7)  # same support
    assert (ours - ref).abs().max() < 1e-6
    assert (lasso_objective(ours, atoms, z, l1) <= lasso_objective(ref, atoms, z, l1) + 1e-10).all()
    assert (kkt_residual(ours, atoms, z, l1) < 1e-9).all()


def test_recovers_known_sparse_ground_truth():
    atoms, z, truth = problem(k=200, d=128, b=4, nnz=4, noise=0.0)
    truth = truth / (truth @ atoms).norm(dim=1, keepdim=True)  # z was normalised with it
    w = nonneg_lasso(atoms, z, 1e-5, tol=1e-10, working_set=32)
    assert torch.equal(w > 1e-3, truth > 0)
    assert (w - truth).abs().max() < 1e-3


def test_float32_is_close_to_float64():
    atoms, z, _ = problem(k=2000, d=128, b=3)
    w64 = nonneg_lasso(atoms, z, 0.25, tol=1e-9)
    w32 = nonneg_lasso(atoms.float(), z.float(), 0.25)
    assert (w32.double() - w64).abs().max() < 2e-5


def test_batch_invariant_and_deterministic():
    atoms, z, _ = problem(k=500, d=64, b=6)
    atoms, z = atoms.float(), z.float()
    batch = nonneg_lasso(atoms, z, 0.1, working_set=24)
    alone = torch.cat([nonneg_lasso(atoms, z[i : i + 1], 0.1, working_set=24) for i in range(6)])
    assert (batch - alone).abs().max() < 1e-6
    assert torch.equal(batch, nonneg_lasso(atoms, z, 0.1, working_set=24))


def test_trivial_solutions():
    atoms, z, _ = problem(b=2)
    assert torch.equal(nonneg_lasso(atoms, torch.zeros_like(z), 0.1), torch.zeros(2, 300).double())
    # Above l1 = 2 max <atom, z> the zero code is optimal.
    big = 2.0 * float((z @ atoms.T).max()) + 1e-6
    assert torch.equal(nonneg_lasso(atoms, z, big), torch.zeros(2, 300).double())
    assert (nonneg_lasso(atoms, z, 0.0, tol=1e-8) >= 0).all()


def test_bad_input():
    atoms, z, _ = problem(b=1)
    with pytest.raises(ValueError, match="targets: expected dimension 64"):
        nonneg_lasso(atoms, z[:, :10], 0.1)
    with pytest.raises(ValueError, match="l1: expected a number >= 0"):
        nonneg_lasso(atoms, z, -1.0)
    with pytest.raises(ValueError, match="dictionary: expected a 2-D float"):
        nonneg_lasso(atoms[0], z, 0.1)
    with pytest.raises(TypeError, match="targets: expected a torch.Tensor"):
        nonneg_lasso(atoms, z.numpy(), 0.1)
    with pytest.raises(ValueError, match="working_set"):
        nonneg_lasso(atoms, z, 0.1, working_set=0)


def test_unconverged_rows_are_logged(caplog):
    atoms, z, _ = problem(b=2)
    with caplog.at_level("WARNING", logger="semfidelity.functional.lasso"):
        nonneg_lasso(atoms, z, 0.05, max_iter=2, tol=1e-12)
    assert "did not reach tol" in caplog.text
