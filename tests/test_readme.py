"""README's fresh-machine commands stay true: CI runs exactly README's test command."""

from __future__ import annotations

import re

from repo_data import REPO


def _fenced_commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_ci_runs_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_cmds = [c for c in _fenced_commands(readme) if "pytest" in c]
    assert len(test_cmds) == 1, test_cmds
    ci_lines = [
        ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert test_cmds[0] in ci_lines


def test_readme_main_job_uses_examples_and_registered_metrics():
    import semfidelity

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    job = [
        c
        for c in _fenced_commands(readme)
        if c.startswith("python3 -m venv") and "semfid-score" in c
    ]
    assert len(job) == 1, job
    metrics = re.search(r"--metrics (\S+)", job[0]).group(1).split(",")
    known = set(semfidelity.list_metrics())
    assert set(metrics) <= known, set(metrics) - known
    for metric in metrics:
        assert not semfidelity.metric_info(metric)["weights"], f"{metric} needs downloaded weights"
    assert (REPO / "examples" / "ref").is_dir() and (REPO / "examples" / "pred").is_dir()


def test_readme_metric_table_matches_the_registry():
    import semfidelity

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- metric-table:start -->")[1].split("<!-- metric-table:end -->")[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    builtin = {
        n
        for n in semfidelity.list_metrics()
        if semfidelity.registry.get_spec(n).factory.__module__.startswith("semfidelity.")
    }
    assert set(rows) == builtin
    for name, (_, _, orientation, needs_ref, diff, needs_weights) in rows.items():
        info = semfidelity.metric_info(name)
        assert orientation == ("lower is better" if info["lower_better"] else "higher is better"), (
            name
        )
        assert needs_ref == ("yes" if info["requires_reference"] else "no"), name
        assert diff == ("yes" if info["differentiable"] else "no"), name
        assert needs_weights.startswith("yes") == bool(info["weights"]), name


def test_readme_main_job_can_be_run_twice(tmp_path, monkeypatch):
    """The documented command is rerunnable, and without --overwrite an output is kept."""
    import shlex

    from semfidelity.cli.score import main

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    job = [c for c in _fenced_commands(readme) if c.startswith("python3 -m venv")]
    score = [c for c in job if "semfid-score" in c][0].split("&& semfid-score ")[1]
    args = shlex.split(score)
    args = [str(REPO / a) if a.startswith("examples/") else a for a in args]
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    first = (tmp_path / "scores.csv").read_bytes()
    assert main(args) == 0  # the second run of the same command
    assert (tmp_path / "scores.csv").read_bytes() == first
    assert main([a for a in args if a != "--overwrite"]) == 2  # never a silent overwrite
