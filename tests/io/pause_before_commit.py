"""Run the dcplan CLI, pausing just before a file written under FOLDER gets its name.

usage: python pause_before_commit.py FOLDER dcplan-args...

The real command runs unchanged, except that ``os.fsync`` of a file inside FOLDER (the last
step before ``write_atomic`` links or renames it into place) prints ``PAUSED <path>`` on stderr
and sleeps, so that a test can kill the process at the worst moment for the file.
"""

import os
import sys
import time

folder = os.path.realpath(sys.argv[1])
_fsync = os.fsync


def _pausing_fsync(fd: int) -> None:
    _fsync(fd)
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if where.startswith(folder + os.sep) and os.path.isfile(f"/proc/self/fd/{fd}"):
        print(f"PAUSED {where}", file=sys.stderr, flush=True)
        time.sleep(600)


os.fsync = _pausing_fsync
from dcplan.cli.main import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
