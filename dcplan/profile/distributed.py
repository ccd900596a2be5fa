"""Collectives and data-parallel scaling, measured with torch.distributed under torchrun.

Run by ``dcplan profile --nproc N`` (which launches
``python -m torch.distributed.run --standalone --nproc_per_node N -m dcplan.profile.distributed``)
or directly under ``torchrun``, on one node or several (``--nnodes M`` with a c10d rendezvous:
docs/profile-and-calibrate.md, "A cluster"). Backend: NCCL on GPUs (one GPU per rank,
``LOCAL_RANK``), gloo on CPUs (``cores // local ranks`` threads per rank). Every measurement
names the nodes it spanned (``nnodes``, ``node_ranks``, ``ranks_per_node``).

- Collectives (all-reduce, all-gather, reduce-scatter) by message size, in the NCCL-tests
  convention (``doc/PERFORMANCE.md``): ``nbytes`` is the full buffer (all-reduce tensor,
  all-gather output, reduce-scatter input); algorithm bandwidth = nbytes / time, bus
  bandwidth = algbw x 2(n−1)/n (all-reduce) or (n−1)/n (the others).
- Data-parallel train steps (DistributedDataParallel, the same micro-batch on every rank) with
  gradient synchronisation and without it (``no_sync``): their ratio is the scaling
  efficiency lost to the gradient all-reduce.

Each sample: barrier (untimed), then ``inner`` operations between two device
synchronisations, then the slowest rank's time (an all-reduce MAX, untimed); sizes are visited
in the same random order on every rank, sweep after sweep (dcplan.profile.timing's method).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist

from dcplan.profile import grids
from dcplan.profile.flops import train_flops
from dcplan.profile.result import Measurement
from dcplan.profile.sweep import transformer_config
from dcplan.profile.timing import summarize
from dcplan.profile.transformer import build, lm_loss

COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter")
BUS_FACTOR: dict[str, Callable[[int], float]] = {
    "all_reduce": lambda n: 2.0 * (n - 1) / n,
    "all_gather": lambda n: (n - 1) / n,
    "reduce_scatter": lambda n: (n - 1) / n,
}


def under_torchrun() -> bool:
    """True inside a torchrun-launched process group of more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init(device_type: str) -> tuple[torch.device, str]:
    """Join the process group; (this rank's device, backend)."""
    if device_type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
        local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))  # the ranks sharing this host
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return device, backend


