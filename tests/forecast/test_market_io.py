"""Market data files: read once, re-read when they change (as scenario files are)."""

from __future__ import annotations

import os

import pytest

from dcplan.errors import InputError
from dcplan.io import market


@pytest.fixture
def market_copy(tmp_path, monkeypatch):
    import shutil

    from dcplan.io.catalog import data_dir

    shutil.copytree(data_dir() / "market", tmp_path / "market")
    monkeypatch.setattr(market, "data_dir", lambda: tmp_path)
    return tmp_path / "market"


def test_caches_follow_file_changes(market_copy):
    first = market.read_observations()
    assert market.read_observations() is first  # cached while the file is unchanged
    path = market_copy / "observations.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write('energy_twh,world,2031,1000,,,published,"test row",like-for-like,check,C,"test",\n')
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    again = market.read_observations()
    assert len(again) == len(first) + 1 and again[-1].label == "test row"
    spend = market.read_spend_history()
    p = market_copy / "accelerator_spend.csv"
    p.write_text(p.read_text().replace("2.93e9", "3.00e9"))
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert market.read_spend_history().gpu_spend_usd[1] == 3.0e9 != spend.gpu_spend_usd[1]


def test_bad_role_is_named(market_copy):
    path = market_copy / "observations.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write('energy_twh,world,2031,1000,,,published,"x",like-for-like,maybe,C,"t",\n')
    with pytest.raises(InputError, match="role"):
        market.read_observations()
