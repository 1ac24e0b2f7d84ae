#!/bin/sh
# Installs everything the test suite needs on Debian 12 with Node 20, skipping what is present:
# the real Kafka clients and ZooKeeper the integration tests drive, Apache Kafka itself (the Java
# client, Kafka Streams, the broker and its tools, 3.9 and 4.x, from Maven Central), current
# PyPI clients in .venv-test/, franz-go from the Go module proxy, then the npm packages from the
# lock file. Downloads are cached where they survive between runs on one machine (~/.m2,
# ~/.cache/pip, Go's module and build caches); a missing cache is filled again.
# Runs as root (CI) or with sudo available.
set -eu
cd "$(dirname "$0")/.."

packages="kcat python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard python3-xxhash zookeeper maven openjdk-17-jdk-headless python3-venv openssl chromium"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Apache Kafka, one resolution per version: the jars land in Maven's local repository and the
# tests read the classpath from test/java/target/kafka-VERSION.classpath. Resolved again when
# the pom changed or any jar on the recorded classpath is gone.
KAFKA_VERSIONS="3.9.2 4.4.0"
mkdir -p test/java/target
for v in $KAFKA_VERSIONS; do
  cp_file="test/java/target/kafka-$v.classpath"
  fresh=yes
  if [ ! -s "$cp_file" ] || [ test/java/pom.xml -nt "$cp_file" ]; then
    fresh=no
  else
    for jar in $(tr ':' ' ' <"$cp_file"); do
      [ -f "$jar" ] || { fresh=no; break; }
    done
  fi
  if [ "$fresh" = no ]; then
    echo "resolving Apache Kafka $v (Maven Central)"
    # Maven prints colour resets even in batch mode: its output is shown only when it fails.
    if ! mvn -q -B -f test/java/pom.xml dependency:build-classpath -Dkafka.version="$v" \
      -Dmdep.outputFile="$PWD/$cp_file.tmp" >test/java/target/mvn.log 2>&1; then
      cat test/java/target/mvn.log >&2
      exit 1
    fi
    mv "$cp_file.tmp" "$cp_file"
  fi
done

# Current confluent-kafka and kafka-python from PyPI, pinned in test/python/requirements.txt.
if ! cmp -s test/python/requirements.txt .venv-test/requirements.installed 2>/dev/null; then
  echo "installing PyPI clients into .venv-test/"
  [ -x .venv-test/bin/python ] || python3 -m venv .venv-test
  .venv-test/bin/python -m pip install -q --disable-pip-version-check -r test/python/requirements.txt
  cp test/python/requirements.txt .venv-test/requirements.installed
fi

# franz-go: the test builds test/go itself; this fetches the modules and fills the build cache
# so that build takes about a second.
# The Go toolchain of this machine kind lives in /usr/local/go; a shell without it on PATH still finds it.
command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
  echo "install-test-deps: Go 1.26 or newer is needed on PATH for test/go (franz-go)" >&2
  exit 1
fi
(cd test/go && go mod download && go build -o /dev/null .)
