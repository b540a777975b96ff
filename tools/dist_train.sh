#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NPROC [train.py options]
# NNODES, NODE_RANK, MASTER_ADDR and PORT set a multi-node run. On machines
# without CUDA add: --cfg-options env_cfg.dist_cfg.backend=gloo
set -euo pipefail
config=$1
nproc=$2
root=$(cd "$(dirname "$0")/.." && pwd)
python_bin=${PYTHON:-$root/.venv/bin/python}
exec "$python_bin" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$nproc" \
  "$root/tools/train.py" "$config" --launcher pytorch "${@:3}"
