#!/usr/bin/env bash
# ACNRegressor on a CUDA GPU (issue 14, item 5): the gpu-marked tests, then a timed
# full-QM9 fit (python -m benchmarks.speed.bench_acn_gpu): 6.5 minutes of training, 8 in
# all; at most 9.5 with the tests (every stage has a timeout). Needs no network.
#
#   bash benchmarks/speed/gpu_check.sh [bench_acn_gpu options, e.g. --train-seconds 120
#                                       --params '{"n_interactions": 1}']
#
# Run from the repository root. Two ignored folders must sit beside the checkout:
#   .whl/       wheels of what the GPU machine lacks: skorch and ase (pure Python;
#               `pip download --no-deps` them at the versions of the dev environment)
#   .gpu-data/  qm9_U_atomization.npz: Z (uint8), R (float32 Angstrom), y (kcal/mol) of
#               load_qm9(target="U_atomization"), so qm9pack (104 MB) need not travel
# Results go to $OUT (else ./gpu_out): gpu_check.log, pytest_gpu.xml, bench_acn_gpu.json.
set -uo pipefail
OUT=${OUT:-$PWD/gpu_out}
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

main() {
    export PYTHONPATH=/tmp/site:$PWD  # acn_sklearn from this source tree, not installed
    if compgen -G ".whl/*.whl" >/dev/null; then
        # Pure-Python wheels: unzipping them is a fallback install when pip is missing.
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl ||
            for w in .whl/*.whl; do $PY -m zipfile -e "$w" /tmp/site; done
    fi
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv
    $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"available", torch.cuda.is_available())'

    echo "== pytest -m gpu"
    timeout 60 $PY -m pytest -m gpu -q -p no:cacheprovider tests/acn/test_acn_cuda.py \
        --junitxml="$OUT/pytest_gpu.xml"
    echo "pytest exit status: $?"

    echo "== full-QM9 fit"
    timeout 510 $PY -m benchmarks.speed.bench_acn_gpu --out "$OUT" "$@"
    echo "benchmark exit status: $?"
}

SECONDS=0
main "$@" 2>&1 | tee "$OUT/gpu_check.log"
echo "total: ${SECONDS} s" | tee -a "$OUT/gpu_check.log"
