#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NPROC [train.py flags...]
# Trains on NPROC processes of this machine with torchrun and mmengine's
# distributed runner: nccl when a GPU is visible, gloo otherwise (CPU).
# Environment: PYTHON (interpreter, default python), DIST_BACKEND (force
# nccl or gloo), NNODES, NODE_RANK, PORT, MASTER_ADDR.
CONFIG=$1
NPROC=$2
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
        "$TOOLS/train.py" \
        $CONFIG \
        --launcher pytorch ${@:3}
else
    # mmengine 0.10's init_dist calls torch.cuda.set_device(LOCAL_RANK),
    # which fails without a GPU. The runner skips init_dist when a process
    # group already exists, so each worker opens the gloo group itself
    # (from torchrun's env://) and then runs train.py unchanged. The
    # backend cfg-option comes first, so a user's --cfg-options still wins.
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
        "$TOOLS/train.py" \
        $CONFIG \
        --launcher pytorch \
        --cfg-options env_cfg.dist_cfg.backend=gloo ${@:3}
fi
