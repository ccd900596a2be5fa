"""Print this machine's hardware fingerprint as JSON (``python -m dcplan.profile.fingerprint``).

``dcplan run`` calls this in a child process (it imports torch) to find a profile of this
machine to reuse; the fingerprint is built from the same device and environment records that
``dcplan profile`` writes, so a profile always matches the machine that measured it.
"""

from __future__ import annotations

import argparse
import json

from dcplan.io.machine import fingerprint
from dcplan.profile import environment


def this_machine(device_spec: str = "auto") -> dict:
    device = environment.resolve_device(device_spec)
    info = environment.device_info(device, environment.best_precision(device), threads=1)
    return fingerprint(info.to_dict(), environment.environment(device, None)).to_dict()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dcplan.profile.fingerprint")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    print(json.dumps(this_machine(args.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
