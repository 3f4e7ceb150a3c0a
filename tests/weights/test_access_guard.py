"""One way to get weights: no code path outside semfidelity.weights fetches or unpickles them."""

from __future__ import annotations

import ast

from weights_testkit import (
    REPO,
)

_DOWNLOADERS = {
    "hf_hub_download",
    "snapshot_download",
    "load_state_dict_from_url",
    "download_url_to_file",
    "load_url",
}


def _weight_access_violations(source: str, label: str) -> list[str]:
    """Calls in ``source`` that would fetch or unpickle weights outside semfidelity.weights."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        keywords = {k.arg: k.value for k in node.keywords}
        where = f"{label}:{node.lineno}"
        if name in _DOWNLOADERS:
            found.append(f"{where}: {name}() downloads outside semfidelity.weights")
        if name == "load" and getattr(func, "value", None) is not None:
            owner = getattr(func.value, "id", "")
            safe = keywords.get("weights_only")
            if owner == "torch" and not (isinstance(safe, ast.Constant) and safe.value is True):
                found.append(f"{where}: torch.load without weights_only=True")
        pretrained = keywords.get("pretrained")
        if isinstance(pretrained, ast.Constant) and pretrained.value not in (None, False):
            found.append(
                f"{where}: pretrained={pretrained.value!r} lets a library download weights"
            )
        tv_weights = keywords.get("weights")
        if isinstance(tv_weights, ast.Attribute):
            enum = tv_weights.value
            enum_name = enum.attr if isinstance(enum, ast.Attribute) else getattr(enum, "id", "")
            if enum_name.endswith("_Weights"):
                found.append(f"{where}: torchvision weights enum downloads (download.pytorch.org)")
        if isinstance(tv_weights, ast.Constant) and tv_weights.value in (
            "DEFAULT",
            "IMAGENET1K_V1",
        ):
            found.append(f"{where}: torchvision weights={tv_weights.value!r} downloads")
    return found


# The one documented exception: the optional local VLM judge loads a user-chosen transformers
# model with from_pretrained (docs/selection.md); it honours SEMFID_OFFLINE/HF_HUB_OFFLINE.
_FROM_PRETRAINED_ALLOWED = {"semfidelity/selection/judges/hf.py"}


def _from_pretrained_calls(source: str, label: str) -> list[str]:
    return [
        f"{label}:{node.lineno}: from_pretrained() downloads outside semfidelity.weights"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_pretrained"
    ]


def test_no_code_path_fetches_or_unpickles_weights_another_way():
    package = REPO / "semfidelity"
    files = [p for p in package.rglob("*.py") if (package / "weights") not in p.parents]
    violations = [
        v
        for f in files
        for v in _weight_access_violations(f.read_text(encoding="utf-8"), str(f.relative_to(REPO)))
    ]
    for f in files:
        label = f.relative_to(REPO).as_posix()
        if label not in _FROM_PRETRAINED_ALLOWED:
            violations += _from_pretrained_calls(f.read_text(encoding="utf-8"), label)
    assert violations == [], (
        "use semfidelity.weights.resolve/load_state_dict instead:\n" + "\n".join(violations)
    )


def test_the_guard_itself_catches_each_pattern():
    source = (
        "import torch, open_clip, torchvision\n"
        "torch.load('x')\n"
        "torch.load('x', weights_only=False)\n"
        "open_clip.create_model('ViT-B-32', pretrained='openai')\n"
        "torchvision.models.resnet50(weights=torchvision.models.ResNet50_Weights.DEFAULT)\n"
        "torch.hub.load_state_dict_from_url('u')\n"
        "torch.load('x', weights_only=True)\n"
        "open_clip.create_model('ViT-B-32', pretrained=None)\n"
    )
    violations = _weight_access_violations(source, "probe.py")
    assert sorted(int(v.split(":")[1]) for v in violations) == [2, 3, 4, 5, 6], violations
