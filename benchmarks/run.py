"""Speed and memory of every registered semfidelity metric, side by side with peer packages.

For each metric (``semfidelity.list_metrics()``), image size and batch size this measures
throughput (pairs/s), latency per batch (median of repeats, warm-up excluded) and peak memory
above the pre-call baseline (process RSS sampled in a thread on CPU,
``torch.cuda.max_memory_allocated`` on CUDA). Peer implementations from ``benchmarks/peers.py``
run in the same cell on the same tensors, interleaved round-robin so machine load hits all of
them alike; every row carries its ratio to the fastest peer.

Metrics that need pretrained weights are built with their full-size architectures and random
weights (``weights="random"`` / ``clip_weights="random"``): their numbers are timing only.
Metrics without such an option whose weights are installed (text_fidelity, face_identity: pip
extras) run with their real weights and ``cache=False``.

Usage (from the repository root)::

    python benchmarks/run.py                        # full grid, all metrics, peers
    python benchmarks/run.py --quick                # a few minutes
    python benchmarks/run.py --metrics psnr,ssim --sizes 512 --batches 8 --repeats 5
    python benchmarks/run.py --readme benchmarks/README.md   # also refresh the README table

Results go to ``benchmarks/results/<device>-<date>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `semfidelity` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import semfidelity  # noqa: E402
from benchmarks import peers as peers_mod  # noqa: E402
from semfidelity.weights import find_local, get_entry  # noqa: E402

DEFAULT_SIZES = (256, 512, 1024)
DEFAULT_BATCHES = (1, 8, 32)
HEAVY_SIZES = (256, 512)
HEAVY_BATCHES = (1, 8)
RANDOM_WEIGHT_OPTIONS = ("clip_weights", "weights")  # first one a metric offers is used
OURS = "semfidelity"

# Acceptance targets (issue 9). CPU: ratio to the fastest peer at 512x512, batch 8.
CPU_TARGET_CELL = (512, 8)
CPU_RATIO_TARGETS = {"psnr": 1.5, "ssim": 1.5, "ms_ssim": 1.5, "edge_ssim": 1.5, "wavelet": 1.5}
# CUDA: absolute pairs/s at 512x512 (best batch size).
CUDA_THROUGHPUT_TARGETS = {"tws": 1000.0, "ssim": 5000.0}

# Rough working memory of one call, in multiples of the two input tensors; used only to skip
# cells that cannot fit (an OOM kill on Linux cannot be caught).
MEMORY_FACTOR = 12.0


# --------------------------------------------------------------------------- machine
def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info(device: torch.device) -> dict[str, Any]:
    """Machine, software versions and load, recorded with every result file."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "semfidelity": semfidelity.__version__,
        "device": str(device),
        "dtype": "float32",
    }
    info["env"] = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")
        if k in os.environ
    }
    with contextlib.suppress(OSError, AttributeError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(ImportError):
        import psutil

        info["memory_total_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = props.name
        info["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    versions = {}
    for dist in (
        "piq",
        "torchmetrics",
        "kornia",
        "lpips",
        "pyiqa",
        "scikit-image",
        "PyWavelets",
        "open_clip_torch",
        "ptwt",
        "numpy",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    info["package_versions"] = versions
    return info


# --------------------------------------------------------------------------- memory
def _rss_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release_free_heap() -> None:
    # glibc keeps freed blocks; hand them back so the next baseline RSS is honest.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """Context manager: peak resident set size (bytes) while active, sampled by a thread."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> PeakRSS:
        _release_free_heap()
        self.baseline = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def delta(self) -> int:
        return self.peak - self.baseline


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, float]]:
    """Yield a dict filled on exit with ``mem_mb`` (peak above baseline) and ``peak_mb``."""
    out: dict[str, float] = {}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield out
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        out.update(mem_mb=(peak - base) / 2**20, peak_mb=peak / 2**20)
    else:
        with PeakRSS() as rss:
            yield out
        out.update(mem_mb=rss.delta / 2**20, peak_mb=rss.peak / 2**20)


# --------------------------------------------------------------------------- implementations
@dataclass
class Impl:
    """One implementation of a metric in a cell: ours or a peer."""

    metric: str
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], Any]
    kind: str  # "ours" | "peer"
    note: str = ""
    amp: bool = False
    min_size: int = 1


