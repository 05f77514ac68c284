#!/usr/bin/env bash
# Stock mmpretrain interface: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# PYTHON (the interpreter to use; default: python on PATH).
# Launches with torchrun (${PYTHON:-python} -m torch.distributed.run); on a machine without CUDA the
# plugin runs the workers on gloo.

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

# The first `import mmengine` on a machine writes yapf's grammar pickle to the user cache; several
# workers doing that at once can read a half-written file ("EOFError: Ran out of input"). One
# process writes it here, before any worker starts.
${PYTHON:-python} -c 'import yapf' || exit 1

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
${PYTHON:-python} -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
