"""The :class:`Metric` base class: the metric contract shared by every registered metric.

A subclass implements ``score(pred, target) -> (B,)`` on validated float32 NCHW RGB tensors in
[0, 1] that already sit on the metric's device; everything else (conversion, validation, device
placement, broadcasting, loss mode, frozen weights) lives here, once.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from semfidelity.io import ImageLike, as_tensor
from semfidelity.registry import MetricSpec

__all__ = ["Metric", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; strings are parsed by ``torch.device``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: cannot parse {device!r} as a torch device ({exc})") from exc


def _indexed(kind: str, device: int | str | torch.device | None) -> torch.device:
    """The device ``Module.cuda(device)`` / ``.xpu(device)`` moves to."""
    if device is None:
        return torch.device(kind, getattr(torch, kind).current_device())
    if isinstance(device, int):
        return torch.device(kind, device)
    return torch.device(device)


# Loss mode accepts an unclamped network output slightly outside [0, 1]; beyond this it is
# data on another scale (0..255, or [-1, 1]) and refused like the score refuses it.
LOSS_RANGE = (-0.5, 1.5)


# Per float dtype: the signed integer dtype of its size and the bit pattern of 1.0 in it. Read as
# that integer, a float's bits lie in [0, bits(1.0)] exactly when the value lies in [+0.0, 1.0]
# (negative values, -0.0 included, read as negative integers; NaN and +Inf as larger ones).
_UNIT_BITS = {
    torch.float32: (torch.int32, 0x3F800000),
    torch.float64: (torch.int64, 0x3FF0000000000000),
    torch.float16: (torch.int16, 0x3C00),
    torch.bfloat16: (torch.int16, 0x3F80),
}


def _in_unit_range(x: torch.Tensor) -> bool:
    """Whether every value of ``x`` is in [+0.0, 1.0] (so none is NaN or Inf): one integer
    min/max pass, on CPU ~3x faster than a float ``aminmax``; ``False``: do the exact check."""
    kind = _UNIT_BITS.get(x.dtype)
    if kind is None:
        return False
    lo, hi = torch.stack(torch.aminmax(x.view(kind[0]))).tolist()
    return lo >= 0 and hi <= kind[1]


class Metric(nn.Module):
    """Base class of all metrics. Call as ``metric(pred, target) -> Tensor[B]``.

    ``pred`` is the SR output, ``target`` the reference (ground truth). Both accept tensors
    (``(C,H,W)`` or ``(N,C,H,W)``, float, RGB or single channel, values in [0, 1]), PIL images,
    HWC NumPy arrays (uint8/uint16/float) and file paths. A ``target`` with batch 1 is
    broadcast against a ``pred`` batch of N.

    With ``as_loss=True`` the call returns a scalar that is lower-better
    (see :meth:`to_loss`) and gradients flow to ``pred`` only.
    """

    spec: MetricSpec

    def __init__(self, *, device: str | torch.device | None = None, as_loss: bool = False) -> None:
        super().__init__()
        if not isinstance(as_loss, bool):
            raise TypeError(f"as_loss: expected a bool, got {type(as_loss).__name__}")
        self.as_loss = as_loss
        self._device = resolve_device(device)
        specs = getattr(type(self), "_semfid_specs", {})
        if len(specs) == 1:  # built directly from its class rather than create_metric
            self.spec = next(iter(specs.values()))

    # ----------------------------------------------------------------- metadata
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def lower_better(self) -> bool:
        return self.spec.lower_better

    @property
    def score_range(self) -> tuple[float, float]:
        return self.spec.score_range

    @property
    def requires_reference(self) -> bool:
        return self.spec.requires_reference

    @property
    def differentiable(self) -> bool:
        return self.spec.differentiable

    @property
    def min_size(self) -> int:
        return self.spec.min_size

    # What this instance offers (its options may change it; callers ask here, not the spec).
    @property
    def has_map(self) -> bool:
        return self.spec.has_map

    @property
    def has_components(self) -> bool:
        return self.spec.has_components

    @property
    def amp_safe(self) -> bool:
        return self.spec.amp_safe

    @property
    def component_names(self) -> tuple[str, ...]:
        """Keys of :meth:`components`, total included, without running the metric."""
        if not self.has_components:
            return ()
        raise NotImplementedError(f"metric {self.name!r} must name its components")

    @property
    def device(self) -> torch.device:
        return self._device

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, device={self._device}, as_loss={self.as_loss}"

    # ------------------------------------------------------------ module state
    def finalize(self) -> Metric:
        """Freeze parameters, switch to eval mode and move to the metric's device.

        Called by :func:`semfidelity.create_metric` after construction.
        """
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()
        self.to(self._device)
        return self

    def train(self, mode: bool = True) -> Metric:
        # Metric weights are frozen statistics of a pretrained model: always eval mode.
        return super().train(False)

    # Every way of moving a module updates the device inputs are sent to (a parameter-free
    # metric has no tensor to read it from).
    def to(self, *args: Any, **kwargs: Any) -> Metric:
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        out = super().to(*args, **kwargs)
        if device is not None:
            self._device = device
        return out

    def cpu(self) -> Metric:
        out = super().cpu()
        self._device = torch.device("cpu")
        return out

    def cuda(self, device: int | str | torch.device | None = None) -> Metric:
        out = super().cuda(device)
        self._device = _indexed("cuda", device)
        return out

    def xpu(self, device: int | str | torch.device | None = None) -> Metric:
        out = super().xpu(device)
        self._device = _indexed("xpu", device)
        return out

    def to_empty(self, *, device: Any, recurse: bool = True) -> Metric:
        out = super().to_empty(device=device, recurse=recurse)
        if device is not None:
            self._device = torch.device(device)
        return out

    # --------------------------------------------------------------- validation
    def _check(self, x: torch.Tensor, name: str, values: bool = True) -> torch.Tensor:
        c = x.shape[1]
        if c == 4:
            raise ValueError(
                f"{name}: expected 1 or 3 channels, got 4 (RGBA?); drop alpha first, "
                f"e.g. x[:, :3] or PIL image.convert('RGB')"
            )
        if c not in (1, 3):
            hwc = x.shape[-1] in (1, 3)
            hint = "; is the input NHWC? use x.permute(0, 3, 1, 2)" if hwc else ""
            raise ValueError(
                f"{name}: expected 1 or 3 channels in dim 1 of an NCHW tensor, got {c} "
                f"(shape {tuple(x.shape)}){hint}"
            )
        if x.shape[0] == 0:
            raise ValueError(f"{name}: empty batch (shape {tuple(x.shape)})")
        h, w = x.shape[-2:]
        if min(h, w) < self.min_size:
            raise ValueError(
                f"{name}: image of size {h}x{w} is smaller than the minimum {self.min_size}x"
                f"{self.min_size} that metric {self.spec.name!r} needs"
            )
        if values:
            self._check_values(x, name)
        if c == 1:
            x = x.expand(-1, 3, -1, -1)
        return x

    def _check_values(self, x: torch.Tensor, name: str, in_unit_range: bool | None = None) -> None:
        """Refuse NaN/Inf and values outside [0, 1] (``LOSS_RANGE`` in loss mode); a caller that
        ran the bit check in its own pass passes its answer as ``in_unit_range``."""
        if in_unit_range if in_unit_range is not None else _in_unit_range(x):
            return
        # Exact extremes (message, loss mode's range, -0.0); NaN shows in both, +-Inf in one.
        lo, hi = torch.stack(torch.aminmax(x)).tolist()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{name}: contains NaN or Inf values")
        lowest, highest = LOSS_RANGE if self.as_loss else (0.0, 1.0)
        if lo < lowest or hi > highest:
            if hi > 1.5:
                hint = " (looks like 0..255 data: divide by 255)"
            elif lo < -0.5:
                hint = " (looks like [-1, 1] data: use (x + 1) / 2)"
            else:
                hint = ""
            mode = f" (as_loss allows [{lowest:g}, {highest:g}] for unclamped outputs)"
            raise ValueError(
                f"{name}: values must lie in [0, 1], got range [{lo:.4g}, {hi:.4g}]{hint}"
                f"{mode if self.as_loss else ''}"
            )

    def prepare(
        self, pred: ImageLike, target: ImageLike | None, check_values: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Convert, validate and move both inputs; returns float32 NCHW RGB tensors.

        ``check_values=False`` leaves the NaN/range check to the caller (``_check_values``).

        ``target`` keeps batch 1 when it is broadcast over a larger ``pred`` batch, so that a
        metric can compute reference-side work (e.g. an embedding) once.
        """
        p = as_tensor(pred, "pred")
        p = self._check(p, "pred", check_values).to(self._device, torch.float32, non_blocking=True)
        if target is None:
            if self.spec.requires_reference:
                raise ValueError(f"target: metric {self.spec.name!r} requires a reference image")
            return p, None
        t = as_tensor(target, "target")
        t = self._check(t, "target", check_values).to(
            self._device, torch.float32, non_blocking=True
        )
        if p.shape[-2:] != t.shape[-2:]:
            raise ValueError(
                f"pred and target must have the same height and width, got pred "
                f"{tuple(p.shape[-2:])} and target {tuple(t.shape[-2:])}"
            )
        if t.shape[0] not in (1, p.shape[0]):
            raise ValueError(
                f"target batch must be 1 or equal to the pred batch ({p.shape[0]}), "
                f"got {t.shape[0]}"
            )
        if self.as_loss or t.requires_grad:
            t = t.detach()
        return p, t

    # ------------------------------------------------------------------- calls
    def score(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """Return one float32 score per image, shape ``(B,)``; implemented by subclasses."""
        raise NotImplementedError

    def to_loss(self, scores: torch.Tensor) -> torch.Tensor:
        """Turn ``(B,)`` scores into a lower-better scalar loss.

        Lower-better metrics: ``mean(score)``. Higher-better metrics with a finite upper
        bound ``hi``: ``mean(hi - score)`` (``1 - score`` for scores in [0, 1]); with an
        unbounded upper end (PSNR): ``mean(-score)``.
        """
        if self.spec.lower_better:
            return scores.mean()
        hi = self.spec.score_range[1]
        if math.isfinite(hi):
            return (hi - scores).mean()
        return (-scores).mean()

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        """Spatial map ``(B, 1, H, W)`` at input resolution; for metrics with ``has_map``."""
        raise NotImplementedError

    def compute_score_and_map(
        self, pred: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Score and map of one input; override where one pass gives both."""
        return self.score(pred, target), self.compute_map(pred, target)

    def compute_components(
        self, pred: torch.Tensor, target: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Named ``(B,)`` sub-scores; for metrics with ``has_components``."""
        raise NotImplementedError

    def _grad_context(self, pred: torch.Tensor):
        # A graph is kept in loss mode, or when the caller asked for gradients on pred.
        return torch.set_grad_enabled(
            torch.is_grad_enabled() and (self.as_loss or pred.requires_grad)
        )

    def forward(self, pred: ImageLike, target: ImageLike | None = None) -> torch.Tensor:
        p, t = self.prepare(pred, target)
        with self._grad_context(p):
            scores = self.score(p, t).float()
            return self.to_loss(scores) if self.as_loss else scores

    def map(self, pred: ImageLike, target: ImageLike | None = None) -> torch.Tensor:
        """Per-pixel map ``(B, 1, H, W)`` (same orientation as the score)."""
        if not self.has_map:
            raise NotImplementedError(f"metric {self.spec.name!r} has no spatial map")
        p, t = self.prepare(pred, target)
        with self._grad_context(p):
            return self.compute_map(p, t)

    def score_and_map(
        self, pred: ImageLike, target: ImageLike | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores (B,), map (B, 1, H, W))``, from one forward pass where the metric allows."""
        if not self.has_map:
            raise NotImplementedError(f"metric {self.spec.name!r} has no spatial map")
        p, t = self.prepare(pred, target)
        with self._grad_context(p):
            scores, maps = self.compute_score_and_map(p, t)
            return scores.float(), maps

    def components(
        self, pred: ImageLike, target: ImageLike | None = None
    ) -> dict[str, torch.Tensor]:
        """Named ``(B,)`` sub-scores of a composite metric, including the total."""
        if not self.has_components:
            raise NotImplementedError(f"metric {self.spec.name!r} has no components")
        p, t = self.prepare(pred, target)
        with self._grad_context(p):
            return self.compute_components(p, t)
