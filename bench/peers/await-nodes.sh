# Sourced by the peers' start.sh once their nodes are launched: waits until each node in
# $nodes listens on its client port ($port + 2 * (node - 1)), up to $tries checks $pause s
# apart, failing when a node's process (pid in $dir/node<N>.pid) exits first; then prints the
# bootstrap list of all $brokers nodes and the started nodes' pids.
for i in $nodes; do
  p=$((port + 2 * (i - 1)))
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then break; fi
    if ! kill -0 "$(cat "$dir/node$i.pid")" 2>/dev/null; then
      echo "node $i exited; see $dir/node$i.out" >&2; exit 1
    fi
    sleep "$pause"
  done
done
bootstrap=""
for i in $(seq 1 "$brokers"); do bootstrap+="${bootstrap:+,}127.0.0.1:$((port + 2 * (i - 1)))"; done
echo "bootstrap $bootstrap"
for i in $nodes; do echo "pid $(cat "$dir/node$i.pid")"; done
