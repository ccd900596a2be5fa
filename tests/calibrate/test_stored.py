"""A calibration file read back (no refit) is the calibration that was written: same predictions,
held-out errors and points, same figures; a profile edited since is not taken for it."""

import json

import pytest

from dcplan.calibrate.profile_fit import calibrate_profile
from dcplan.calibrate.stored import from_document
from dcplan.cli.calibrate_cmd import document
from dcplan.errors import InputError
from dcplan.figures.calibration import efficiency_curves, measured_vs_predicted
from dcplan.io.calibration import profile_of, read_calibration_document
from dcplan.io.jsonout import write_json
from dcplan.io.profile import read_profile, write_profile
from tests.calibrate import synthetic as S


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    import hashlib

    d = tmp_path_factory.mktemp("stored")
    path = write_profile(d / "synthetic.json", S.profile(noise=0.02, seed=3))
    pc = calibrate_profile(read_profile(path), str(path))
    cal_path = write_json(d / "synthetic.calibration.json", document(pc, str(path), hashlib.sha256(path.read_bytes()).hexdigest()))
    return pc, path, cal_path


def test_read_back_equals_what_was_fitted(written):
    pc, path, cal_path = written
    doc = read_calibration_document(cal_path)
    assert profile_of(doc) == path
    back = from_document(doc, read_profile(path), str(path))
    assert back.calibration == pc.calibration
    assert [(p.id, p.kind, p.predicted, p.roofline) for p in back.predictions] == [(p.id, p.kind, p.predicted, p.roofline) for p in pc.predictions]
    assert json.dumps(back.heldout_dict(), sort_keys=True) == json.dumps(json.loads(json.dumps(pc.heldout_dict())), sort_keys=True)
    for kind in pc.heldout:
        assert [(h.id, h.split, h.predicted) for h in back.heldout[kind].points] == [(h.id, h.split, h.predicted) for h in pc.heldout[kind].points]
    for kind in ("train", "decode", "memory"):
        assert measured_vs_predicted(back, kind).to_json() == measured_vs_predicted(pc, kind).to_json()
    assert efficiency_curves(back).to_json() == efficiency_curves(pc).to_json()


def test_an_edited_profile_is_not_its_calibrations_profile(written, tmp_path):
    _, path, cal_path = written
    doc = read_calibration_document(cal_path)
    copy = tmp_path / path.name
    copy.write_text(path.read_text().replace('"seed"', '"seed" ', 1) + " ")
    doc = {**doc, "profile": {**doc["profile"], "path": str(copy)}, "path": str(tmp_path / "x.calibration.json")}
    assert profile_of(doc) is None


def test_another_profile_is_refused(written):
    _, _, cal_path = written
    doc = read_calibration_document(cal_path)
    other = S.profile(noise=0.02, seed=3)
    first_train = next(m for m in other.measurements if m.kind == "train")
    other = type(other)(**{**other.__dict__, "measurements": tuple(m for m in other.measurements if m is not first_train)})
    with pytest.raises(InputError, match="not the profile it was fitted on"):
        from_document(doc, other)
