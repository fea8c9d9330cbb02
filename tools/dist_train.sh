#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NPROC [train.py flags...]
# Trains on NPROC processes of this machine with torchrun and mmengine's
# distributed runner: nccl when a GPU is visible, gloo otherwise (CPU; see
# mmseg_redo.utils.init_cpu_process_group). Environment: PYTHON
# (interpreter, default python), NNODES, NODE_RANK, PORT, MASTER_ADDR.
CONFIG=$1
NPROC=$2
TOOLS="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$TOOLS/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} \
    --master_addr=${MASTER_ADDR:-127.0.0.1} \
    --nproc_per_node=$NPROC \
    --master_port=${PORT:-29500} \
    "$TOOLS/train.py" \
    $CONFIG \
    --launcher pytorch ${@:3}
