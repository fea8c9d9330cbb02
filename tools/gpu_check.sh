#!/usr/bin/env bash
# One-shot GPU check: install the project on a GPU machine without internet,
# benchmark the Flowers config, train Flowers-17 for a fixed time, score it.
#
# Usage:  bash tools/gpu_check.sh [TRAIN_MINUTES]        (default 6)
# Needs:  .whl/ from tools/fetch_gpu_wheels.sh (skipped where mmseg already
#         imports), ../shared/data/flowers17 or DATA_ROOT=/path/to/flowers17.
# Tiny CPU rehearsal: GPU_CHECK_TINY=1 bash tools/gpu_check.sh 0.5
# Budget: install ~2 min (mmcv's ops built for the CPU only: ReDO runs none of
# them, mmseg only imports them), benchmark ~1 min, training TRAIN_MINUTES,
# test <1 min: it ends well inside 10 minutes with the default.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-6}
WORK=${WORK:-work_dirs/gpu_check}
DATA_ROOT=${DATA_ROOT:-../shared/data/flowers17}
SITE=${SITE:-/tmp/mmseg_redo_site}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
stamp() { echo "[gpu_check $(date +%T)] $*"; }

if ! $PY -c 'import mmseg, mmcv.ops' 2>/dev/null; then
  if [ ! -d .whl ]; then
    echo "mmseg/mmcv do not import with $PY and there is no .whl/ folder:" \
      "run 'bash tools/fetch_gpu_wheels.sh' where PyPI is reachable and carry .whl/" >&2
    exit 1
  fi
  stamp "installing from .whl/ into $SITE"
  $PY -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # CUDA hidden: mmcv then compiles its CPU ops only (a minute on 16 cores).
  CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 MAX_JOBS=$(nproc) $PY -m pip install -q \
    --no-index --no-deps --no-build-isolation --target "$SITE" .whl/mmcv-2.1.0.tar.gz
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -c 'import torch, mmseg, mmcv, mmengine; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "mmseg", mmseg.__version__, "mmcv", mmcv.__version__)'

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

stamp "benchmark: configs/redo/redo_flowers.py, batch 20, 128x128"
$PY tools/analysis_tools/benchmark_train.py configs/redo/redo_flowers.py --synthetic \
  --iters "${BENCH_ITERS:-30}" --warmup "${BENCH_WARMUP:-10}" \
  "${BENCH_OPTS[@]}"

stamp "training configs/redo/redo_flowers17.py for $MINUTES minutes"
$PY tools/train.py configs/redo/redo_flowers17.py --work-dir "$WORK" --cfg-options \
  default_hooks.time_budget.minutes="$MINUTES" \
  train_dataloader.dataset.data_root="$DATA_ROOT" val_dataloader.dataset.data_root="$DATA_ROOT" \
  test_dataloader.dataset.data_root="$DATA_ROOT" train_cfg.val_interval="${VAL_INTERVAL:-500}" \
  default_hooks.checkpoint.interval="${VAL_INTERVAL:-500}" "${TINY_OPTS[@]}"

BEST=$(ls -t "$WORK"/best_*.pth | head -n 1)
stamp "Flowers-17 test scores of $BEST"
$PY tools/test.py configs/redo/redo_flowers17.py "$BEST" --work-dir "$WORK/test" --cfg-options \
  test_dataloader.dataset.data_root="$DATA_ROOT" "${TINY_OPTS[@]}"
stamp "done"
