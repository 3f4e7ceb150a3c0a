"""semfid-report / build_report: what the HTML holds (the browser tests check what it does)."""

from __future__ import annotations

import csv
import re

import pytest
from reportdata import NOISE, make_run, report_data

from semfidelity.cli.report import main as report_main
from semfidelity.scoring.report import build_report


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


def test_gallery_is_the_worst_pairs_per_metric_with_their_maps(run, tmp_path):
    out = tmp_path / "r.html"
    assert report_main([str(run["scores"]), "--maps", str(run["maps"]), "--out", str(out)]) == 0
    data = report_data(out)
    rows = {r["key"]: r for r in csv.DictReader(open(run["scores"], newline=""))}
    by_psnr = sorted((float(r["psnr"]), k) for k, r in rows.items() if r["psnr"])
    assert data["gallery"]["psnr"] == [k for _, k in by_psnr]  # lowest (worst) first
    assert data["gallery"]["psnr"] == [f"p{i}" for i in reversed(range(len(NOISE)))]
    assert "broken" not in data["gallery"]["ssim"]
    for key in data["gallery"]["ssim"]:
        img = data["images"][key]
        assert img["ref"].startswith("data:image/jpeg;base64,") and img["pred"] and img["diff"]
        assert "ssim" in img["maps"] and "psnr" not in img["maps"]  # psnr has no map
        assert "ssim" in img["bars"] and img["diff_bar"].startswith("data:image/jpeg")
    assert set(data["images"]) == set(data["gallery"]["psnr"])


def test_summary_errors_and_self_containment(run, tmp_path):
    out = tmp_path / "r.html"
    assert report_main([str(run["scores"]), "--out", str(out), "--worst", "2"]) == 0
    text = out.read_text(encoding="utf-8")
    # the error row, with its reason and key, and the summary counts
    assert re.search(r"<summary>decode: 1</summary>", text) and "<code>broken</code>" in text
    assert "<b>7</b> pairs: <b>6</b> scored without error, <b>1</b> with errors" in text
    # nothing is fetched from elsewhere: no remote URLs, scripts and styles are inline
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script src" not in text and '<link rel="stylesheet"' not in text
    data = report_data(out)
    assert [len(k) for k in data["gallery"].values()] == [2, 2]
    assert set(data["images"]) == set(data["gallery"]["psnr"]) | set(data["gallery"]["ssim"])
    # rows link to the originals relative to the report's folder
    assert all(r[-2].startswith("../") and r[-1].endswith(".png") for r in data["rows"])


def test_lower_better_metric_shows_its_highest_scores(tmp_path):
    cols = ["key", "ref", "pred", "height", "width", "lpips", "error"]
    rows = [
        {"key": f"k{i}", "ref": "nope.png", "pred": "nope.png", "lpips": v, "error": ""}
        for i, v in enumerate([0.1, 0.7, "", 0.4, 0.9])
    ]
    data = report_data(build_report(rows, cols, tmp_path / "r.html", worst_n=3))
    assert data["gallery"] == {"lpips": ["k4", "k1", "k3"]}
    assert "missing" in data["images"]["k4"]  # unreadable images are reported, not fatal


def test_size_grows_with_the_gallery_not_the_images_of_the_run(run, tmp_path):
    rows = list(csv.DictReader(open(run["scores"], newline="")))
    good = [r for r in rows if r["psnr"]]
    cols = list(rows[0])
    many = [dict(good[i % len(good)], key=f"k{i:05d}") for i in range(3000)]
    small = build_report(many, cols, tmp_path / "a.html", worst_n=3).stat().st_size
    data = report_data(tmp_path / "a.html")
    assert len(data["images"]) <= 6 and len(data["rows"]) == 3000
    no_gallery = build_report(many, cols, tmp_path / "b.html", worst_n=0).stat().st_size
    assert (small - no_gallery) / len(data["images"]) < 60_000  # per pictured pair, bytes
    assert no_gallery / 3000 < 400  # per table row, bytes


def test_bad_arguments(run, tmp_path, capsys):
    with pytest.raises(ValueError, match="worst_n"):
        build_report([], ["key"], tmp_path / "r.html", worst_n=-1)
    with pytest.raises(ValueError, match="columns"):
        build_report([], ["a"], tmp_path / "r.html")
    assert report_main([str(tmp_path / "none.csv")]) == 2
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    assert report_main([str(junk)]) == 2
    assert report_main([str(run["scores"]), "--maps", str(tmp_path / "nomaps")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "no 'key' column" in err and "--maps" in err


def test_semfid_score_report_records_the_run(run, tmp_path):
    from semfidelity.cli.score import main as score_main

    (run["pred"] / "orphan.png").write_bytes((run["pred"] / "p0.png").read_bytes())
    try:
        out, html = tmp_path / "s.jsonl", tmp_path / "run" / "report.html"
        args = [str(run["ref"]), str(run["pred"]), "--metrics", "psnr,ssim", "--out", str(out)]
        args += ["--opt", "ssim.y_channel=true", "--report", str(html), "--report-worst", "3"]
        assert score_main(args) == 1
        assert score_main([*args[:-4], "--report", str(tmp_path / "r.txt")]) == 2
    finally:
        (run["pred"] / "orphan.png").unlink()
    text = html.read_text(encoding="utf-8")
    assert "{&quot;y_channel&quot;: true}" in text  # the options the run used
    assert "<summary>unmatched_pred: 1</summary>" in text and "orphan" in text
    assert f"<td>{out}</td>" in text and "<th>device</th>" in text
    data = report_data(html)
    assert [len(v) for v in data["gallery"].values()] == [3, 3] and len(data["rows"]) == 7


def test_no_reference_rows_show_the_prediction_alone(tmp_path):
    cols = ["key", "ref", "pred", "height", "width", "niqe", "error"]
    rows = [
        {"key": n, "ref": "", "pred": f"examples/pred/{n}.png", "niqe": v, "error": ""}
        for n, v in (("bird", 8.4), ("head", 9.1), ("butterfly", 7.0))
    ]
    data = report_data(build_report(rows, cols, tmp_path / "r.html", worst_n=2))
    assert data["gallery"] == {"niqe": ["head", "bird"]}  # lower is better: highest first
    for img in data["images"].values():
        assert img["pred"].startswith("data:image/jpeg") and "ref" not in img
        assert "diff" not in img and "missing" not in img
    assert all(r[-2] == "" for r in data["rows"])  # no reference link
