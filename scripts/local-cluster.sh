#!/bin/sh
# A local three-broker Tributary cluster with its own ZooKeeper, for trying one out:
#
#   sh scripts/local-cluster.sh start [DIR]   # ZooKeeper on 127.0.0.1:2181, brokers on 9092-9094
#   sh scripts/local-cluster.sh status [DIR]
#   sh scripts/local-cluster.sh stop [DIR]    # brokers first (controlled shutdown), then ZooKeeper
#
# Needs Debian's zookeeper package (and Java), as the test command installs it. Data, logs and
# pid files go to DIR (default ./local-cluster); remove it to start from scratch.
set -eu
cd "$(dirname "$0")/.."
cmd="${1:-}"
dir="${2:-local-cluster}"
zk_port=2181
brokers="1 2 3"

zk_ready() {
  node -e "
    const s = require('node:net').connect($zk_port, '127.0.0.1', () => s.write('srvr'));
    let out = ''; s.on('data', (d) => (out += d));
    s.on('close', () => process.exit(/Mode: /.test(out) ? 0 : 1)); s.on('error', () => process.exit(1));
  " 2>/dev/null
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  mkdir -p "$dir/zookeeper/data"
  if ! alive "$dir/zookeeper.pid"; then
    cat >"$dir/zookeeper/zoo.cfg" <<CFG
tickTime=2000
dataDir=$PWD/$dir/zookeeper/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,stat,ruok
CFG
    java -Xmx128m -XX:+UseSerialGC -cp /usr/share/java/zookeeper.jar \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zookeeper/zoo.cfg" \
      >"$dir/zookeeper.out" 2>&1 &
    echo $! >"$dir/zookeeper.pid"
  fi
  i=0
  until zk_ready; do
    i=$((i + 1))
    [ $i -lt 60 ] || { echo "ZooKeeper did not start; see $dir/zookeeper.out" >&2; exit 1; }
    sleep 0.5
  done
  for n in $brokers; do
    alive "$dir/broker-$n.pid" && continue
    node bin/tributary.js start \
      --override broker.id=$n \
      --override listeners=PLAINTEXT://127.0.0.1:$((9091 + n)) \
      --override log.dirs="$dir/broker-$n" \
      --override zookeeper.connect=127.0.0.1:$zk_port/tributary \
      --override default.replication.factor=3 \
      --override offsets.topic.replication.factor=3 \
      --override min.insync.replicas=2 \
      >"$dir/broker-$n.out" 2>&1 &
    echo $! >"$dir/broker-$n.pid"
  done
  echo "cluster starting: bootstrap 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 (logs in $dir/*.out)"
}

stop() {
  for n in $brokers; do
    if alive "$dir/broker-$n.pid"; then kill -TERM "$(cat "$dir/broker-$n.pid")"; fi
  done
  for n in $brokers; do
    while alive "$dir/broker-$n.pid"; do sleep 0.2; done
    rm -f "$dir/broker-$n.pid"
  done
  if alive "$dir/zookeeper.pid"; then kill -TERM "$(cat "$dir/zookeeper.pid")"; fi
  rm -f "$dir/zookeeper.pid"
  echo "cluster stopped"
}

status() {
  if alive "$dir/zookeeper.pid"; then echo "zookeeper: running"; else echo "zookeeper: stopped"; fi
  for n in $brokers; do
    if alive "$dir/broker-$n.pid"; then echo "broker $n: running"; else echo "broker $n: stopped"; fi
  done
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: sh scripts/local-cluster.sh start|status|stop [DIR]" >&2
  exit 2
  ;;
esac
