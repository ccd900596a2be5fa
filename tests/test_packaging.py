"""A normal install works: the built wheel (not an editable install) runs from any folder.

The wheel is built with pip as a user would (``pip wheel --no-deps``), installed into a
temporary ``--target``, and dcplan is run from another, empty folder with that target first on
the path: the catalogs, scenarios, sample workloads and shipped profiles must all come from
inside the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (base / "dist").glob("dcplan-*.whl")
    target = base / "site"
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr[-3000:]
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCPLAN_")}
    env["PYTHONPATH"] = str(target)

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=timeout)

    return wheel, target, run


@pytest.mark.slow
def test_wheel_holds_the_data_and_the_shipped_profiles(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for tracked in subprocess.run(["git", "ls-files", "data", "profiles"], cwd=ROOT, capture_output=True, text=True).stdout.split():
        packaged = tracked.replace("data/", "dcplan/data/", 1).replace("profiles/", "dcplan/shipped_profiles/", 1)
        assert packaged in names, f"{tracked} is not in the wheel"
    assert "dashboards/assets/style.css" in names
    assert "dcplan/i18n/locale/zh/LC_MESSAGES/dcplan.mo" in names  # the compiled Chinese catalog


@pytest.mark.slow
def test_installed_dcplan_runs_from_another_folder(installed):
    _, target, run = installed
    where = run("-c", "import dcplan, dcplan.io.resources as r; print(dcplan.__file__); print(r.data_dir()); print(r.shipped_profiles_dir())")
    assert where.returncode == 0, where.stderr
    code, data, profiles = where.stdout.split()
    for p in (code, data, profiles):  # the installed copy, never the source tree
        assert Path(p).is_relative_to(target), p

    models = run("-m", "dcplan", "models", "list", "--json")
    assert models.returncode == 0, models.stderr[-2000:]
    assert "llama-3.1-405b" in models.stdout

    est = run("-m", "dcplan", "estimate", "train", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--tokens", "1T",
              "--gpus", "64", "--json")
    assert est.returncode == 0, est.stderr[-2000:]
    assert json.loads(est.stdout)["wall_clock_days"] > 0

    plan = run("-m", "dcplan", "plan", "portfolio", "--json")
    assert plan.returncode == 0, plan.stderr[-2000:]
    doc = json.loads(plan.stdout)
    assert doc["workload"] == "portfolio" and doc["options"]

    zh = run("-c", "from dcplan.i18n import translator; print(translator('zh')('Executive summary'))")
    assert zh.returncode == 0 and zh.stdout.strip() == "执行摘要", zh.stderr[-2000:]

    fc = run("-m", "dcplan", "forecast", "--samples", "500", "--json")
    assert fc.returncode == 0, fc.stderr[-2000:]
    assert json.loads(fc.stdout)["scenario"]["name"] == "base"
