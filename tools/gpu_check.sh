#!/usr/bin/env bash
# One-shot GPU check: install the project on a GPU machine without internet,
# benchmark the Flowers config, train Flowers-17 for the time left, score it.
#
# Usage:  bash tools/gpu_check.sh [MAX_TRAIN_MINUTES]       (default 8)
# Needs:  .whl/ from tools/fetch_gpu_wheels.sh (skipped where mmseg already
#         imports), ../shared/data/flowers17 or DATA_ROOT=/path/to/flowers17.
# Tiny CPU rehearsal: GPU_CHECK_TINY=1 TOTAL_MINUTES=6 bash tools/gpu_check.sh 0.5
# Quality only (install, train for all the time left, test):
#         SKIP_BENCHMARK=1 bash tools/gpu_check.sh 8
#
# The whole script ends inside TOTAL_MINUTES (default 9.5): install (~1.5 min:
# mmcv's ops are built for the CPU only, ReDO runs none of them, mmseg only
# imports them), the benchmark (stopped after BENCH_TIMEOUT seconds; it ends
# with the work per iteration and a profile of BENCH_PROFILE iterations of
# the fast step), then
# training for min(MAX_TRAIN_MINUTES, what is left after keeping
# RESERVE_SECONDS for start-up, the last validation and the test).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
MAX_MINUTES=${1:-8}
TOTAL_MINUTES=${TOTAL_MINUTES:-9.5}
RESERVE_SECONDS=${RESERVE_SECONDS:-120}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
WORK=${WORK:-work_dirs/gpu_check}
DATA_ROOT=${DATA_ROOT:-../shared/data/flowers17}
SITE=${SITE:-/tmp/mmseg_redo_site}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
stamp() { echo "[gpu_check $(date +%T) +$(( $(date +%s) - START ))s] $*"; }

# A machine still warm from an earlier call keeps what that call installed.
if [ -d "$SITE/mmseg" ] && ! $PY -c 'import mmseg' 2>/dev/null; then
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! $PY -c 'import mmseg, mmcv.ops' 2>/dev/null; then
  if [ ! -d .whl ]; then
    echo "mmseg/mmcv do not import with $PY and there is no .whl/ folder:" \
      "run 'bash tools/fetch_gpu_wheels.sh' where PyPI is reachable and carry .whl/" >&2
    exit 1
  fi
  stamp "installing from .whl/ into $SITE"
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # CUDA hidden: mmcv then compiles its CPU ops only.
  CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 MAX_JOBS=$(nproc) $PY -m pip install -q \
    --no-index --no-deps --no-build-isolation --upgrade --target "$SITE" .whl/mmcv-2.1.0.tar.gz
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -c 'import torch, mmseg, mmcv, mmengine; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "", "mmseg", mmseg.__version__, "mmcv", mmcv.__version__)'
stamp "installed"

TINY_OPTS=()
BENCH_OPTS=()
if [ "${GPU_CHECK_TINY:-0}" = 1 ]; then
  # Rehearsal on a CPU: tiny networks and data, same commands.
  TINY_OPTS=(model.region_generators.generator.base_channels=2
    model.discriminator.base_channels=4 model.z_encoder.base_channels=4
    model.region_generators.generator.self_attention=False
    model.discriminator.self_attention=False train_dataloader.batch_size=4
    train_dataloader.num_workers=0 val_dataloader.num_workers=0
    test_dataloader.num_workers=0 train_dataloader.persistent_workers=False
    val_dataloader.persistent_workers=False test_dataloader.persistent_workers=False)
  BENCH_OPTS=(--cfg-options "${TINY_OPTS[@]}")
fi

if [ "${SKIP_BENCHMARK:-0}" = 1 ]; then
  # All the time left goes to training (the quality target's 8 minutes).
  stamp "benchmark skipped (SKIP_BENCHMARK=1)"
else
  stamp "benchmark: configs/redo/redo_flowers.py, batch 20, 128x128 (at most ${BENCH_TIMEOUT}s)"
  timeout "$BENCH_TIMEOUT" $PY -m benchmarks.train_speed \
    configs/redo/redo_flowers.py --synthetic --iters "${BENCH_ITERS:-30}" \
    --warmup "${BENCH_WARMUP:-10}" --profile "${BENCH_PROFILE:-3}" --flops "${BENCH_OPTS[@]}" \
    || stamp "benchmark did not finish (exit $?); going on with training"
fi

MINUTES=$($PY -c "print(round(max(0.5, min($MAX_MINUTES, ($TOTAL_MINUTES * 60 - $RESERVE_SECONDS - ($(date +%s) - $START)) / 60)), 2))")
# Validation every VAL_INTERVAL iterations; only the best and the last
# checkpoints, without optimizer states (a 1 GiB write each otherwise).
stamp "training configs/redo/redo_flowers17.py for $MINUTES minutes"
$PY tools/train.py configs/redo/redo_flowers17.py --work-dir "$WORK" --cfg-options \
  default_hooks.time_budget.minutes="$MINUTES" \
  train_dataloader.dataset.data_root="$DATA_ROOT" val_dataloader.dataset.data_root="$DATA_ROOT" \
  test_dataloader.dataset.data_root="$DATA_ROOT" train_cfg.val_interval="${VAL_INTERVAL:-1000}" \
  default_hooks.checkpoint.interval=1000000 default_hooks.checkpoint.save_optimizer=False \
  "${TINY_OPTS[@]}"

BEST=$(ls -t "$WORK"/best_*.pth | head -n 1)
stamp "Flowers-17 test scores of $BEST"
$PY tools/test.py configs/redo/redo_flowers17.py "$BEST" --work-dir "$WORK/test" --cfg-options \
  test_dataloader.dataset.data_root="$DATA_ROOT" "${TINY_OPTS[@]}"
stamp "done"
