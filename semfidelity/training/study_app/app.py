"""The rater-facing Flask app of a study (``semfid-study serve``).

Routes: ``/`` (sign-in, then the next unanswered item, then "done"), ``POST /vote``,
``/img/<item>/<ref|a|b>`` (only files of study items), ``/export.csv`` (the votes CSV). With a
``token``, every route needs ``?token=...`` once per browser (remembered in a signed cookie
whose key lives in the database, so it survives a restart).
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from importlib import resources
from pathlib import Path

from flask import Flask, Response, abort, redirect, render_template, request, send_file, session

from semfidelity.training.study_app.design import ANSWERS, QUESTIONS
from semfidelity.training.study_app.export import export_votes
from semfidelity.training.study_app.store import StudyStore

__all__ = ["create_app"]

logger = logging.getLogger(__name__)
_RATER = re.compile(r"[\w.@+-]{1,64}")


def create_app(store: StudyStore, token: str | None = None) -> Flask:
    """A Flask app serving ``store``; ``token`` (if given) is required from every browser."""
    templates = resources.files("semfidelity").joinpath("assets", "study")
    app = Flask(__name__, template_folder=str(templates), static_folder=None)
    app.config.update(SECRET_KEY=store.secret, SESSION_COOKIE_SAMESITE="Lax")

    @app.before_request
    def _auth():
        if token is None:
            return None
        given = request.args.get("token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            session["auth"] = True
        if not session.get("auth"):
            abort(403, "this study needs its token: open the link with ?token=... you were given")
        return None

    @app.get("/")
    def index():
        rater = session.get("rater")
        if not rater:
            return render_template("start.html", error=None)
        item_id = store.next_item(rater)
        done, total = store.progress(rater)
        if item_id is None:
            return render_template("done.html", rater=rater, total=total)
        item = store.items()[item_id]
        return render_template(
            "item.html",
            rater=rater,
            item_id=item_id,
            two=item.b is not None,
            question=QUESTIONS[store.question],
            answers=ANSWERS[store.question],
            done=done,
            total=total,
            shown=f"{time.time():.3f}",
        )

    @app.post("/start")
    def start():
        rater = request.form.get("rater", "").strip()
        if not _RATER.fullmatch(rater):
            msg = "Use 1-64 letters, digits or . _ @ + - (no spaces)."
            return render_template("start.html", error=msg), 400
        session["rater"] = rater
        return redirect("/", code=303)

    @app.post("/logout")
    def logout():
        session.pop("rater", None)
        return redirect("/", code=303)

    @app.post("/vote")
    def vote():
        rater = session.get("rater")
        if not rater:
            return redirect("/", code=303)
        try:
            item = int(request.form["item"])
            seconds = max(0.0, time.time() - float(request.form.get("shown", "nan")))
            seconds = seconds if seconds == seconds else None
            if not store.vote(rater, item, request.form.get("answer", ""), seconds):
                logger.info("study: %s already answered item %d; second vote ignored", rater, item)
        except (KeyError, ValueError) as exc:
            abort(400, str(exc))
        return redirect("/", code=303)

    @app.get("/img/<int:item_id>/<which>")
    def image(item_id: int, which: str):
        item = store.items().get(item_id)
        if item is None or which not in ("ref", "a", "b"):
            abort(404)
        path = {"ref": item.reference, "a": item.a, "b": item.b}[which]
        if path is None or not Path(path).is_file():
            abort(404)
        return send_file(path, max_age=3600)

    @app.get("/export.csv")
    def export():
        tmp = store.path.with_name(store.path.name + ".export.csv")
        export_votes(store, tmp)
        data = tmp.read_text(encoding="utf-8")
        tmp.unlink()
        return Response(data, mimetype="text/csv")

    return app
