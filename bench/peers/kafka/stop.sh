#!/usr/bin/env bash
# Stops the Kafka nodes start.sh started in --dir (SIGTERM, then SIGKILL after 20 s).
set -uo pipefail
dir=/tmp/kafka-peer
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
pids=()
for f in "$dir"/node*.pid; do
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  kill "$pid" 2>/dev/null && pids+=("$pid")
  rm -f "$f"
done
for pid in "${pids[@]}"; do
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
done
