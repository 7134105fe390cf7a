#!/usr/bin/env bash
# The GPU check: GPU tests, bench figures of both case studies for 1 and 10 batched runs
# (native: the fused kernel generated from the system's torch methods, whole trials, one
# launch per batch; compiled: torch.compile replayed from CUDA graphs), and a 50-generation
# comparison of case study 2 (auto backend), on one CUDA device, in under 8 minutes. The
# target: >= 1 G robot-steps/s for case study 2 with 10 runs batched.
#
#   experiments/gpu_check.sh            # on a machine with a CUDA GPU, from the repository root
#
# Environment: the README's test command sets up .venv (torch, the project, its extras);
# where that venv exists and sees CUDA it is used. On a machine without network access
# whose Python already has a CUDA build of torch, the script makes .venv-gpu from that
# Python (--system-site-packages) and installs the project into it without dependencies,
# plus any wheels in .whl/ (the packages that Python lacks: deap, gymnasium and their
# dependencies; see the device notes for `pip download ... -d .whl`). It installs nothing
# from the network. Figures go to stdout and, as JSON and markdown, to $OUT (default
# gpu-check/).
#
# GPU_CHECK_DEVICE=cpu runs the same script on the CPU with tiny sizes (to test the script).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-check}"
mkdir -p "$OUT"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

python_with_cuda() {
    "$1" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
}

if [ "$DEVICE" = cpu ] && [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
elif [ -x .venv/bin/python ] && python_with_cuda .venv/bin/python; then
    PY=.venv/bin/python
else
    BASE="$(command -v python3)"
    if ! python_with_cuda "$BASE"; then
        echo "gpu_check: no Python with a CUDA build of torch here (.venv or python3); run it on a GPU machine" >&2
        exit 2
    fi
    if [ ! -x .venv-gpu/bin/python ]; then
        "$BASE" -m venv --system-site-packages .venv-gpu
    fi
    PY=.venv-gpu/bin/python
    if compgen -G ".whl/*.whl" > /dev/null; then
        $PY -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
    fi
    $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . \
        || { echo "gpu_check: installing the project failed (setuptools missing?)" >&2; exit 2; }
fi
TURING=("$PY" -m turing.cli)
echo "== python: $($PY -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)')"
if [ "$DEVICE" = cuda ]; then
    $PY -c "import torch; p = torch.cuda.get_device_properties(0); print('== device:', p.name, f'{p.total_memory / 2**30:.0f} GiB,', p.multi_processor_count, 'SMs')"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader || true
fi

SECONDS=0
echo "== GPU tests"
if [ "$DEVICE" = cuda ]; then
    $PY -m pytest -q -m gpu tests/test_gpu.py 2>&1 | tee "$OUT/gpu-tests.txt" | tail -15
fi
echo "   ($SECONDS s)"

if [ "$DEVICE" = cuda ]; then
    SIZES=(); GENERATIONS=50; SEEDS=5
else
    SIZES=(--models 10 --interrogators 10); GENERATIONS=3; SEEDS=2
fi
for system in agent-inference sensor-self-id; do
    for runs in 1 10; do
        echo "== bench $system, $runs run(s) batched ($SECONDS s)"
        "${TURING[@]}" bench "$system" --device "$DEVICE" --runs "$runs" --backends native,compiled \
            --generations 5 --gym-seconds 1 "${SIZES[@]}" --json > "$OUT/bench-$system-$runs.json"
        $PY - "$OUT/bench-$system-$runs.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
for b in ("native", "compiled"):
    if f"steps_per_second_{b}" not in f:
        print(f"   {f['system']}: no {b} figures (not built here; see the warnings above)")
        continue
    print(f"   {f['system']} {b} on {f['device_name']}: {f['runs_batched']} run(s) x "
          f"{f['trials_per_generation']:,} trials: {f[f'seconds_per_generation_{b}'] * f['runs_batched']:.4f} s "
          f"per batch, {f[f'steps_per_second_{b}'] / 1e6:,.1f} M trial-steps/s; first batch "
          f"(building, compiling, capturing) {f[f'first_generation_seconds_{b}']:.1f} s")
EOF
    done
done

echo "== case study 2: interrogate vs passive, $SEEDS seeds x $GENERATIONS generations on $DEVICE ($SECONDS s)"
rm -rf "$OUT/cs2-compare"
"${TURING[@]}" compare sensor-self-id --methods interrogate,passive --seeds "$SEEDS" \
    --generations "$GENERATIONS" --device "$DEVICE" --c2st-trials 0 "${SIZES[@]}" \
    --out "$OUT/cs2-compare" --workers 1 --quiet --no-plots | tail -25
$PY - "$OUT/cs2-compare" <<'EOF'
import csv, pathlib, statistics, sys
root = pathlib.Path(sys.argv[1])
for method in ("interrogate", "passive"):
    seconds = []
    for metrics in sorted(root.glob(f"runs/{method}/*/metrics.csv")):
        rows = list(csv.DictReader(metrics.open()))
        seconds += [float(r["generation_seconds"]) for r in rows[1:]]
    if seconds:
        print(f"   {method}: {statistics.median(seconds):.3f} s per generation and run (median, batched)")
EOF
echo "== done in $SECONDS s; figures in $OUT/"
