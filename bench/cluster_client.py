#!/usr/bin/python3
"""Failover probe for bench/cluster.ts (librdkafka, confluent-kafka).

  failover --bootstrap B --topic T --seconds S --interval-ms I
Produces one record to partition 0 every I ms with acks=all (idempotent), for S seconds, and
prints one JSON line per delivery report: {"sent": t, "acked": t, "error": e}. The benchmark
kills the partition's leader meanwhile and reads, from these lines, how long after the kill the
first record was acknowledged by the new leader.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--interval-ms", type=float, default=10)
    args = ap.parse_args()
    p = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
            "retry.backoff.ms": 20,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
            "topic.metadata.refresh.interval.ms": 1000,
            "message.timeout.ms": 30000,
            "socket.nagle.disable": True,
        }
    )
    p.list_topics(args.topic, timeout=10)
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    def report(sent):
        def on_delivery(err, _msg):
            out = {"sent": sent, "acked": time.time(), "error": None if err is None else str(err)}
            sys.stdout.write(json.dumps(out) + "\n")

        return on_delivery

    end = time.time() + args.seconds
    while time.time() < end:
        now = time.time()
        p.produce(args.topic, b"x" * 100, partition=0, on_delivery=report(now))
        p.poll(args.interval_ms / 1000.0)
    p.flush(60)
    sys.stdout.write(json.dumps({"done": True}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
