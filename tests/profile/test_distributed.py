"""Collectives and data-parallel steps over 2 CPU processes on gloo, launched by dcplan profile --nproc."""

from dcplan.io.profile import read_profile


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
