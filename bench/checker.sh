#!/usr/bin/env bash
# Runs the fault checker (dist/checker.js) against a three-node cluster of this broker or of
# Kafka, started by bench/peers/<target>/start.sh with min.insync.replicas=2 and otherwise
# default settings; the faults are the same shell commands for both: SIGKILL a node by its pid
# file and start it again with start.sh --node, SIGSTOP and SIGCONT it.
#
#   npm run build && bench/checker.sh ours|kafka [checker options, e.g. --faults sigkill --kills 20]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:?usage: checker.sh ours|kafka [checker options]}"
shift
case "$target" in
  ours) port=19092 dir=/tmp/checker-ours extra=() ;;
  kafka) port=29092 dir=/tmp/checker-kafka extra=(--heap 512m) ;;
  *) echo "target is ours or kafka, not $target" >&2; exit 2 ;;
esac
start="$here/peers/$target/start.sh"
cluster=(--brokers 3 --port "$port" --dir "$dir")
"$start" "${cluster[@]}" "${extra[@]}" --set min.insync.replicas=2 >&2
trap '"$here/peers/$target/stop.sh" --dir "$dir" >/dev/null 2>&1' EXIT
pid="\$(cat $dir/node{node}.pid)"
node "$here/../dist/checker.js" --bootstrap "127.0.0.1:$port,127.0.0.1:$((port + 2)),127.0.0.1:$((port + 4))" --topic checker \
  --fault-cmd "kill -KILL $pid" --restart-cmd "$start ${cluster[*]} ${extra[*]} --node {node} >/dev/null" \
  --pause-cmd "kill -STOP $pid" --resume-cmd "kill -CONT $pid" "$@"
