#!/usr/bin/env bash
# Formats storage for and starts Apache Kafka in KRaft mode (combined broker+controller nodes)
# on loopback ports, from the jars fetch.sh copied into lib/.
#
#   start.sh [--brokers 1|3] [--port 29092] [--dir /tmp/kafka-peer] [--heap 1g] [--set key=value]... [--keep] [--node N]
#
# Node i (1-based) listens for clients on port+2(i-1) and for the quorum on port+2(i-1)+1.
# Each start wipes --dir, unless --keep: then the nodes start again on the data and
# properties a previous start left there (the other flags must be the same). --node N (--keep
# implied) starts node N alone, as after a crash, and leaves the others as they are. Prints
# the bootstrap address, then one "pid N" line per node started;
# stop.sh --dir DIR stops them. Kafka's flush settings are left at Kafka's defaults (no fsync
# before acknowledging) unless given with --set, e.g. --set log.flush.interval.messages=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
brokers=1 port=29092 dir=/tmp/kafka-peer heap=1g keep=0 only=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) brokers="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --heap) heap="$2"; shift 2 ;;
    --set) extra+=("$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    --node) only="$2"; keep=1; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
"$here/fetch.sh"
cp="$here/lib/*"
jvm=(-Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
     -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -Dlog4j2.configurationFile="$here/log4j2.properties")

if [ -z "$only" ]; then
  "$here/stop.sh" --dir "$dir" >/dev/null 2>&1 || true
  if [ "$keep" = 0 ]; then rm -rf "$dir"; fi
fi
mkdir -p "$dir"
voters=""
for i in $(seq 1 "$brokers"); do
  voters+="${voters:+,}$i@127.0.0.1:$((port + 2 * (i - 1) + 1))"
done
rf=$(( brokers < 3 ? brokers : 3 ))
cluster_id=""
nodes=$(seq 1 "$brokers")
if [ -n "$only" ]; then nodes="$only"; fi
for i in $nodes; do
  p=$((port + 2 * (i - 1)))
  for q in "$p" "$((p + 1))"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null; then echo "port $q is already in use" >&2; exit 1; fi
  done
  props="$dir/node$i.properties"
  if [ "$keep" = 1 ] && [ -f "$props" ]; then
    nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$props" >> "$dir/node$i.out" 2>&1 &
    echo $! > "$dir/node$i.pid"
    continue
  fi
  cat > "$props" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$((p + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$p
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node$i
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  for kv in "${extra[@]}"; do echo "$kv" >> "$props"; done
  if [ -z "$cluster_id" ]; then cluster_id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"; fi
  java -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" > "$dir/node$i.format.log" 2>&1
  nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$props" > "$dir/node$i.out" 2>&1 &
  echo $! > "$dir/node$i.pid"
done
tries=120 pause=0.5
. "$here/../await-nodes.sh"
