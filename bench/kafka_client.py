#!/usr/bin/python3
"""librdkafka (confluent-kafka) driver for bench/run.ts.

One mode per invocation; the last line printed on stdout is a JSON object with the figures.
CPU figures are this process's own user + system time (all librdkafka threads included).

  produce  --bootstrap B --topic T --partitions P --size S --acks A --count N
  consume  --bootstrap B --topic T --partitions P --count N
  latency-consume  --bootstrap B --topic T --seconds S   (prints a line 'ready' once assigned)
  latency-produce  --bootstrap B --topic T --size S --rate R --seconds S
  create   --bootstrap B --topic T --partitions P [--topic-config k=v]
  metadata --bootstrap B --repeat K

--client-config k=v (repeatable) adds librdkafka settings to every client, e.g. the security ones
(security.protocol=SASL_SSL, sasl.mechanisms, sasl.username, sasl.password, ssl.ca.location).
"""

import argparse
import json
import resource
import struct
import sys
import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def extra_config(args):
    return dict(kv.split("=", 1) for kv in args.client_config)


def producer_config(args, acks):
    conf = {"bootstrap.servers": args.bootstrap, **extra_config(args)}
    if args.bootstrap == "mock":
        # The client alone: librdkafka's built-in mock cluster, a C sink in this process that
        # acknowledges every batch and keeps it in memory.
        conf = {"test.mock.num.brokers": 1, "log_level": 3}
    return {
        **conf,
        "acks": acks,
        "linger.ms": args.linger,
        "batch.size": 1000000,
        "queue.buffering.max.messages": 2000000,
        "queue.buffering.max.kbytes": 2097151,
        "enable.idempotence": False,
        "compression.type": "none",
        "socket.nagle.disable": True,
    }


def produce(args):
    errors = []

    def on_delivery(err, _msg):
        if err is not None and len(errors) < 5:
            errors.append(str(err))

    p = Producer(producer_config(args, args.acks))
    # Connect and fetch metadata before the clock starts.
    p.list_topics(args.topic, timeout=10)
    value = b"x" * args.size
    parts = args.partitions
    if args.bootstrap == "mock":
        # The mock cluster auto-creates topics with 4 partitions and cannot create others.
        parts = min(parts, 4)
    topic = args.topic
    n = args.count
    cb = on_delivery if args.acks != "0" else None
    cpu0 = cpu_seconds()
    t0 = time.time()
    i = 0
    while i < n:
        try:
            p.produce(topic, value, partition=i % parts, on_delivery=cb)
            i += 1
        except BufferError:
            p.poll(0.001)
    p.flush(120)
    t1 = time.time()
    cpu1 = cpu_seconds()
    emit(
        {
            "records": n,
            "bytes": n * args.size,
            "start": t0,
            "end": t1,
            "seconds": t1 - t0,
            "cpu": cpu1 - cpu0,
            "errors": errors,
        }
    )


def consumer_config(args):
    return {
        "bootstrap.servers": args.bootstrap,
        **extra_config(args),
        "group.id": "bench",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 262144,
        "queued.min.messages": 5000000,
        "enable.partition.eof": False,
        "socket.nagle.disable": True,
    }


def consume(args):
    c = Consumer(consumer_config(args))
    c.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    n = args.count
    got = 0
    nbytes = 0
    # The clock starts at the first message: connecting and looking up offsets are not counted,
    # and neither are the records of that first batch.
    first = 0
    cpu0 = cpu_seconds()
    t0 = None
    deadline = time.time() + 120
    while got < n and time.time() < deadline:
        msgs = c.consume(num_messages=10000, timeout=1.0)
        for m in msgs:
            if m.error() is None:
                got += 1
                nbytes += len(m.value())
        if t0 is None and got > 0:
            t0 = time.time()
            cpu0 = cpu_seconds()
            first = got
    t1 = time.time()
    cpu1 = cpu_seconds()
    c.close()
    if t0 is None:
        t0 = t1
    emit(
        {
            "records": got - first,
            "bytes": nbytes * (got - first) // max(got, 1),
            "start": t0,
            "end": t1,
            "seconds": t1 - t0,
            "cpu": cpu1 - cpu0,
        }
    )


