#!/usr/bin/env bash
# `make test` (through CI's script) on a fresh clone while a second audit trains beside it:
# the busy machine of issue 25, where default training threads once made tests time out.
#   bash bench/test_while_training.sh      (from a checkout with `.venv` installed)
# Prints CI's exit status and minutes, and how many audits the neighbour finished meanwhile.
set -u
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
clone=$(mktemp -d /tmp/labelaudit-ci-XXXXXX)
git clone -q "$repo" "$clone"
table="$clone.neighbour.csv"
log="$clone.neighbour.log"
# The neighbour: the CLI a user runs, on 3,594 rows of noisy digits, 200 epochs, again and again.
"$repo/.venv/bin/python" - "$table" <<'PY'
import sys

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

features, labels = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
rows = np.concatenate([features + rng.normal(0, 1, features.shape) for _ in range(2)])
table = pd.DataFrame(rows, columns=[f"f{i}" for i in range(features.shape[1])])
table["label"] = np.concatenate([labels, labels]).astype(str)
table.to_csv(sys.argv[1], index=False)
PY
(
  while [ ! -f "$clone.done" ]; do
    "$repo/.venv/bin/labelaudit" audit "$table" --label-column label --epochs 200 \
      -o "$clone.neighbour-out.csv" >>"$log" 2>&1
  done
) &
neighbour=$!
start=$(date +%s)
(cd "$clone" && CI=true bash .ci/run) >"$clone.ci.log" 2>&1
status=$?
touch "$clone.done"
kill "$neighbour" 2>/dev/null
pkill -f "labelaudit audit $table" 2>/dev/null
echo "CI exit status $status after $(( ($(date +%s) - start) / 60 )) min; log: $clone.ci.log"
echo "audits the neighbour finished meanwhile: $(grep -c 'flagged' "$log")"
tail -3 "$clone.ci.log"
