#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py flags...]
# Tests on NPROC processes of this machine with torchrun: nccl when a GPU
# is visible, gloo otherwise (CPU). Environment: PYTHON (interpreter,
# default python), DIST_BACKEND (force nccl or gloo), NNODES, NODE_RANK,
# PORT, MASTER_ADDR. See tools/dist_train.sh for the gloo bootstrap.
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS="$(cd "$(dirname "$0")" && pwd)"

if [ -z "${DIST_BACKEND:-}" ]; then
    if "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        DIST_BACKEND=nccl
    else
        DIST_BACKEND=gloo
    fi
fi

if [ "$DIST_BACKEND" = "nccl" ]; then
    PYTHONPATH="$TOOLS/..":$PYTHONPATH \
    "$PYTHON" -m torch.distributed.run \
        --nnodes=$NNODES \
        --node_rank=$NODE_RANK \
        --master_addr=$MASTER_ADDR \
        --nproc_per_node=$NPROC \
        --master_port=$PORT \
        "$TOOLS/test.py" \
        $CONFIG \
        $CHECKPOINT \
        --launcher pytorch ${@:4}
else
    # mmengine's init_dist calls torch.cuda.set_device, which fails without
    # a GPU: open the gloo process group first (the runner then skips it).
    BOOTSTRAP='import runpy, sys
import torch.distributed as dist
dist.init_process_group(backend="gloo")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")'
    PYTHONPATH="$TOOLS/..":$PYTHONPATH \
    "$PYTHON" -m torch.distributed.run \
        --nnodes=$NNODES \
        --node_rank=$NODE_RANK \
        --master_addr=$MASTER_ADDR \
        --nproc_per_node=$NPROC \
        --master_port=$PORT \
        --no-python \
        "$PYTHON" -c "$BOOTSTRAP" \
        "$TOOLS/test.py" \
        $CONFIG \
        $CHECKPOINT \
        --launcher pytorch \
        --cfg-options env_cfg.dist_cfg.backend=gloo ${@:4}
fi
