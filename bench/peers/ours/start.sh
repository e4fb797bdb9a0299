#!/usr/bin/env bash
# Starts this broker's cluster (one `node dist/main.js` process per node, combined broker and
# controller nodes) on loopback ports, laid out as ../kafka/start.sh lays out Kafka's, so the
# same commands drive both (kill a node by its pid file, start it again with --node).
#
#   start.sh [--brokers 1|3] [--port 19092] [--dir /tmp/ours-peer] [--set key=value]... [--keep] [--node N]
#
# Node i (1-based) listens for clients on port+2(i-1) and for the quorum on port+2(i-1)+1,
# writes its data under DIR/nodeI, its output to DIR/nodeI.out and its pid to DIR/nodeI.pid.
# Each start wipes --dir, unless --keep: then the nodes start again on the data and properties
# a previous start left there. --node N (with --keep implied) starts node N alone and leaves the
# others as they are. Prints the bootstrap address, then one "pid N" line per node started;
# stop.sh --dir DIR stops them. Needs `npm run build` first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
main="$here/../../../dist/main.js"
brokers=1 port=19092 dir=/tmp/ours-peer keep=0 only=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) brokers="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --set) extra+=("$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    --node) only="$2"; keep=1; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -f "$main" ] || { echo "$main is missing: npm run build first" >&2; exit 1; }
if [ -z "$only" ]; then
  "$here/stop.sh" --dir "$dir" >/dev/null 2>&1 || true
  if [ "$keep" = 0 ]; then rm -rf "$dir"; fi
fi
mkdir -p "$dir"
voters=""
for i in $(seq 1 "$brokers"); do
  voters+="${voters:+,}$i@127.0.0.1:$((port + 2 * (i - 1) + 1))"
done
nodes=$(seq 1 "$brokers")
if [ -n "$only" ]; then nodes="$only"; fi
for i in $nodes; do
  p=$((port + 2 * (i - 1)))
  props="$dir/node$i.properties"
  if [ "$keep" = 0 ] || [ ! -f "$props" ]; then
    cat > "$props" <<PROPS
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$((p + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$p
log.dirs=$dir/node$i
metrics.listener=none
PROPS
    for kv in "${extra[@]}"; do echo "$kv" >> "$props"; done
  fi
  LOG_LEVEL="${LOG_LEVEL:-warn}" nohup node "$main" --config "$props" >> "$dir/node$i.out" 2>&1 &
  echo $! > "$dir/node$i.pid"
done
tries=240 pause=0.25
. "$here/../await-nodes.sh"