def metric_build_options(name: str, tmpdir: Path) -> tuple[dict[str, Any], str]:
    """Options that make ``name`` buildable offline, and the note that goes with them.

    Raises ``RuntimeError`` with the reason when the metric cannot run here.
    """
    info = semfidelity.metric_info(name)
    options = info["options"]
    if not info["weights"]:
        return {}, ""
    key = next((k for k in RANDOM_WEIGHT_OPTIONS if k in options), None)
    if key is None and all(get_entry(w).bundled for w in info["weights"]):
        # niqe: only parameters that ship inside the package; nothing to randomise or cache.
        return {}, "real (bundled) parameters"
    if key is None and all(find_local(get_entry(w)) for w in info["weights"]):
        # text_fidelity / face_identity: their real weights come with their pip extras.
        opts = {"cache": False} if "cache" in options else {}
        return opts, "real weights (installed locally)" + (", no result cache" if opts else "")
    if key is None:
        raise RuntimeError(
            f"needs pretrained weights {info['weights']} and has no random-weights option"
        )
    opts: dict[str, Any] = {key: "random"}
    special = SPECIAL_BUILDERS.get(name)
    if special is not None:
        opts.update(special(tmpdir))
    return opts, "timing only (full-size architecture, random weights)"


def _clu_decoder(tmpdir: Path) -> dict[str, Any]:
    """A randomly initialised CLU decoder for the default backbone, saved with the library's API."""
    from semfidelity.metrics import clu

    config = {"backbone": "imagenet", "depth": 4}
    channels = clu.build_resnet_features(config["backbone"], config["depth"], "random").channels
    path = clu.save_decoder(clu.CLUDecoder(channels), tmpdir / "decoder.safetensors", config=config)
    return {"decoder": str(path)}


SPECIAL_BUILDERS: dict[str, Callable[[Path], dict[str, Any]]] = {"clu": _clu_decoder}


def build_ours(name: str, device: torch.device, amp: bool, tmpdir: Path) -> Impl:
    opts, note = metric_build_options(name, tmpdir)
    metric = semfidelity.create_metric(name, device=device, **opts)
    use_amp = amp and device.type == "cuda" and metric.spec.amp_safe
    if use_amp:
        note = "; ".join(filter(None, [note, "autocast fp16 (statistics float32)"]))
    return Impl(name, OURS, metric, "ours", note, use_amp, metric.spec.min_size)


# --------------------------------------------------------------------------- measuring
def make_inputs(size: int, batch: int, device: torch.device, seed: int) -> tuple[torch.Tensor, ...]:
    """A reference batch and a noisy prediction of it, float32 NCHW in [0, 1]."""
    g = torch.Generator().manual_seed(seed + 1000 * size + batch)
    target = torch.rand(batch, 3, size, size, generator=g)
    pred = (target + 0.05 * torch.randn(target.shape, generator=g)).clamp_(0.0, 1.0)
    return pred.to(device), target.to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _call(impl: Impl, pred: torch.Tensor, target: torch.Tensor, device: torch.device) -> None:
    ctx = torch.autocast("cuda", dtype=torch.float16) if impl.amp else contextlib.nullcontext()
    with torch.no_grad(), ctx:
        impl.fn(pred, target)
    _sync(device)


