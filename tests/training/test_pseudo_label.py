"""semfid-pseudo-label: C2C (real all-MiniLM-L6-v2) / C2I (tiny random CLIP) pseudo-label CSVs.

Checked: the CSV reads back through read_pairs with odd file names, C2I equals a direct
open_clip computation with the same weights, captioners plug in (object, factory, CSV), a
failing pair is recorded and the run goes on, and a killed run resumes to the same CSV.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image
from safetensors.torch import save_file
from tiny_clip import make_tiny_clip_text

from semfidelity.cli.pseudo_label import main
from semfidelity.training import read_pairs
from semfidelity.training.captions import Captioner, CaptionsFile, caption_each
from semfidelity.training.pseudo_label import COLUMNS, errors_path, pseudo_label
from semfidelity.training.pseudo_scores import C2C, C2I

# Odd names: comma, quotes, spaces, non-ASCII, a leading '#', a '=' (spreadsheet formula).
NAMES = ["a,b.png", 'say "hi".png', "two  spaces.png", "Ünï cødé.png", "#x.png", "=1+1.png"]
GT_CAPTIONS = [
    "a red box on a table", "a baby wearing a knitted hat", "a butterfly on a flower",
    "a pack of cigarettes on a desk", "a stop sign next to a road", "a cat on a sofa",
]  # fmt: skip
SR_CAPTIONS = [
    "a red cake on a table", "a baby in a knitted hat", "a bee on a flower",
    "a pack of cigarettes lying on a desk", "a tree next to a road", "a cat on a sofa",
]  # fmt: skip


@pytest.fixture(scope="module")
def c2c() -> C2C:
    return C2C()


@pytest.fixture(scope="module")
def c2i() -> C2I:
    return C2I(make_tiny_clip_text(), "openai", "random", device="cpu")


@pytest.fixture
def data(tmp_path) -> Path:
    """gt/ and sr/ folders of small real-image crops under odd names, and captions.csv."""
    rng = np.random.default_rng(0)
    photo = np.array(Image.open(Path(__file__).parents[1] / "data/set5_swinir/HR/baby.png"))
    rows = []
    for i, name in enumerate(NAMES):
        for side, caption in (("gt", GT_CAPTIONS[i]), ("sr", SR_CAPTIONS[i])):
            top, left = rng.integers(0, 400, size=2)
            (tmp_path / side).mkdir(exist_ok=True)
            Image.fromarray(photo[top : top + 40, left : left + 56]).save(tmp_path / side / name)
            rows.append((f"{side}/{name}", caption))
    with open(tmp_path / "captions.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "caption"])
        writer.writerows(rows)
    return tmp_path


def _pairs(data: Path) -> list[tuple[Path, Path]]:
    return [(data / "gt" / n, data / "sr" / n) for n in NAMES]


def test_csv_round_trip_with_odd_names(data, c2c, c2i):
    out = data / "labels" / "pairs.csv"
    captioner = CaptionsFile(data / "captions.csv")
    result = pseudo_label(_pairs(data), out, captioner, {"c2c": c2c, "c2i": c2i})
    assert (result.written, result.kept, result.errors) == (6, 0, [])
    assert not errors_path(out).exists()
    records = read_pairs(out)  # the training/eval reader: paths resolve, labels valid
    assert [(r.reference, r.distorted) for r in records] == [
        (out.parent / ".." / "gt" / n, out.parent / ".." / "sr" / n) for n in NAMES
    ]
    assert all(r.reference.resolve() == (data / "gt" / n) for r, n in zip(records, NAMES))
    for r, gt_cap, sr_cap in zip(records, GT_CAPTIONS, SR_CAPTIONS):
        assert (r.extra["gt_caption"], r.extra["sr_caption"]) == (gt_cap, sr_cap)
        c2c_value, c2i_value = float(r.extra["c2c"]), float(r.extra["c2i"])
        assert -1.0 <= c2i_value <= 1.0 and -1.0 <= c2c_value <= 1.0 + 1e-6
        assert r.label == pytest.approx(min(1.0, max(0.0, 1.0 - c2c_value)), abs=2e-6)
    labels = [r.label for r in records]
    assert labels[5] == pytest.approx(0.0, abs=1e-5)  # identical captions
    assert labels[0] > labels[3] and labels[4] > labels[1]  # changed objects > rewordings


def test_c2i_equals_open_clip_with_the_same_weights(data, tmp_path):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = open_clip.create_model(make_tiny_clip_text(), pretrained=None).eval()
    file = tmp_path / "clip.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(file))
    transform = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    tokenizer = open_clip.get_tokenizer(make_tiny_clip_text())
    paths = [data / "sr" / n for n in NAMES]
    with torch.no_grad():
        text = model.encode_text(tokenizer(GT_CAPTIONS), normalize=True)
        image = model.encode_image(
            torch.stack([transform(Image.open(p).convert("RGB")) for p in paths]), normalize=True
        )
    want = (text * image).sum(dim=-1)
    scorer = C2I(make_tiny_clip_text(), "openai", file, device="cpu")
    ours = scorer(GT_CAPTIONS, SR_CAPTIONS, paths)
    assert ours.shape == (6,) and ours.dtype == torch.float32
    # open_clip's PIL resize rounds to 8 bits, ours stays float (docs/metrics/tws.md)
    torch.testing.assert_close(ours, want, atol=1e-3, rtol=0)  # measured 1.3e-4
    whole = C2I(make_tiny_clip_text(), "openai", file, view="whole", device="cpu")
    assert whole(GT_CAPTIONS, SR_CAPTIONS, paths).shape == (6,)
    with pytest.raises(ValueError, match="view"):
        C2I(make_tiny_clip_text(), "openai", file, view="tiles")


class ListCaptioner:
    """A plug-in captioner: captions by file name; fails on names in ``broken``."""

    def __init__(self, captions: dict[str, str], broken: tuple[str, ...] = ()) -> None:
        self.captions, self.broken, self.calls = captions, broken, []

    def caption(self, paths):
        self.calls.append(len(paths))
        if any(p.name in self.broken for p in paths):
            raise RuntimeError(f"cannot caption {[p.name for p in paths]}")
        return [self.captions[f"{p.parent.name}/{p.name}"] for p in paths]


def _list_captioner(broken=()) -> ListCaptioner:
    caps = {f"gt/{n}": c for n, c in zip(NAMES, GT_CAPTIONS)}
    caps.update({f"sr/{n}": c for n, c in zip(NAMES, SR_CAPTIONS)})
    return ListCaptioner(caps, broken)


def test_captioner_plugin_interface_and_per_image_failures(data):
    cap = _list_captioner(broken=("#x.png",))
    assert isinstance(cap, Captioner) and not isinstance(object(), Captioner)
    paths = [p for pair in _pairs(data) for p in pair]
    done, failed = caption_each(cap, paths + paths[:2])  # duplicates captioned once
    assert cap.calls[0] == 12 and set(failed) == {data / "gt/#x.png", data / "sr/#x.png"}
    assert "RuntimeError: cannot caption" in failed[data / "gt/#x.png"]
    assert len(done) == 10 and done[data / "sr/a,b.png"] == SR_CAPTIONS[0]
    empty = ListCaptioner({k: " " for k in cap.captions})
    assert caption_each(empty, paths[:1])[1][paths[0]].startswith("ValueError")
    with pytest.raises(TypeError, match="captioner"):
        pseudo_label(_pairs(data), data / "o.csv", object(), {"c2c": lambda *a: None})


def test_failures_are_recorded_and_the_run_goes_on(data, c2c, c2i):
    (data / "sr" / "two  spaces.png").write_bytes(b"not a png")  # C2I cannot read it
    out = data / "pairs.csv"
    cap = _list_captioner(broken=("Ünï cødé.png",))
    result = pseudo_label(_pairs(data), out, cap, {"c2c": c2c, "c2i": c2i}, batch_size=4)
    assert result.written == 4 and len(result.errors) == 2
    stages = {(r.name, stage): msg for r, _, stage, msg in result.errors}
    assert "cannot decode image" in stages[("two  spaces.png", "c2i")]
    assert "GT Ünï cødé.png: RuntimeError" in stages[("Ünï cødé.png", "caption")]
    with open(errors_path(out), newline="", encoding="utf-8") as fh:
        listed = list(csv.DictReader(fh))
    assert {(r["distorted"], r["stage"]) for r in listed} == {
        ("sr/two  spaces.png", "c2i"),
        ("sr/Ünï cødé.png", "caption"),
    }
    assert len(read_pairs(out, check_files=False)) == 4


def test_resume_after_a_kill_gives_the_uninterrupted_csv(data, c2c):
    full = data / "full.csv"
    pseudo_label(_pairs(data), full, _list_captioner(), {"c2c": c2c}, batch_size=2)

    class Killed(_list_captioner().__class__):
        def caption(self, paths):
            if len(self.calls) == 1:
                raise KeyboardInterrupt  # not an Exception: stops the run like Ctrl-C
            return super().caption(paths)

    out = data / "pairs.csv"
    killed = Killed(_list_captioner().captions)
    with pytest.raises(KeyboardInterrupt):
        pseudo_label(_pairs(data), out, killed, {"c2c": c2c}, batch_size=2)
    assert len(read_pairs(out)) == 2  # the first batch was flushed
    with open(out, "a", encoding="utf-8") as fh:
        fh.write('"../gt/torn.png",sr/torn.png,0.')  # a torn last row
    with pytest.raises(FileExistsError, match="resume"):
        pseudo_label(_pairs(data), out, _list_captioner(), {"c2c": c2c})
    again = _list_captioner()
    result = pseudo_label(_pairs(data), out, again, {"c2c": c2c}, batch_size=2, resume=True)
    assert (result.kept, result.written) == (2, 4) and sum(again.calls) == 8
    assert out.read_text(encoding="utf-8") == full.read_text(encoding="utf-8")
    rerun = pseudo_label(_pairs(data), out, _list_captioner(), {"c2c": c2c}, resume=True)
    assert (rerun.kept, rerun.written) == (6, 0)


def test_command_line(data, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setitem(sys.modules, "toy_captioner_module", sys.modules[__name__])
    out = data / "cli" / "pairs.csv"
    base = [str(data / "gt"), str(data / "sr"), "--out", str(out), "--device", "cpu"]
    tiny = ["--clip-model", make_tiny_clip_text(), "--clip-weights", "random"]
    assert main([*base, "--captions", str(data / "captions.csv"), *tiny]) == 0
    rows = list(csv.DictReader(open(out, newline="", encoding="utf-8")))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 6 and all(r["c2i"] for r in rows)
    assert main([*base, "--captions", str(data / "captions.csv"), *tiny]) == 2
    assert "exists; add --resume or --overwrite" in capsys.readouterr().err
    plugin = "toy_captioner_module:_list_captioner"  # a factory
    assert main([*base, "--captioner", plugin, "--scores", "c2c", "--overwrite"]) == 0
    assert all(r["c2i"] == "" for r in csv.DictReader(open(out, encoding="utf-8")))
    assert main([*base, "--captioner", "toy_captioner_module:NAMES", "--overwrite"]) == 2
    assert "is not a captioner" in capsys.readouterr().err
    pairs_csv = data / "in.csv"
    pairs_csv.write_text('reference,distorted\n"gt/a,b.png","sr/a,b.png"\n', encoding="utf-8")
    args = ["--pairs", str(pairs_csv), "--out", str(out), "--overwrite", "--scores", "c2c"]
    assert main([*args, "--captions", str(data / "captions.csv")]) == 0
    assert len(read_pairs(out)) == 1
    assert main([*args, "--label", "c2i", "--captions", str(data / "captions.csv")]) == 2
    (data / "gt" / "=1+1.png").unlink()  # an unpaired SR image is reported, the rest goes on
    assert main([*base, "--captioner", plugin, "--scores", "c2c", "--overwrite"]) == 0
    assert len(read_pairs(out)) == 5
