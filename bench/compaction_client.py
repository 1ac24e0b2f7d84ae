#!/usr/bin/python3
"""librdkafka (confluent-kafka) driver for bench/compaction-broker.ts.

One mode per invocation; the last line printed on stdout is a JSON object with the figures.

  create  --bootstrap B --topic T [--topic-config k=v ...]
  alter   --bootstrap B --topic T --topic-config k=v ...   (AlterConfigs: the whole set)
  fill    --bootstrap B --topic T --mib M --keys K --size S
          keyed records (key-<n> over K keys, S-byte values), acks=all, until M MiB are written
  latency --bootstrap B --topic T --size S --inflight N [--seconds S]
          acks=all, at most N records in flight (a closed loop), one partition; each record's
          latency is from produce() to its delivery report. Prints 'ready' once connected, and
          runs for --seconds, or until a line arrives on stdin when --seconds is 0.
          Besides the exact percentiles, `windows` gives each second of wall-clock time (when
          the delivery report came) a histogram of latencies (bucket b holds latencies between
          BUCKET_RATIO**b and BUCKET_RATIO**(b+1) microseconds), so that the caller can leave out
          seconds the host disturbed and still merge the rest exactly to that resolution.
"""

import argparse
import json
import math
import select
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


# Latency histogram buckets 2% wide: p99 to within 2%, a few hundred buckets a second at most.
BUCKET_RATIO = 1.02
LOG_RATIO = math.log(BUCKET_RATIO)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def topic_configs(args):
    return dict(kv.split("=", 1) for kv in args.topic_config)


def create(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    topic = NewTopic(args.topic, 1, 1, config=topic_configs(args))
    for _, f in admin.create_topics([topic], operation_timeout=30).items():
        f.result()
    emit({"created": args.topic})


def alter(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, args.topic, set_config=topic_configs(args))
    for _, f in admin.alter_configs([res]).items():
        f.result()
    emit({"altered": args.topic})


def fill(args):
    errors = []

    def on_delivery(err, _msg):
        if err is not None and len(errors) < 5:
            errors.append(str(err))

    p = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1000000,
            "queue.buffering.max.messages": 2000000,
            "queue.buffering.max.kbytes": 1048576,
            "enable.idempotence": False,
            "compression.type": "none",
        }
    )
    p.list_topics(args.topic, timeout=10)
    value = b"v" * args.size
    target = args.mib * 1024 * 1024
    written = 0
    i = 0
    t0 = time.time()
    while written < target:
        key = b"key-%d" % ((i * 7919) % args.keys)
        try:
            p.produce(args.topic, value, key=key, partition=0, on_delivery=on_delivery)
        except BufferError:
            p.poll(0.005)
            continue
        i += 1
        # What a record takes in a batch: about its key, value and 10 bytes of framing.
        written += len(key) + len(value) + 10
        if i % 10000 == 0:
            p.poll(0)
    p.flush(300)
    emit({"records": i, "bytes": written, "seconds": time.time() - t0, "errors": errors})


def latency(args):
    errors = []
    inflight = [0]
    p = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "linger.ms": 1,
            "enable.idempotence": False,
            "compression.type": "none",
            "socket.nagle.disable": True,
        }
    )
    p.list_topics(args.topic, timeout=10)
    pad = b"x" * args.size
    sent_at = {}
    lat = []
    windows = {}

    def delivered(err, msg):
        inflight[0] -= 1
        t = sent_at.pop(msg.key(), None)
        if err is not None:
            if len(errors) < 5:
                errors.append(str(err))
        elif t is not None:
            secs = time.perf_counter() - t
            lat.append(secs)
            window = windows.setdefault(int(time.time()), {})
            bucket = int(math.log(max(secs * 1e6, 1.0)) / LOG_RATIO)
            window[bucket] = window.get(bucket, 0) + 1

    emit({"ready": True})
    t0 = time.perf_counter()
    end = t0 + args.seconds if args.seconds > 0 else None
    n = 0
    stop = False
    while not stop:
        while inflight[0] < args.inflight:
            key = b"%d" % n
            sent_at[key] = time.perf_counter()
            try:
                p.produce(args.topic, pad, key=key, partition=0, on_delivery=delivered)
            except BufferError:
                sent_at.pop(key, None)
                break
            n += 1
            inflight[0] += 1
        p.poll(0.001)
        if end is not None:
            stop = time.perf_counter() >= end
        else:
            ready, _, _ = select.select([sys.stdin], [], [], 0)
            stop = bool(ready)
    t1 = time.perf_counter()
    p.flush(30)
    lat.sort()

    def pct(q):
        return 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0

    emit(
        {
            "records": len(lat),
            "seconds": t1 - t0,
            "mib_per_sec": len(lat) * args.size / (t1 - t0) / 1048576,
            "records_per_sec": len(lat) / (t1 - t0),
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": 1000 * lat[-1] if lat else 0,
            "errors": errors,
            "bucket_ratio": BUCKET_RATIO,
            "windows": [[sec, list(h.items())] for sec, h in sorted(windows.items())],
        }
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--topic-config", action="append", default=[])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=0)
    args = ap.parse_args()
    {"create": create, "alter": alter, "fill": fill, "latency": latency}[args.mode](args)


if __name__ == "__main__":
    main()
