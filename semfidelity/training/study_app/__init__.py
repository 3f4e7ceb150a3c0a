"""``semfid-study``: a local web app that runs a user study and feeds calibration.

* :mod:`.design` turns pairs into study items (questions plus trap items);
* :mod:`.store` keeps items and votes in SQLite (every vote committed before it is answered);
* :mod:`.app` is the Flask app raters use (needs the ``study`` extra: ``pip install
  semfidelity[study]``);
* :mod:`.export` writes the votes CSV that :func:`semfidelity.training.mos_from_votes` reads and
  turns 2AFC votes into ``fit_tws_weights(..., kind="pairwise")`` input.

See docs/study.md.
"""

from semfidelity.training.study_app.design import QUESTIONS, build_items
from semfidelity.training.study_app.export import export_votes, preferences_from_votes
from semfidelity.training.study_app.store import StudyStore

__all__ = ["QUESTIONS", "StudyStore", "build_items", "export_votes", "preferences_from_votes"]