def topology() -> dict[str, Any]:
    """Where the ranks run: nodes (torchrun's ``GROUP_RANK`` of every rank, gathered) and ranks per node.

    Collective on the process group: every rank calls it. On one host ``--standalone`` gives one
    node; ``--nnodes 2`` gives node ranks [0, 1] even when both "nodes" share a machine.
    """
    mine = (int(os.environ.get("GROUP_RANK", "0")), int(os.environ.get("LOCAL_WORLD_SIZE", str(dist.get_world_size()))))
    every: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(every, mine)
    nodes = sorted({node for node, _ in every})
    return {"nnodes": len(nodes), "node_ranks": nodes, "ranks_per_node": max(local for _, local in every)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _slowest(dt: float, device: torch.device) -> float:
    t = torch.tensor([dt], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def _sample(op: Callable[[], Any], device: torch.device, inner: int) -> float:
    dist.barrier()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(inner):
        op()
    _sync(device)
    return _slowest((time.perf_counter() - t0) / inner, device)


def _collective_op(name: str, nbytes: int, device: torch.device, world: int) -> Callable[[], Any]:
    n = max(world, nbytes // 4 // world * world)
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    scatter = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor
    if name == "all_reduce":
        buf = torch.ones(n, device=device)
        return lambda: dist.all_reduce(buf)
    if name == "all_gather":
        out, part = torch.empty(n, device=device), torch.ones(n // world, device=device)
        return lambda: gather(out, part)
    full, part = torch.ones(n, device=device), torch.empty(n // world, device=device)
    return lambda: scatter(part, full)


def _timed(ops: dict[Any, Callable[[], Any]], device: torch.device, g: grids.Grid, seed: int) -> dict[Any, list[list[float]]]:
    """Interleaved sweeps over ``ops`` (same order on all ranks); samples by key, by sweep."""
    inner: dict[Any, int] = {}
    for key, op in ops.items():
        for _ in range(g.warmup):
            op()
        t = _sample(op, device, 1)
        inner[key] = 1 if t >= g.min_sample_s else int(min(1000, math.ceil(g.min_sample_s / max(t, 1e-7))))
    rng = random.Random(seed)
    blocks: dict[Any, list[list[float]]] = {k: [] for k in ops}
    keys = list(ops)
    for _ in range(g.timing.sweeps):
        rng.shuffle(keys)
        for key in keys:
            blocks[key].append([_sample(ops[key], device, inner[key]) for _ in range(g.timing.reps)])
    return blocks


def measure_collectives(g: grids.Grid, device: torch.device, backend: str, seed: int = 0) -> list[Measurement]:
    world = dist.get_world_size()
    where = topology()
    ops = {(name, b): _collective_op(name, b, device, world) for name in COLLECTIVES for b in g.collective_bytes}
    blocks = _timed(ops, device, g, seed)
    out = []
    for i, ((name, nbytes), bl) in enumerate(sorted(blocks.items())):
        stats = summarize(bl, threshold=g.timing.threshold)
        algbw = nbytes / stats.estimate
        out.append(Measurement(
            id=f"collective-{i + 1:03d}", kind="collective",
            config={"op": name, "nbytes": nbytes, "world_size": world, "backend": backend, **where,
                    "algbw_bytes_per_s": algbw, "busbw_bytes_per_s": algbw * BUS_FACTOR[name](world)},
            time_s=stats, bytes=float(nbytes)))
    return out


def measure_dp_train(g: grids.Grid, device: torch.device, backend: str, precision: str, seed: int = 0) -> list[Measurement]:
    """DDP train steps of each ``g.dp_train`` shape with and without gradient sync."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    from dcplan.profile.workloads import Ctx

    world, ctx = dist.get_world_size(), Ctx(device, precision)
    where = topology()
    out, ops, meta, keep = [], {}, {}, []
    for j, (shape, batch, seq) in enumerate(g.dp_train):
        cfg = transformer_config(shape, seq)
        torch.manual_seed(seed + j)
        model = DDP(build(cfg, device=device), device_ids=[device.index] if device.type == "cuda" else None)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        data = torch.randint(0, cfg.vocab_size, (batch, seq + 1), device=device)

        def step(model=model, opt=opt, data=data, sync=True):
            ctxm = model.no_sync() if not sync else _null()
            with ctxm:
                with ctx.autocast():
                    loss = lm_loss(model(data[:, :-1]), data[:, 1:])
                loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for sync in (True, False):
            ops[(j, sync)] = (lambda s=step, y=sync: s(sync=y))
            meta[(j, sync)] = (cfg, batch, seq)
        keep.append((model, opt, data))
    blocks = _timed(ops, device, g, seed)
    for i, ((j, sync), bl) in enumerate(sorted(blocks.items())):
        cfg, batch, seq = meta[(j, sync)]
        spec = cfg.model_spec()
        out.append(Measurement(
            id=f"train-dp-{i + 1:03d}", kind="train",
            config={"d_model": cfg.d_model, "n_layers": cfg.n_layers, "n_encoder_layers": 0, "n_heads": cfg.n_heads,
                    "n_kv_heads": cfg.kv_heads, "d_ff": cfg.ffn, "vocab_size": cfg.vocab_size, "batch": batch,
                    "seq_len": seq, "precision": precision, "world_size": world, "backend": backend, **where,
                    "parallel": "ddp", "grad_sync": sync, "threads_per_rank": torch.get_num_threads()},
            time_s=summarize(bl, threshold=g.timing.threshold),
            flops=world * train_flops(spec, batch, seq), tokens=float(world * batch * seq)))
    return out


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def measure_all(sweep: str, device_type: str, precision: str, seed: int = 0) -> list[Measurement] | None:
    """Every distributed measurement; the list on rank 0, None on the other ranks."""
    device, backend = init(device_type)
    g = grids.grid(sweep, device.type)
    try:
        found = measure_collectives(g, device, backend, seed) + measure_dp_train(g, device, backend, precision, seed)
    finally:
        dist.barrier()
        rank = dist.get_rank()
        dist.destroy_process_group()
    return found if rank == 0 else None


def launch(nproc: int, sweep: str, device_type: str, precision: str, seed: int = 0, timeout_s: float = 1800) -> list[Measurement]:
    """Run :func:`measure_all` in ``nproc`` processes through torchrun; rank 0's measurements.

    Raises RuntimeError with the tail of torchrun's output if it fails.
    """
    with tempfile.TemporaryDirectory(prefix="dcplan-dist-") as tmp:
        frag = Path(tmp) / "fragment.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "dcplan.profile.distributed", "--sweep", sweep, "--device", device_type, "--precision", precision,
               "--seed", str(seed), "--out", str(frag)]
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc)), "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
        if proc.returncode != 0 or not frag.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"torchrun with {nproc} processes failed (exit {proc.returncode}): {' | '.join(tail)}")
        from dcplan.io.profile import profile_from_dict

        data = json.loads(frag.read_text(encoding="utf-8"))
    return list(profile_from_dict(data, str(frag)).measurements)


def _fragment(measurements: list[Measurement], device_type: str, precision: str) -> dict[str, Any]:
    """A minimal profile document holding only the distributed measurements."""
    from dcplan.profile.result import DeviceInfo, Profile

    return Profile(name="distributed-fragment", created="fragment", device=DeviceInfo(type=device_type, name="fragment", precision=precision),
                   environment={}, settings={}, measurements=tuple(measurements)).to_dict()


def main(argv: list[str] | None = None) -> int:
    """Entry point under torchrun: measure, and on rank 0 write the fragment to --out."""
    ap = argparse.ArgumentParser(prog="python -m dcplan.profile.distributed")
    ap.add_argument("--sweep", default="quick", choices=grids.SWEEPS)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    found = measure_all(args.sweep, args.device, args.precision, args.seed)
    if found is not None:
        from dcplan.io.jsonout import write_json

        write_json(args.out, _fragment(found, args.device, args.precision))
    return 0


if __name__ == "__main__":
    sys.exit(main())
