"""Collectives and data-parallel steps over 2 CPU processes on gloo, launched by dcplan profile --nproc."""

from pathlib import Path

import pytest

from dcplan.io.profile import read_profile

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_gloo_profile(run_cli, tmp_path):
    r = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--threads", "1", "--nproc", "2", "--out", str(tmp_path),
                "--name", "dist", timeout=600)
    assert r.returncode == 0, r.stderr
    prof = read_profile(tmp_path / "dist.json")
    assert "distributed_error" not in prof.environment
    coll = prof.of_kind("collective")
    assert {m.config["op"] for m in coll} == {"all_reduce", "all_gather", "reduce_scatter"}
    assert {m.config["nbytes"] for m in coll} == {4096, 256 * 1024}
    for m in coll:
        assert m.config["world_size"] == 2 and m.config["backend"] == "gloo"
        assert m.config["busbw_bytes_per_s"] > 0 and m.time_s.estimate > 0
    dp = [m for m in prof.of_kind("train") if m.config.get("world_size") == 2]
    assert {m.config["grad_sync"] for m in dp} == {True, False}
    assert all(m.tokens == 2 * m.config["batch"] * m.config["seq_len"] for m in dp)
    single = [m for m in prof.of_kind("train") if m.config.get("world_size", 1) == 1]
    assert len(single) == 3  # the single-device sweep ran too


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_torchrun_nodes_on_one_machine(tmp_path):
    """Two torchrun agents (--nnodes 2, c10d rendezvous on 127.0.0.1), 2 gloo ranks each: world size 4 over node ranks 0 and 1."""
    import os
    import subprocess
    import sys

    port = _free_port()
    out = tmp_path / "cluster.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    agents = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "2", "--node_rank", str(node),
                                "--rdzv_backend", "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", "dcplan-test", "--max_restarts", "0",
                                "-m", "dcplan.profile.distributed", "--sweep", "tiny", "--device", "cpu", "--out", str(out)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for node in (0, 1)]
    logs = []
    try:
        for a in agents:
            logs.append(a.communicate(timeout=600)[0])
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
    assert all(a.returncode == 0 for a in agents), "\n".join(x[-2000:] for x in logs)
    prof = read_profile(out)
    coll = prof.of_kind("collective")
    assert {m.config["op"] for m in coll} == {"all_reduce", "all_gather", "reduce_scatter"}
    for m in coll:
        assert m.config["world_size"] == 4 and m.config["backend"] == "gloo"
        assert m.config["nnodes"] == 2 and m.config["node_ranks"] == [0, 1] and m.config["ranks_per_node"] == 2
        assert m.config["busbw_bytes_per_s"] > 0
    dp = prof.of_kind("train")
    assert dp and all(m.config["world_size"] == 4 and m.config["node_ranks"] == [0, 1] for m in dp)
    assert all(m.tokens == 4 * m.config["batch"] * m.config["seq_len"] for m in dp)
