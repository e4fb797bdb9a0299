#!/usr/bin/env bash
# Copies Apache Kafka's broker and tools jars (pom.xml) from Maven Central into lib/.
# Runs one at a time (tests running side by side may each call it); the jars are copied into a
# fresh dir first and moved into place whole, so lib/ is either complete or absent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec 9>"$here/.fetch.lock"
flock 9
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
if [ -f "$here/lib/kafka_2.13-$version.jar" ]; then
  exit 0
fi
rm -rf "$here/lib.partial"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/lib.partial" -DincludeScope=runtime
rm -rf "$here/lib"
mv "$here/lib.partial" "$here/lib"
