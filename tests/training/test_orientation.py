"""One label orientation end to end: study votes -> export -> mos_from_votes -> pair CSV ->
semfid-eval and fit_tws_mix(kind="labels") agree in sign with the ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from semfidelity.calibration import fit_tws_mix
from semfidelity.cli.eval import main as eval_main
from semfidelity.cli.study import main as study_main
from semfidelity.io import load_image, to_pil
from semfidelity.training import read_pairs, stats
from semfidelity.training.study_app import StudyStore, build_items

SIGMAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
N_RATERS = 15


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """6 pairs, noise growing with the share of 15 raters who see an error (0/15 .. 15/15)."""
    root = tmp_path_factory.mktemp("orient")
    ref = load_image("examples/ref/bird.png")[..., 100:148, 100:148]
    gen = torch.Generator().manual_seed(0)
    pairs, truth = [], []
    for i, sigma in enumerate(SIGMAS):
        to_pil(ref).save(root / f"ref{i}.png")
        noisy = (ref + sigma * torch.randn(ref.shape, generator=gen)).clamp(0, 1)
        to_pil(noisy).save(root / f"sr{i}.png")
        pairs.append((str(root / f"ref{i}.png"), str(root / f"sr{i}.png")))
        truth.append(i / (len(SIGMAS) - 1))  # share of raters who see a semantic error
    store = StudyStore.create(root / "s.sqlite", build_items(pairs, n_traps=2), "yesno")
    for k in range(N_RATERS):
        for item, it in store.items().items():
            if it.trap:
                store.vote(f"r{k}", item, it.trap)
            else:
                p = truth[[q[1] for q in pairs].index(it.a)]
                store.vote(f"r{k}", item, "yes" if k < round(p * N_RATERS) else "no")
    out = root / "study" / "votes.csv"
    argv = ["export", "--db", str(store.path), "--out", str(out), "--labels"]
    assert study_main([*argv, str(out.parent / "pairs.csv")]) == 0  # default --min-votes 15
    return out.parent / "pairs.csv", np.array(truth)


def test_round_trip_keeps_the_orientation(study, tmp_path):
    pairs_csv, truth = study
    header = pairs_csv.read_text().splitlines()[0]
    assert header == "reference,distorted,semantic_error,n_votes,agreement"  # self-describing
    recs = sorted(read_pairs(pairs_csv), key=lambda r: r.distorted.name)
    labels = np.array([r.label for r in recs])
    np.testing.assert_allclose(labels, truth, atol=1e-6)
    # semfid-eval: PSNR falls as the error share rises; oriented SRCC is the ground truth's
    assert eval_main(["--metrics", "psnr", "--pairs", str(pairs_csv), "--no-progress",
                      "--json", str(tmp_path / "r.json")]) == 0  # fmt: skip
    row = json.loads((tmp_path / "r.json").read_text())["metrics"]["psnr"]
    psnr = np.array([
        -10 * np.log10(max(float(((load_image(r.distorted) - load_image(r.reference)) ** 2)
                                .mean()), 1e-10)) for r in recs])  # fmt: skip
    assert row["srcc"] == pytest.approx(stats.srcc(-psnr, truth)) and row["srcc"] > 0.9
    assert row["srcc_signed"] < -0.9  # a higher-better metric agrees by falling
    # fit_tws_mix(kind="labels"): only "semantic" falls with the error share
    gen = np.random.default_rng(0)
    comps = np.stack([1 - truth + 0.01 * gen.random(6), truth, gen.random(6)], axis=1)
    mix, report = fit_tws_mix(comps, labels, kind="labels")
    same, ref_report = fit_tws_mix(comps, 1 - truth, kind="mos")  # quality MOS, higher = better
    assert mix == same and report["value"] == ref_report["value"] == pytest.approx(1.0)
    assert report["single_component"] == pytest.approx(
        {"semantic": 1.0, "edge": -1.0, "wavelet": report["single_component"]["wavelet"]}
    )
    assert mix[0] > 0.5 > mix[1]
    wrong, bad = fit_tws_mix(comps, labels, kind="mos")  # error labels passed as quality MOS
    assert wrong[1] > 0.5 > wrong[0] and bad["single_component"]["edge"] == pytest.approx(1.0)


def test_faithful_declaration_and_ambiguity(study, tmp_path):
    pairs_csv, truth = study
    lines = pairs_csv.read_text().splitlines()
    base = pairs_csv.parent
    rows = (ln.split(",") for ln in lines[1:])
    flipped = ["reference,distorted,faithful"]
    flipped += [f"{base / a},{base / b},{1 - float(v):g}" for a, b, v, *_ in rows]
    (tmp_path / "f.csv").write_text("\n".join(flipped) + "\n")
    a = sorted((r.distorted.name, r.label) for r in read_pairs(pairs_csv))
    b = sorted((r.distorted.name, r.label) for r in read_pairs(tmp_path / "f.csv"))
    assert [x[0] for x in a] == [x[0] for x in b]
    np.testing.assert_allclose([x[1] for x in a], [x[1] for x in b], atol=1e-6)
    (tmp_path / "l.csv").write_text("\n".join(["reference,distorted,label", *flipped[1:]]) + "\n")
    assert eval_main(["--metrics", "psnr", "--pairs", str(tmp_path / "l.csv")]) == 1
    with pytest.raises(ValueError, match=r"l.csv: the label column 'label' does not declare"):
        read_pairs(tmp_path / "l.csv")
    with pytest.raises(ValueError, match=r"kind='labels' expects labels in \[0, 1\]"):
        fit_tws_mix(np.eye(3), [1.0, 5.0, 3.0], kind="labels")
