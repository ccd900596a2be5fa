"""Held-out splits never leak the points they test."""

import pytest

from dcplan.calibrate import heldout as H
from dcplan.calibrate.profile_fit import calibrate_profile
from tests.calibrate import synthetic as S


@pytest.mark.parametrize("n", [3, 7, 24])
def test_leave_one_out_never_leaks(n):
    splits = H.leave_one_out(n)
    assert len(splits) == n
    for s in splits:
        assert len(s.test) == 1 and not set(s.train) & set(s.test)
        assert sorted(s.train + s.test) == list(range(n))


def test_largest_k_holds_out_the_largest():
    sizes = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 10.0]
    s = H.largest_k(sizes)
    assert len(s.test) == 2 and {sizes[i] for i in s.test} == {9.0, 10.0}
    assert not set(s.train) & set(s.test)
    assert max(sizes[i] for i in s.train) < min(sizes[i] for i in s.test)
    assert len(H.largest_k(sizes, 4).test) == 4


def test_refits_only_see_their_training_points():
    """Every refit receives exactly the split's training points: recorded through the refit callable."""
    pc = calibrate_profile(S.profile(noise=0.01), "synthetic")
    assert {p.split for p in pc.heldout["train"].points} == {"leave-one-out", "leave-largest-2-out"}
    seen = []
    from dcplan.calibrate.predict import case

    train_cases = [case(m) for m in pc.profile.of_kind("train")]

    def refit(subset):
        seen.append({c.m.id for c in subset})
        return pc.calibration

    result = H.evaluate("train", train_cases, refit, lambda c, cal: c.m.time, measure=lambda c: c.m.time, size=lambda c: c.size)
    tested = [p for p in result.points if p.split == "leave-one-out"]
    for ids, point in zip(seen, tested, strict=False):
        assert point.id not in ids
    largest = [p.id for p in result.points if p.split.startswith("leave-largest")]
    assert not set(largest) & seen[-1]
