"""semfid-study without a browser: items and traps, one vote per rater per item, tokens,
exports that mos_from_votes / semfid-eval / fit_tws_weights read."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from semfidelity.calibration import fit_tws_weights
from semfidelity.cli.study import main as study_main
from semfidelity.training import evaluate_metrics, mos_from_votes
from semfidelity.training.study_app import (
    StudyStore,
    build_items,
    export_votes,
    preferences_from_votes,
)
from semfidelity.training.study_app.app import create_app

EX = "examples"


@pytest.fixture()
def store(tmp_path):
    pairs = [(f"{EX}/ref/{n}.png", f"{EX}/pred/{n}.png") for n in ("bird", "butterfly", "head")]
    return StudyStore.create(tmp_path / "s.sqlite", build_items(pairs, n_traps=2), "yesno")


def test_items_and_traps():
    pairs = [(f"r{i}", f"p{i}") for i in range(10)]
    items = build_items(pairs, n_traps=4, seed=1)
    traps = [it for it in items if it.trap]
    assert len(items) == 14 and [t.trap for t in traps] == ["no", "yes", "no", "yes"]
    assert all(t.a == t.reference for t in traps if t.trap == "no")
    assert all(
        t.a != f"p{t.reference[1:]}" and t.a.startswith("p") for t in traps if t.trap == "yes"
    )
    two = build_items([(f"r{i}", f"a{i}", f"b{i}") for i in range(4)], "2afc", n_traps=2)
    assert [(t.a if t.trap == "a" else t.b) for t in two if t.trap] == [
        t.reference for t in two if t.trap
    ]
    with pytest.raises(ValueError, match="question"):
        build_items(pairs, "mos")
    with pytest.raises(ValueError, match=r"pairs\[0\]"):
        build_items([("r", "a", "b")], "yesno")


def test_one_vote_per_rater_per_item_and_orders_survive_reopening(store):
    order = store.order("ann")
    assert sorted(order) == sorted(store.items()) and order != store.order("bob")
    first = store.next_item("ann")
    assert store.vote("ann", first, "yes") is True
    assert store.vote("ann", first, "no") is False  # refused, first vote kept
    assert store.vote("bob", first, "no") is True
    again = StudyStore(store.path)  # a restarted server
    assert again.votes()[0][:3] == ("ann", first, "yes") and len(again.votes()) == 2
    assert again.next_item("ann") == order[1] and again.progress("ann") == (1, 5)
    with pytest.raises(ValueError, match="answer"):
        again.vote("ann", order[1], "maybe")
    with pytest.raises(ValueError, match="item"):
        again.vote("ann", 999, "yes")


def test_web_flow_progress_double_post_and_images(store):
    client = create_app(store).test_client()
    assert b'name="rater"' in client.get("/").data
    assert client.post("/start", data={"rater": "bad name!"}).status_code == 400
    client.post("/start", data={"rater": "ann"})
    item = store.next_item("ann")
    page = client.get("/").data.decode()
    assert "0 of 5 answered" in page and f"/img/{item}/ref" in page
    assert client.get(f"/img/{item}/ref").status_code == 200
    assert client.get(f"/img/{item}/x").status_code == 404
    assert client.get("/img/999/ref").status_code == 404
    for _ in range(2):  # the second POST of the same form (back button, double click)
        assert client.post("/vote", data={"item": item, "answer": "yes"}).status_code == 303
    assert len(store.votes()) == 1 and "1 of 5 answered" in client.get("/").data.decode()
    assert client.post("/vote", data={"item": item + 1, "answer": "perhaps"}).status_code == 400
    while (nxt := store.next_item("ann")) is not None:
        client.post("/vote", data={"item": nxt, "answer": "no"})
    assert "All 5 items are answered" in client.get("/").data.decode()
    rows = list(csv.DictReader(client.get("/export.csv").data.decode().splitlines()))
    assert len(rows) == 5 and {r["rater"] for r in rows} == {"ann"}


def test_token_is_required_when_set(store):
    client = create_app(store, token="s3cret").test_client()
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/export.csv").status_code == 403
    assert client.get("/?token=s3cret").status_code == 200
    assert client.get("/").status_code == 200  # remembered in the signed cookie


def test_yesno_export_feeds_mos_and_semfid_eval(store, tmp_path):
    items = store.items()
    for rater, wrong_trap in (("ann", False), ("bob", False), ("eve", True)):
        for i, it in items.items():
            answer = it.trap or ("yes" if it.a.endswith("bird.png") else "no")
            if wrong_trap and it.trap:
                answer = "yes" if it.trap == "no" else "no"
            store.vote(rater, i, answer)
    out = tmp_path / "study" / "votes.csv"
    assert study_main(["export", "--db", str(store.path), "--out", str(out), "--min-votes", "1",
                       "--labels", str(out.parent / "pairs.csv")]) == 0  # fmt: skip
    s = mos_from_votes(out, tmp_path / "study" / "pairs2.csv", min_votes=1)
    assert s.raters_dropped == ("eve",) and s.raters_kept == ("ann", "bob") and s.n_pairs == 3
    labels = {r["distorted"].rsplit("/", 1)[1]: float(r["semantic_error"])
              for r in csv.DictReader(open(out.parent / "pairs.csv"))}  # fmt: skip
    assert labels == {"bird.png": 1.0, "butterfly.png": 0.0, "head.png": 0.0}
    res = evaluate_metrics(["psnr"], out.parent / "pairs.csv", progress=False)
    assert res["psnr"]["n"] == 3


def test_2afc_export_feeds_fit_tws_weights(tmp_path):
    pairs = [(f"{EX}/ref/{n}.png", f"{EX}/pred/{n}.png", f"{EX}/ref/{n}.png")
             for n in ("bird", "butterfly", "head")]  # fmt: skip
    store = StudyStore.create(tmp_path / "s.sqlite", build_items(pairs, "2afc", 2), "2afc")
    for rater in ("ann", "bob", "cat"):
        for i, it in store.items().items():
            store.vote(rater, i, it.trap or ("b" if rater != "cat" else "a"))
    export_votes(store, tmp_path / "votes.csv")
    images, prefs = preferences_from_votes(tmp_path / "votes.csv")
    assert len(images) == 6 and prefs.shape == (3, 3)
    assert np.allclose(prefs[:, 2], 1 / 3)  # 1 of 3 raters preferred "a" (the SR image)
    # components where only the "semantic" one agrees with the raters (b = reference preferred)
    comps = np.array([[0.2, 0.9, 0.9] if "/pred/" in im[1] else [0.9, 0.1, 0.1] for im in images])
    weights, report = fit_tws_weights(comps, prefs, kind="pairwise")
    assert report["value"] == pytest.approx(2 / 3) and weights[0] > 0.5
    (tmp_path / "yn.csv").write_text("rater,reference,distorted,vote\n")
    with pytest.raises(ValueError, match="2afc study export"):
        preferences_from_votes(tmp_path / "yn.csv")


def test_cli_usage_errors(tmp_path, capsys):
    db = str(tmp_path / "s.sqlite")
    assert study_main(["serve", "--db", db, "examples/ref"]) == 2
    assert (
        study_main(["serve", "--db", db, "--question", "2afc", "examples/ref", "examples/pred"])
        == 2
    )
    assert study_main(["export", "--db", db, "--out", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert "needs 2 folders" in err and "needs 3 folders" in err and "not found" in err
