#!/usr/bin/env bash
# Copies Apache Kafka's broker and tools jars (pom.xml) from Maven Central into lib/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -f "$here/lib/kafka_2.13-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml").jar" ]; then
  exit 0
fi
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/lib" -DincludeScope=runtime
