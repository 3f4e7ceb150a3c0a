"""SR methods for :func:`semfidelity.training.sr_pairs.make_sr_pairs`: a Python callable, a
shell command with ``{in}``/``{out}`` placeholders, or the built-in ``bicubic``.

* ``module:function`` (optionally ``NAME=module:function``): ``function(lq, scale)`` gets the
  LQ image as a float32 CPU tensor ``(1, 3, h, w)`` in [0, 1] and the factor, and returns the SR
  image (tensor ``(3,H,W)``/``(1,3,H,W)`` in [0, 1], PIL image, array or path) of size
  ``(h * scale, w * scale)``.
* a command (optionally ``NAME=command``) containing ``{in}`` and ``{out}`` (and optionally
  ``{scale}``): split like a POSIX shell (``shlex``) once, then each placeholder is replaced by
  the path inside its argument and the program runs without a shell, so file names with spaces,
  quotes or ``$`` reach it unchanged. ``{in}`` is the LQ PNG; the command must write ``{out}``
  (PNG). Pipes and redirections need an explicit ``sh -c '...'``.
* ``bicubic``: :func:`bicubic_sr` (torch bicubic, clamped), the baseline.
"""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from semfidelity.io import as_tensor, load_image

__all__ = ["SRMethod", "bicubic_sr", "parse_method"]

_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
_PYTHON = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def bicubic_sr(lq: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic up-sampling by ``scale`` (torch, ``align_corners=False``), clamped to [0, 1]."""
    return F.interpolate(lq, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


@dataclass(frozen=True)
class SRMethod:
    """One SR method: ``name`` (its output folder), ``spec`` (as given), ``kind``
    (``"python"`` | ``"command"``) and the callable or the command's arguments."""

    name: str
    spec: str
    kind: str
    func: Callable | None = field(default=None, compare=False)
    argv: tuple[str, ...] = ()

    def run(
        self, lq: torch.Tensor, lq_path: Path, out_path: Path, scale: int, timeout: float | None
    ) -> torch.Tensor:
        """SR image ``(1, 3, H, W)`` of ``lq`` (also saved by commands at ``out_path``)."""
        if self.kind == "python":
            out = self.func(lq, scale)
            return as_tensor(out, f"method {self.name!r} output").to("cpu", torch.float32)
        subs = {"{in}": str(lq_path), "{out}": str(out_path), "{scale}": str(scale)}
        argv = [_substitute(a, subs) for a in self.argv]
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.unlink(missing_ok=True)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError as exc:
            raise RuntimeError(f"command not found: {argv[0]!r}") from exc
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"command timed out after {timeout} s") from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-500:]
            raise RuntimeError(f"command exited with status {proc.returncode}: {tail}")
        if not out_path.is_file():
            raise RuntimeError(f"command exited 0 but did not write {{out}} ({out_path})")
        return load_image(out_path)


def _substitute(arg: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        arg = arg.replace(key, value)
    return arg


def _import(target: str) -> Callable:
    module, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"method {target!r}: cannot import module {module!r}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"method {target!r}: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"method {target!r}: {attr!r} is not callable")
    return obj


def parse_method(spec: str) -> SRMethod:
    """``[NAME=]bicubic``, ``[NAME=]module:function`` or ``[NAME=]command {in} {out}``.

    Raises ``ValueError`` naming the spec for anything else, an unimportable callable, a command
    without both placeholders or with unbalanced quotes, or a NAME that is not a plain folder
    name (letters, digits, ``_ . + -``).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"method: expected a non-empty string, got {spec!r}")
    head, sep, rest = spec.partition("=")
    name = None
    if sep and _NAME.fullmatch(head.strip()) and not head.startswith((" ", "-")):
        name, spec_body = head.strip(), rest.strip()
    else:
        spec_body = spec.strip()
    if "{in}" in spec_body or "{out}" in spec_body:
        if "{in}" not in spec_body or "{out}" not in spec_body:
            raise ValueError(f"method {spec!r}: a command needs both {{in}} and {{out}}")
        try:
            argv = tuple(shlex.split(spec_body))
        except ValueError as exc:
            raise ValueError(f"method {spec!r}: cannot split the command: {exc}") from exc
        name = name or Path(argv[0]).stem
        method = SRMethod(name, spec, "command", argv=argv)
    elif spec_body == "bicubic":
        method = SRMethod(name or "bicubic", spec, "python", func=bicubic_sr)
    elif _PYTHON.fullmatch(spec_body):
        func = _import(spec_body)
        method = SRMethod(name or spec_body.rsplit(".", 1)[-1].split(":")[-1], spec, "python", func)
    else:
        raise ValueError(
            f"method {spec!r}: expected 'bicubic', 'module:function' or a command containing "
            "{in} and {out} (each optionally prefixed by NAME=)"
        )
    if not _NAME.fullmatch(method.name) or method.name in (".", ".."):
        raise ValueError(f"method {spec!r}: name {method.name!r} must be a plain folder name")
    return method
