#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py flags...]
# Tests on NPROC processes of this machine with torchrun: nccl when a GPU
# is visible, gloo otherwise (CPU). Environment: PYTHON (interpreter,
# default python), NNODES, NODE_RANK, PORT, MASTER_ADDR.
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
TOOLS="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$TOOLS/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} \
    --master_addr=${MASTER_ADDR:-127.0.0.1} \
    --nproc_per_node=$NPROC \
    --master_port=${PORT:-29500} \
    "$TOOLS/test.py" \
    $CONFIG \
    $CHECKPOINT \
    --launcher pytorch ${@:4}
