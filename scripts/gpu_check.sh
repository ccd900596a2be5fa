#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU (issue 13): nothing is installed, dcplan runs
# from the source tree with the python that has a CUDA build of torch and pytest (no dashboard
# packages needed). It measures two quick profiles back to back (decode eager and replayed from
# CUDA graphs), calibrates each, compares them (repeatability), runs the GPU tests on the first,
# and recalibrates the shipped H200 profile with this code. Everything goes to $OUT.
#
#   OUT=/some/dir scripts/gpu_check.sh        # about 5-6 minutes on an H200
#   STANDARD=1 OUT=... scripts/gpu_check.sh   # also a standard profile (about 4 minutes more)
#
# Exit status: that of the GPU tests (the other steps are logged and never stop the run).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH=.
log() { echo "[gpu_check $(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
step() {  # step NAME SECONDS CMD...: run with a time limit, stdout and stderr to $OUT/NAME.{out,err}
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local rc=$?
  log "$name: exit $rc in $((SECONDS - t0)) s"
  return $rc
}

log "start; git $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
nvidia-smi -q > "$OUT/nvidia-smi.txt" 2>&1 || log "nvidia-smi not available"
$PY - <<'PY' 2>&1 | tee -a "$OUT/log.txt"
import sys, torch
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda,
      "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
for mod in ("dash", "plotly"):
    try:
        __import__(mod); print(mod, "installed")
    except ImportError:
        print(mod, "not installed (not needed)")
PY

for run in a b; do
  step "profile-$run" 260 $PY -m dcplan profile --device cuda --sweep quick --time-budget 150 --no-flop-count \
       --out "$OUT" --name "quick-$run" --json
  step "calibrate-$run" 120 $PY -m dcplan calibrate "$OUT/quick-$run.json" --json
done
step repeatability 60 $PY scripts/compare_profiles.py "$OUT/quick-a.json" "$OUT/quick-b.json"
cat "$OUT/repeatability.out" | tee -a "$OUT/log.txt"

if [ "${STANDARD:-0}" = 1 ]; then
  step profile-standard 330 $PY -m dcplan profile --device cuda --sweep standard --time-budget 240 --out "$OUT" \
       --name standard --json
  step calibrate-standard 120 $PY -m dcplan calibrate "$OUT/standard.json" --json
fi

step calibrate-shipped 120 $PY -m dcplan calibrate profiles/gpu-nvidia-h200-standard.json --out "$OUT/shipped.calibration.json" --json

export DCPLAN_GPU_PROFILE="$OUT/quick-a.json"  # the tests reuse this profile instead of measuring another
step pytest-gpu 300 $PY -m pytest -m gpu -q -p no:cacheprovider -rA \
     --junitxml="$OUT/pytest-gpu.xml" tests
rc=$?
tail -n 25 "$OUT/pytest-gpu.out" | tee -a "$OUT/log.txt"
log "done (pytest -m gpu exit $rc)"
exit $rc
