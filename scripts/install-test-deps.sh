#!/usr/bin/env bash
# Installs what the test suite needs: npm packages, and the Debian packages of the reference
# clients (kcat, python3-confluent-kafka) when run as root; otherwise names them.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "the client tests need these Debian packages: ${missing[*]} (as root: apt-get install -y ${missing[*]}); those tests are skipped without them" >&2
  fi
fi

# The suites of the Java client and Kafka Streams run when a JDK and Maven are there (their jars
# come from Maven Central on the first run); they are skipped otherwise.
for cmd in java javac mvn; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "the Java client and Kafka Streams tests need java, javac and mvn (Debian: default-jdk-headless maven); those tests are skipped without them" >&2
    break
  fi
done

# fs-ext is built by node-gyp; without internet it needs the local Node headers.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
npm ci --no-audit --no-fund
