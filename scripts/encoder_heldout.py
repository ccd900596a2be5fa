"""Encoder-only points of a profile: measured time against dcplan's prediction, held out.

usage: python scripts/encoder_heldout.py PROFILE.json [--impl native|hf]

The profile is calibrated (``dcplan calibrate``'s fit; no parameter is fitted on encoder points,
so every prediction is out of sample) and each ``encoder`` measurement is predicted three ways:
with the encoder model (bidirectional attention, the masked-LM head where the step computes it,
no head in an embedding forward), as if the same shape were a causal decoder (what a
decoder-only model would have said: causal halving, the output layer on every position of a train
step, last-position logits in a forward), and at the roofline (every efficiency 1). ``--impl hf``
shows the transformers points as ``dcplan calibrate`` predicts them for ``heldout.hf``: from the
native fit, carried over by their dispatch counts.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

from dcplan.calibrate.predict import SPEED_OF_LIGHT, Case, _train, case, implementation_of, predict_time
from dcplan.calibrate.profile_fit import calibrate_profile
from dcplan.io.profile import read_profile
from dcplan.model import flops as F
from dcplan.model.params import count_params
from dcplan.model.time import prefill_time


def as_decoder_s(c: Case, hw, cal) -> float:
    """The point predicted as if its shape were a causal decoder-only model [s]."""
    dec = replace(c.spec, architecture="decoder", mlm_head=False, output_bias=False)
    cd = Case(m=c.m, spec=dec, counts=count_params(dec), precision=c.precision)
    b, s = int(c.cfg["batch"]), int(c.cfg["seq_len"])
    if c.cfg["mode"] == "train":
        return _train(cd, hw, cal, s, F.train_flops_per_token(dec, s) * s)
    return prefill_time(dec, cd.counts, hw, cal, tp=1, batch=b, prompt_len=s, precision=c.precision)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--impl", choices=("native", "hf"), default="native")
    args = ap.parse_args()
    prof = read_profile(args.profile)
    pc = calibrate_profile(prof, args.profile)
    hw, cal = pc.hardware, pc.calibration
    want = "native" if args.impl == "native" else "hf eager"
    cases = [case(m) for m in prof.of_kind("encoder") if implementation_of(m) == want]
    if args.impl == "hf":  # carried over from the native fit by dispatch counts, as dcplan calibrate reports it
        ratio = {p["id"]: p["ratio"] for p in (pc.heldout_hf or {}).get("points", []) if p["kind"] == "encoder"}
        predict = lambda c, k: ratio[c.m.id] * c.m.time  # noqa: E731
    else:
        predict = lambda c, k: predict_time(c, hw, k)  # noqa: E731
    print("| point | model | mode | batch x seq | measured | predicted (error) | as a causal decoder (error) | roofline |")
    print("|---|---|---|---|---|---|---|---|")
    errs, dec_errs = [], []
    for c in cases:
        m, cfg = c.m, c.cfg
        t, td = predict(c, cal), as_decoder_s(c, hw, cal)
        e, ed = t / m.time - 1, td / m.time - 1
        errs.append(abs(e))
        dec_errs.append(abs(ed))
        name = cfg.get("model") or f"d{cfg['d_model']} L{cfg['n_layers']}"
        print(f"| {m.id} | {name} | {cfg['mode']} | {cfg['batch']} x {cfg['seq_len']} | {m.time * 1e3:.1f} ms | {t * 1e3:.1f} ms ({e:+.1%}) | "
              f"{td * 1e3:.1f} ms ({ed:+.1%}) | {predict_time(c, hw, SPEED_OF_LIGHT) * 1e3:.1f} ms |")
    if errs:
        print(f"\nmedian |error| {statistics.median(errs):.1%} (max {max(errs):.1%}); as a causal decoder "
              f"{statistics.median(dec_errs):.1%} (max {max(dec_errs):.1%}); n = {len(errs)}")


if __name__ == "__main__":
    main()