def latency_consume(args):
    c = Consumer(consumer_config(args))
    c.assign([TopicPartition(args.topic, 0, OFFSET_END)])
    # Wait until the assignment has fetched once.
    c.consume(num_messages=1, timeout=1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    cpu0 = cpu_seconds()
    t0 = time.time()
    lat = []
    # On a topic with message.timestamp.type=LogAppendTime each record also carries the moment
    # the broker appended it (ms): the latency splits into producer -> broker and broker -> consumer.
    to_broker = []
    from_broker = []
    received = 0
    end = time.time() + args.seconds + 5
    idle_since = None
    while time.time() < end:
        # consume(n, timeout) waits for n messages or the timeout, whichever comes first: block
        # for one message only, then take whatever else is already there.
        first = c.poll(0.2)
        now = time.time_ns()
        msgs = [] if first is None else [first] + c.consume(num_messages=10000, timeout=0)
        if not msgs:
            if lat and idle_since is None:
                idle_since = time.time()
            if idle_since is not None and time.time() - idle_since > 1.0:
                break
            continue
        idle_since = None
        received += len(msgs)
        # Every 8th message is timed: the consumer must keep up with the rate in Python.
        for m in msgs[::8]:
            v = m.value()
            if m.error() is None and v is not None and len(v) >= 8:
                sent = struct.unpack_from(">q", v, 0)[0]
                lat.append(now - sent)
                ts_type, ts = m.timestamp()
                if ts_type == TIMESTAMP_LOG_APPEND_TIME:
                    to_broker.append(ts * 1_000_000 - sent)
                    from_broker.append(now - ts * 1_000_000)
    busy = (cpu_seconds() - cpu0) / (time.time() - t0)
    c.close()
    lat.sort()
    to_broker.sort()
    from_broker.sort()

    def pct(q, xs=lat):
        if not xs:
            return None
        return xs[min(len(xs) - 1, int(q * len(xs)))] / 1e6

    emit(
        {
            "records": received,
            "samples": len(lat),
            "busy": busy,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "p999_ms": pct(0.999),
            "max_ms": lat[-1] / 1e6 if lat else None,
            "to_broker_ms": [pct(q, to_broker) for q in (0.5, 0.99, 0.999)],
            "from_broker_ms": [pct(q, from_broker) for q in (0.5, 0.99, 0.999)],
        }
    )


def latency_produce(args):
    p = Producer(producer_config(args, args.acks))
    p.list_topics(args.topic, timeout=10)
    cpu0 = cpu_seconds()
    pad = b"x" * max(0, args.size - 8)
    rate = args.rate
    t0 = time.time()
    sent = 0
    total = int(rate * args.seconds)
    while sent < total:
        due = int((time.time() - t0) * rate) + 1
        if due > total:
            due = total
        while sent < due:
            try:
                p.produce(args.topic, struct.pack(">q", time.time_ns()) + pad, partition=0)
                sent += 1
            except BufferError:
                p.poll(0.0005)
        p.poll(0)
        time.sleep(0.0005)
    p.flush(30)
    t1 = time.time()
    busy = (cpu_seconds() - cpu0) / (t1 - t0)
    emit({"records": sent, "seconds": t1 - t0, "rate": sent / (t1 - t0), "busy": busy})


def create(args):
    a = AdminClient({"bootstrap.servers": args.bootstrap, **extra_config(args)})
    t0 = time.time()
    fs = a.create_topics(
        [NewTopic(args.topic, args.partitions, args.replication, config=dict(kv.split("=", 1) for kv in args.topic_config))],
        operation_timeout=120,
        request_timeout=120,
    )
    for f in fs.values():
        try:
            f.result()
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise
    emit({"seconds": time.time() - t0})


def metadata(args):
    a = AdminClient({"bootstrap.servers": args.bootstrap, **extra_config(args)})
    a.list_topics(timeout=30)
    times = []
    parts = 0
    for _ in range(args.repeat):
        t0 = time.time()
        md = a.list_topics(timeout=60)
        times.append(time.time() - t0)
        parts = sum(len(t.partitions) for t in md.topics.values())
    times.sort()
    emit({"median_ms": times[len(times) // 2] * 1000, "partitions": parts})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="bench")
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--replication", type=int, default=1)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--acks", default="1")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--linger", type=float, default=5)
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--topic-config", action="append", default=[])
    ap.add_argument("--client-config", action="append", default=[])
    args = ap.parse_args()
    modes = {
        "produce": produce,
        "consume": consume,
        "latency-consume": latency_consume,
        "latency-produce": latency_produce,
        "create": create,
        "metadata": metadata,
    }
    modes[args.mode](args)


if __name__ == "__main__":
    main()
