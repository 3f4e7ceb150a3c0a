"""PairDataset / read_pairs: validation errors name the row, transforms are deterministic."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from semfidelity.training import PairDataset, make_loader, read_pairs


@pytest.fixture
def pair_dir(tmp_path):
    g = torch.Generator().manual_seed(0)
    for name, size in (("a", (40, 30)), ("b", (40, 30)), ("c", (20, 20))):
        arr = (torch.rand(size[1], size[0], 3, generator=g) * 255).byte().numpy()
        Image.fromarray(arr).save(tmp_path / f"{name}.png")
    mask = torch.zeros(30, 40, dtype=torch.uint8)
    mask[5:15, 10:30] = 255
    Image.fromarray(mask.numpy()).save(tmp_path / "m.png")
    return tmp_path


def _write(folder, text):
    path = folder / "pairs.csv"
    path.write_text(text)
    return path


def test_reads_rows_paths_relative_to_csv_and_optional_mask(pair_dir):
    sub = pair_dir / "sub"
    sub.mkdir()
    csv = _write(
        sub,
        "reference,distorted,semantic_error,mask,kind\n../a.png,../b.png,0.25,,x\n"
        "../a.png,../b.png,1,../m.png,y\n",
    )
    recs = read_pairs(csv)
    assert [r.label for r in recs] == [0.25, 1.0]
    assert recs[0].mask is None and recs[1].mask == sub / "../m.png"
    assert recs[1].extra == {"kind": "y"}
    ds = PairDataset(csv)
    item = ds[1]
    assert item["reference"].shape == (3, 30, 40) and item["mask"].shape == (1, 30, 40)
    assert item["has_mask"] and float(item["mask"].sum()) == 10 * 20
    assert not ds[0]["has_mask"] and float(ds[0]["mask"].sum()) == 0


@pytest.mark.parametrize(
    "label, match",
    [
        ("abc", r"row 2 \(line 3\): semantic_error must be a number in \[0, 1\], got 'abc'"),
        ("1.5", r"row 2 \(line 3\): semantic_error must lie in \[0, 1\], got '1.5'"),
        ("-0.1", r"row 2 .*got '-0.1'"),
        ("nan", r"row 2 .*got 'nan'"),
    ],
)
def test_bad_label_names_row_and_value(pair_dir, label, match):
    csv = _write(
        pair_dir, f"reference,distorted,semantic_error\na.png,b.png,0\na.png,b.png,{label}\n"
    )
    with pytest.raises(ValueError, match=match):
        read_pairs(csv)


def test_missing_files_and_columns(pair_dir):
    csv = _write(pair_dir, "reference,distorted,semantic_error\na.png,b.png,0\na.png,nope.png,1\n")
    with pytest.raises(FileNotFoundError, match=r"row 2 \(line 3\): distorted file 'nope.png'"):
        read_pairs(csv)
    csv = _write(pair_dir, "reference,distorted,semantic_error,mask\na.png,b.png,1,gone.png\n")
    with pytest.raises(FileNotFoundError, match="row 1.*mask file 'gone.png'"):
        read_pairs(csv)
    csv = _write(pair_dir, "ref,distorted,semantic_error\na.png,b.png,1\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['reference'\]"):
        read_pairs(csv)
    with pytest.raises(ValueError, match="pairs.csv: no label column; name the column"):
        read_pairs(_write(pair_dir, "reference,distorted,kind\na.png,b.png,x\n"))
    with pytest.raises(ValueError, match="no data rows"):
        read_pairs(_write(pair_dir, "reference,distorted,semantic_error\n"))
    with pytest.raises(FileNotFoundError, match="pairs CSV not found"):
        read_pairs(pair_dir / "absent.csv")


def test_size_mismatch_is_reported_at_load(pair_dir):
    ds = PairDataset(_write(pair_dir, "reference,distorted,semantic_error\na.png,c.png,0\n"))
    with pytest.raises(ValueError, match="row 1.*differ in size"):
        ds[0]


def test_resize_and_seeded_crop_are_deterministic(pair_dir):
    csv = _write(
        pair_dir, "reference,distorted,semantic_error,mask\na.png,b.png,1,m.png\nb.png,a.png,0,\n"
    )
    ds = PairDataset(csv, size=24, crop=16, seed=3)
    first = ds[0]
    assert first["reference"].shape == (3, 16, 16) and first["mask"].shape == (1, 16, 16)
    again = PairDataset(csv, size=24, crop=16, seed=3)[0]
    assert all(torch.equal(first[k], again[k]) for k in ("reference", "distorted", "mask"))
    crops = {
        PairDataset(csv, size=24, crop=16, seed=s)[0]["reference"].sum().item() for s in range(8)
    }
    assert len(crops) > 1  # the seed moves the crop
    with pytest.raises(ValueError, match="crop"):
        PairDataset(csv, size=16, crop=24)


def test_loader_with_workers_matches_single_process(pair_dir):
    csv = _write(
        pair_dir, "reference,distorted,semantic_error\n" + "a.png,b.png,0.5\nb.png,a.png,1\n" * 3
    )
    ds = PairDataset(csv, size=16)
    one = [b["label"] for b in make_loader(ds, batch_size=2, shuffle=True, seed=1)]
    two = [b["label"] for b in make_loader(ds, batch_size=2, shuffle=True, seed=1, num_workers=2)]
    assert all(torch.equal(x, y) for x, y in zip(one, two)) and len(one) == 3
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(ds, batch_size=0)


def test_label_orientation_is_declared_by_the_column(pair_dir):
    """`semantic_error` is read as is, `faithful` flipped; `label`/`mos`/`score` are refused."""
    err = read_pairs(_write(pair_dir, "reference,distorted,semantic_error\na.png,b.png,0.25\n"))
    fai = read_pairs(_write(pair_dir, "reference,distorted,faithful\na.png,b.png,0.25\n"))
    assert err[0].label == 0.25 and fai[0].label == 0.75 and "faithful" not in fai[0].extra
    for vague in ("label", "mos", "Score"):
        csv = _write(pair_dir, f"reference,distorted,{vague}\na.png,b.png,1\n")
        with pytest.raises(ValueError, match=rf"pairs.csv: the label column '{vague}' does not "
                           r"declare its orientation.*'semantic_error'.*'faithful'"):  # fmt: skip
            read_pairs(csv)
    both = _write(pair_dir, "reference,distorted,semantic_error,faithful\na.png,b.png,1,0\n")
    with pytest.raises(ValueError, match="both 'semantic_error' and 'faithful'"):
        read_pairs(both)
