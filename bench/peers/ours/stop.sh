#!/usr/bin/env bash
# Stops the nodes start.sh started in --dir (SIGTERM, then SIGKILL after 20 s): the same as
# Kafka's, which knows nodes only by their pid files.
exec "$(cd "$(dirname "$0")" && pwd)/../kafka/stop.sh" "$@"