def measure_cell(
    impls: list[Impl],
    size: int,
    batch: int,
    device: torch.device,
    repeats: int,
    max_cell_s: float,
    seed: int,
    cost: dict[tuple[str, str], float] | None = None,
    max_call_s: float = math.inf,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Time every implementation on the same inputs; returns (rows, skipped).

    ``cost`` maps ``(metric, impl)`` to the seconds per pair-pixel measured in an earlier cell;
    an implementation predicted to need more than ``max_call_s`` for one call is skipped (a slow
    per-image peer at 1024x1024, batch 32 would otherwise take many minutes). It is updated.
    """
    cost = {} if cost is None else cost
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    pred, target = make_inputs(size, batch, device, seed)
    live: list[tuple[Impl, dict[str, Any]]] = []
    for impl in impls:
        base = {
            "metric": impl.metric,
            "impl": impl.name,
            "kind": impl.kind,
            "size": size,
            "batch": batch,
        }
        if size < impl.min_size:
            skipped.append({**base, "reason": f"min_size {impl.min_size}"})
            continue
        predicted = cost.get((impl.metric, impl.name), 0.0) * batch * size * size
        if predicted > max_call_s:
            reason = f"predicted {predicted:.0f} s per call > --max-call-seconds {max_call_s:g}"
            skipped.append({**base, "reason": reason})
            continue
        try:
            with peak_memory(device) as mem:  # warm-up call: excluded from timing
                t0 = time.perf_counter()
                _call(impl, pred, target, device)
                warm = time.perf_counter() - t0
        except (RuntimeError, MemoryError, ValueError) as exc:
            if device.type == "cuda":
                torch.cuda.empty_cache()
            skipped.append({**base, "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"})
            continue
        live.append((impl, {**base, "warmup_s": warm, **mem, "times": [], "cpu_times": []}))
    if not live:
        return rows, skipped
    total_warm = sum(r["warmup_s"] for _, r in live)
    n = max(1, min(repeats, int(max_cell_s // max(total_warm, 1e-9))))
    for _ in range(n):  # round-robin: load changes hit every implementation alike
        for impl, row in live:
            t0, c0 = time.perf_counter(), time.process_time()
            _call(impl, pred, target, device)
            row["times"].append(time.perf_counter() - t0)
            row["cpu_times"].append(time.process_time() - c0)
    for impl, row in live:
        lat = statistics.median(row["times"])
        cost[(impl.metric, impl.name)] = lat / (batch * size * size)
        row.update(
            latency_ms=lat * 1e3,
            pairs_per_s=batch / lat,
            cpu_ms=statistics.median(row["cpu_times"]) * 1e3,
            repeats=len(row["times"]),
            dtype="float32+autocast(fp16)" if impl.amp else "float32",
            note=impl.note,
        )
        row["times"] = [round(t * 1e3, 3) for t in row["times"]]
        row["cpu_times"] = [round(t * 1e3, 3) for t in row["cpu_times"]]
        rows.append(row)
    del pred, target
    return rows, skipped


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """``vs_fastest_peer``: throughput / throughput of the fastest peer in the same cell;
    ``cpu_vs_fastest_peer``: the same with process CPU time per call instead of wall time (less
    sensitive to waiting on a loaded machine)."""
    cells: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["metric"], r["size"], r["batch"]), []).append(r)
    for cell in cells.values():
        peer_rates = [r["pairs_per_s"] for r in cell if r["kind"] == "peer"]
        best = max(peer_rates) if peer_rates else None
        peer_cpu = [r["cpu_ms"] for r in cell if r["kind"] == "peer" and r["cpu_ms"] > 0]
        best_cpu = min(peer_cpu) if peer_cpu else None
        for r in cell:
            r["vs_fastest_peer"] = r["pairs_per_s"] / best if best else None
            ok = best_cpu and r["cpu_ms"] > 0
            r["cpu_vs_fastest_peer"] = best_cpu / r["cpu_ms"] if ok else None


def missed_cpu_target(rows: list[dict[str, Any]], metric: str) -> bool:
    """True when ``metric`` was measured at the CPU target cell and is below its goal."""
    size, batch = CPU_TARGET_CELL
    cell = [r for r in rows if (r["metric"], r["size"], r["batch"]) == (metric, size, batch)]
    peers = [r["pairs_per_s"] for r in cell if r["kind"] == "peer"]
    ours = [r["pairs_per_s"] for r in cell if r["kind"] == "ours"]
    return bool(peers and ours) and ours[0] < CPU_RATIO_TARGETS[metric] * max(peers)


def profile_call(
    impl: Impl, size: int, batch: int, device: torch.device, seed: int, top: int = 8
) -> dict[str, Any]:
    """torch.profiler of one call (after a warm-up): the operators with most self time."""
    from torch.profiler import ProfilerActivity, profile

    pred, target = make_inputs(size, batch, device, seed)
    _call(impl, pred, target, device)
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        _call(impl, pred, target, device)
    wall = time.perf_counter() - t0
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return {
        "cell": f"{size}x{size} batch {batch}",
        "wall_ms": wall * 1e3,
        "top": [
            {
                "op": e.key,
                "calls": e.count,
                "self_cpu_ms": e.self_cpu_time_total / 1e3,
                "share": e.self_cpu_time_total / total,
            }
            for e in events[:top]
        ],
    }


def evaluate_targets(rows: list[dict[str, Any]], device: torch.device) -> list[dict[str, Any]]:
    """The issue's acceptance targets that this run can decide."""
    out = []
    if device.type == "cpu":
        size, batch = CPU_TARGET_CELL
        for metric, goal in CPU_RATIO_TARGETS.items():
            mine = [
                r
                for r in rows
                if (r["metric"], r["kind"], r["size"], r["batch"]) == (metric, "ours", size, batch)
            ]
            if not mine or mine[0]["vs_fastest_peer"] is None:
                continue
            peers = [
                r
                for r in rows
                if (r["metric"], r["kind"], r["size"], r["batch"]) == (metric, "peer", size, batch)
            ]
            fastest = max(peers, key=lambda r: r["pairs_per_s"])
            out.append(
                {
                    "metric": metric,
                    "cell": f"{size}x{size} batch {batch}",
                    "target": f">= {goal}x fastest peer",
                    "ours_pairs_per_s": mine[0]["pairs_per_s"],
                    "fastest_peer": fastest["impl"],
                    "peer_pairs_per_s": fastest["pairs_per_s"],
                    "value": mine[0]["vs_fastest_peer"],
                    "cpu_value": mine[0]["cpu_vs_fastest_peer"],
                    "met": mine[0]["vs_fastest_peer"] >= goal,
                }
            )
    else:
        for metric, goal in CUDA_THROUGHPUT_TARGETS.items():
            mine = [
                r
                for r in rows
                if r["metric"] == metric and r["kind"] == "ours" and r["size"] == 512
            ]
            if not mine:
                continue
            best = max(mine, key=lambda r: r["pairs_per_s"])
            out.append(
                {
                    "metric": metric,
                    "cell": f"512x512 batch {best['batch']}",
                    "target": f">= {goal:g} pairs/s",
                    "ours_pairs_per_s": best["pairs_per_s"],
                    "value": best["pairs_per_s"],
                    "met": best["pairs_per_s"] >= goal,
                }
            )
    return out


def fits_memory(size: int, batch: int, device: torch.device, fraction: float) -> bool:
    need = 2 * batch * 3 * size * size * 4 * MEMORY_FACTOR
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return need <= fraction * free
    try:
        import psutil

        avail = psutil.virtual_memory().available
    except ImportError:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return need <= fraction * avail


# --------------------------------------------------------------------------- reporting
def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def render_markdown(result: dict[str, Any]) -> str:
    """Machine header, the target table and one full table of every measured row."""
    m = result["machine"]
    s = result["settings"]
    load = m.get("loadavg")
    lines = [
        f"Run {result['date']} on `{m['device']}`"
        + (f" ({m['gpu']}, CUDA {m['cuda']})" if "gpu" in m else "")
        + f": {m['cpu_model']}, {m['logical_cpus']} logical CPUs, torch {m['torch']} with "
        f"{m['torch_threads']} threads, dtype {m['dtype']}"
        + (f", load average at start {load[0]} / {load[1]} / {load[2]}" if load else "")
        + (f", at end {result['loadavg_end'][0]}" if result.get("loadavg_end") else "")
        + "".join(f", {k}={v}" for k, v in m.get("env", {}).items())
        + ".",
        "",
        f"Median of up to {s['repeats']} timed calls per cell after one warm-up call (fewer when "
        f"a cell would exceed {s['max_cell_s']:g} s); implementations interleaved round-robin on "
        "the same inputs. Memory: peak above the pre-call baseline ("
        + (
            "`torch.cuda.max_memory_allocated`"
            if m["device"].startswith("cuda")
            else "process RSS sampled every 2 ms"
        )
        + "). `× peer` = throughput / fastest peer in the same cell; `CPU ms` = process CPU "
        "time per call (all threads) and `× peer (CPU)` the same ratio on CPU time, which "
        "waiting on a loaded machine distorts less.",
        "",
    ]
    if result["targets"]:
        lines += [
            "| target | cell | semfidelity pairs/s | fastest peer | peer pairs/s | × peer "
            "| × peer (CPU time) | met |",
            "|---|---|---:|---|---:|---:|---:|---|",
        ]
        for t in result["targets"]:
            lines.append(
                f"| `{t['metric']}` {t['target']} | {t['cell']} | {_fmt(t['ours_pairs_per_s'])} | "
                f"{t.get('fastest_peer', '—')} | {_fmt(t.get('peer_pairs_per_s'))} | "
                f"{_fmt(t['value'])} | {_fmt(t.get('cpu_value'))} | "
                f"{'yes' if t['met'] else '**no**'} |"
            )
        lines.append("")
    lines += [
        "| metric | implementation | size | batch | pairs/s | latency ms | CPU ms | mem MB "
        "| × peer | × peer (CPU) | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = {name: i for i, name in enumerate(result["settings"]["metrics"])}
    rows = sorted(
        result["results"],
        key=lambda r: (
            order.get(r["metric"], 99),
            r["size"],
            r["batch"],
            r["kind"] != "ours",
            -r["pairs_per_s"],
        ),
    )
    for r in rows:
        impl = f"**{r['impl']}**" if r["kind"] == "ours" else r["impl"]
        lines.append(
            f"| `{r['metric']}` | {impl} | {r['size']} | {r['batch']} | {_fmt(r['pairs_per_s'])} | "
            f"{_fmt(r['latency_ms'])} | {_fmt(r['cpu_ms'])} | {_fmt(r['mem_mb'])} | "
            f"{_fmt(r['vs_fastest_peer'], 2)} | {_fmt(r['cpu_vs_fastest_peer'], 2)} | {r['note']} |"
        )
    for metric, prof in result.get("profiles", {}).items():
        ops = ", ".join(f"`{op['op']}` {op['share']:.0%} ({op['calls']}x)" for op in prof["top"])
        lines += [
            "",
            f"Profile of `{metric}` (target missed; torch.profiler, one call at {prof['cell']}, "
            f"{prof['wall_ms']:.0f} ms under the profiler), self CPU time: {ops}.",
        ]
    if result["skipped"]:
        lines += ["", "Not measured:", ""]
        for k in result["skipped"]:
            where = f" {k['size']}x{k['size']} batch {k['batch']}" if "size" in k else ""
            lines.append(f"- `{k['metric']}` {k.get('impl', OURS)}{where}: {k['reason']}")
    return "\n".join(lines) + "\n"


def update_readme(path: Path, device_type: str, markdown: str) -> None:
    """Replace the text between ``<!-- bench:<device>:start/end -->`` markers in ``path``."""
    start, end = f"<!-- bench:{device_type}:start -->", f"<!-- bench:{device_type}:end -->"
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"--readme: {path} has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{markdown}{end}{tail}", encoding="utf-8")


# --------------------------------------------------------------------------- main
def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        msg = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--metrics",
        default="all",
        help="comma-separated metric names or 'all' (default: every registered one)",
    )
    p.add_argument("--sizes", type=_int_list, default=None, help="square sizes (256,512,1024)")
    p.add_argument("--batches", type=_int_list, default=None, help="batch sizes (1,8,32)")
    p.add_argument(
        "--heavy-sizes",
        type=_int_list,
        default=None,
        help="sizes for metrics that need weights (default 256,512)",
    )
    p.add_argument(
        "--heavy-batches",
        type=_int_list,
        default=None,
        help="batches for metrics that need weights (default 1,8)",
    )
    p.add_argument("--repeats", type=int, default=5, help="timed calls per cell (median taken)")
    p.add_argument(
        "--max-cell-seconds",
        type=float,
        default=30.0,
        help="fewer repeats when one cell (all implementations) would take longer",
    )
    p.add_argument(
        "--max-call-seconds",
        type=float,
        default=20.0,
        help="skip an implementation predicted (from the previous cell) to take longer per call",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads on CPU (2)")
    p.add_argument("--no-peers", action="store_true", help="measure semfidelity only")
    p.add_argument(
        "--no-profile", action="store_true", help="do not profile metrics that miss a CPU target"
    )
    p.add_argument(
        "--peers",
        default="all",
        help="comma-separated peer names to run (first word: piq, torchmetrics, "
        "kornia, pyiqa, naive, ptwt, lpips) or 'all'",
    )
    p.add_argument(
        "--no-amp",
        action="store_true",
        help="on CUDA, do not use autocast for metrics declared amp_safe",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="sizes 256,512, batches 1,8, 3 repeats, heavy metrics at 256 batch 1,8",
    )
    p.add_argument(
        "--memory-fraction",
        type=float,
        default=0.5,
        help="skip cells whose estimated memory exceeds this share of free memory",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="also write the Markdown table between bench markers in this file",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = args.sizes or [256, 512]
        args.batches = args.batches or [1, 8]
        args.heavy_sizes = args.heavy_sizes or [256]
        args.repeats = min(args.repeats, 3)
    args.sizes = args.sizes or list(DEFAULT_SIZES)
    args.batches = args.batches or list(DEFAULT_BATCHES)
    args.heavy_sizes = args.heavy_sizes or [s for s in HEAVY_SIZES if s in args.sizes] or args.sizes
    args.heavy_batches = (
        args.heavy_batches or [b for b in HEAVY_BATCHES if b in args.batches] or args.batches
    )
    if args.repeats < 1:
        p.error(f"--repeats: expected >= 1, got {args.repeats}")
    return args


def select_metrics(spec: str) -> list[str]:
    available = semfidelity.list_metrics()
    if spec == "all":
        return available
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"--metrics: unknown {unknown}; registered: {', '.join(available)}")
    return names


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    metrics = select_metrics(args.metrics)
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(device),
        "settings": {
            "metrics": metrics,
            "sizes": args.sizes,
            "batches": args.batches,
            "heavy_sizes": args.heavy_sizes,
            "heavy_batches": args.heavy_batches,
            "repeats": args.repeats,
            "max_cell_s": args.max_cell_seconds,
            "max_call_s": args.max_call_seconds,
            "peers": not args.no_peers,
            "amp": device.type == "cuda" and not args.no_amp,
            "seed": args.seed,
            "warmup_calls": 1,
        },
        "results": [],
        "skipped": [],
    }
    with tempfile.TemporaryDirectory(prefix="semfid-bench-") as tmp:
        for name in metrics:
            print(f"[bench] {name}", file=sys.stderr, flush=True)
            try:
                impls = [build_ours(name, device, not args.no_amp, Path(tmp))]
            except Exception as exc:  # any build failure is reported, not fatal
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                result["skipped"].append({"metric": name, "impl": OURS, "reason": reason})
                continue
            if not args.no_peers:
                options = {**semfidelity.metric_info(name)["options"]}
                found, missing = peers_mod.get_peers(name, device, options, args.peers)
                impls += [
                    Impl(name, p.name, p.fn, "peer", p.note, False, p.min_size) for p in found
                ]
                result["skipped"] += [
                    {"metric": name, "impl": n, "reason": why} for n, why in missing
                ]
            heavy = bool(semfidelity.metric_info(name)["weights"])
            sizes = args.heavy_sizes if heavy else args.sizes
            batches = args.heavy_batches if heavy else args.batches
            cost: dict[tuple[str, str], float] = {}
            for size in sizes:
                for batch in batches:
                    if not fits_memory(size, batch, device, args.memory_fraction):
                        result["skipped"].append(
                            {
                                "metric": name,
                                "impl": "all",
                                "size": size,
                                "batch": batch,
                                "reason": "estimated memory too large",
                            }
                        )
                        continue
                    rows, skipped = measure_cell(
                        impls,
                        size,
                        batch,
                        device,
                        args.repeats,
                        args.max_cell_seconds,
                        args.seed,
                        cost,
                        args.max_call_seconds,
                    )
                    result["results"] += rows
                    result["skipped"] += skipped
                    for r in rows:
                        print(
                            f"[bench]   {name:10s} {r['impl']:28s} {size:5d} x{batch:<3d} "
                            f"{r['pairs_per_s']:10.2f} pairs/s",
                            file=sys.stderr,
                            flush=True,
                        )
            if device.type == "cpu" and name in CPU_RATIO_TARGETS and not args.no_profile:
                size, batch = CPU_TARGET_CELL
                if missed_cpu_target(result["results"], name):
                    result.setdefault("profiles", {})[name] = profile_call(
                        impls[0], size, batch, device, args.seed
                    )
            del impls
    add_ratios(result["results"])
    result["targets"] = evaluate_targets(result["results"], device)
    with contextlib.suppress(OSError, AttributeError):
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def write_outputs(result: dict[str, Any], out_dir: Path, readme: Path | None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    device_type = result["machine"]["device"].split(":")[0]
    stem = f"{device_type}-{result['date'][:10]}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    markdown = render_markdown(result)
    json_path.write_text(
        json.dumps(result, indent=1, default=_json_default) + "\n", encoding="utf-8"
    )
    md_path.write_text(markdown, encoding="utf-8")
    if readme is not None:
        update_readme(readme, device_type, markdown)
    return json_path, md_path


def _json_default(obj: object) -> object:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threads = torch.get_num_threads()
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("[bench] interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    finally:  # in-process callers (the smoke test) keep their thread setting
        torch.set_num_threads(threads)
    json_path, md_path = write_outputs(result, args.out_dir, args.readme)
    print(render_markdown(result))
    print(f"[bench] wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
