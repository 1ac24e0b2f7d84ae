#!/usr/bin/python3
"""librdkafka (confluent-kafka) driver for bench/txn.ts: idempotent and transactional producers.

One mode per invocation; the last line printed on stdout is a JSON object with the figures.
CPU figures are this process's own user + system time (all librdkafka threads included).
Record i goes to partition i % P; its value is i as 8 big-endian bytes, then seeded bytes up to
--size, so the count mode can tell distinct records from duplicates.

  idempotent --bootstrap B --topic T --partitions P --size S --count N --seed X
      enable.idempotence, acks=all; N records, flush at the end.
  txn --bootstrap B --topic T --partitions P --size S --count N --per-txn K --txn-id ID --seed X
      transactional.id ID; N / K transactions of K records, each: begin, produce, flush,
      commit_transaction. Times the flush and the commit separately, for every transaction.
  probe --bootstrap B --topic T --partitions P --size S --count N --per-txn K --txn-id ID
      the txn mode's transactions with librdkafka's "eos" debug log, unmeasured: how many
      AddPartitionsToTxn answers were CONCURRENT_TRANSACTIONS (the coordinator still writing the
      previous transaction's markers), per transaction. librdkafka waits 20 ms before retrying.
  count --bootstrap B --topic T --partitions P
      reads every partition from the start with isolation.level=read_committed until each
      reports its end (the last stable offset); the records and the distinct values seen.
"""

import argparse
import json
import random
import resource
import struct
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def producer_config(args):
    # The same settings for both producers; only transactional.id differs.
    return {
        "bootstrap.servers": args.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "batch.size": 1000000,
        "queue.buffering.max.messages": 2000000,
        "queue.buffering.max.kbytes": 2097151,
        "compression.type": "none",
        "socket.nagle.disable": True,
    }


def values(args):
    """A function i -> the value of record i (a 64-value pool of seeded padding)."""
    rnd = random.Random(args.seed)
    pads = [bytes(rnd.getrandbits(8) for _ in range(max(0, args.size - 8))) for _ in range(64)]
    return lambda i: struct.pack(">q", i) + pads[i & 63]


class Errors:
    def __init__(self):
        self.count = 0
        self.first = []

    def on_delivery(self, err, _msg):
        if err is not None:
            self.count += 1
            if len(self.first) < 5:
                self.first.append(str(err))


def send(p, topic, value, partition, cb):
    while True:
        try:
            p.produce(topic, value, partition=partition, on_delivery=cb)
            return
        except BufferError:
            p.poll(0.001)


def idempotent(args):
    errors = Errors()
    value = values(args)
    p = Producer(producer_config(args))
    # Connect, fetch metadata and the producer id before the clock starts.
    p.list_topics(args.topic, timeout=10)
    cpu0 = cpu_seconds()
    t0 = time.time()
    for i in range(args.count):
        send(p, args.topic, value(i), i % args.partitions, errors.on_delivery)
    left = p.flush(120)
    t1 = time.time()
    emit(
        {
            "records": args.count,
            "bytes": args.count * args.size,
            "seconds": t1 - t0,
            "cpu": cpu_seconds() - cpu0,
            "errors": errors.count + left,
            "first_errors": errors.first,
        }
    )


def pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else None


def txn(args):
    errors = Errors()
    value = values(args)
    p = Producer({**producer_config(args), "transactional.id": args.txn_id,
                  "transaction.timeout.ms": 60000})
    p.list_topics(args.topic, timeout=10)
    p.init_transactions(30)
    per = args.per_txn
    txns = args.count // per
    flush_s = []
    commit_s = []
    cpu0 = cpu_seconds()
    t0 = time.time()
    i = 0
    for _ in range(txns):
        p.begin_transaction()
        for _ in range(per):
            send(p, args.topic, value(i), i % args.partitions, errors.on_delivery)
            i += 1
        a = time.time()
        # commit_transaction flushes first; flushing here splits the produce round trip
        # (AddPartitionsToTxn, Produce) from the commit (EndTxn).
        p.flush(60)
        b = time.time()
        p.commit_transaction(60)
        c = time.time()
        flush_s.append(b - a)
        commit_s.append(c - b)
    t1 = time.time()
    both = [f + c for f, c in zip(flush_s, commit_s)]
    emit(
        {
            "records": i,
            "bytes": i * args.size,
            "transactions": txns,
            "seconds": t1 - t0,
            "cpu": cpu_seconds() - cpu0,
            "errors": errors.count,
            "first_errors": errors.first,
            "flush_ms": [pct(flush_s, 0.5), pct(flush_s, 0.99)],
            "commit_ms": [pct(commit_s, 0.5), pct(commit_s, 0.99), pct(commit_s, 1.0)],
            "flush_commit_ms": [pct(both, 0.5), pct(both, 0.99)],
        }
    )


def probe(args):
    import logging

    concurrent = [0]

    class Counter(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            if "AddPartitionsToTxn response" in msg and "concurrent operation" in msg:
                concurrent[0] += 1

    log = logging.getLogger("txn-bench-probe")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(Counter())
    value = values(args)
    conf = {**producer_config(args), "transactional.id": args.txn_id, "debug": "eos"}
    p = Producer(conf, logger=log)
    p.list_topics(args.topic, timeout=10)
    p.init_transactions(30)
    per_txn = []
    i = 0
    for _ in range(args.count // args.per_txn):
        before = concurrent[0]
        p.begin_transaction()
        for _ in range(args.per_txn):
            send(p, args.topic, value(i), i % args.partitions, None)
            i += 1
        p.commit_transaction(60)
        p.poll(0)
        per_txn.append(concurrent[0] - before)
    # Log lines are served by poll(); a last one for those of the last transaction.
    p.poll(0.1)
    emit(
        {
            "records": i,
            "transactions": len(per_txn),
            "concurrent_answers": concurrent[0],
            "transactions_with_concurrent": sum(1 for n in per_txn if n > 0),
        }
    )


def count(args):
    c = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "txn-bench-count",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
        }
    )
    c.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    ended = set()
    records = 0
    seen = set()
    errors = []
    deadline = time.time() + 120
    while len(ended) < args.partitions and time.time() < deadline:
        for m in c.consume(num_messages=10000, timeout=0.5):
            err = m.error()
            if err is None:
                ended.discard(m.partition())
                records += 1
                seen.add(struct.unpack_from(">q", m.value(), 0)[0])
            elif err.code() == KafkaError._PARTITION_EOF:
                ended.add(m.partition())
            elif len(errors) < 5:
                errors.append(str(err))
    c.close()
    emit({"records": records, "distinct": len(seen), "ended": len(ended), "errors": errors})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["idempotent", "txn", "probe", "count"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--per-txn", type=int, default=100)
    ap.add_argument("--txn-id", default="txn-bench")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    {"idempotent": idempotent, "txn": txn, "probe": probe, "count": count}[args.mode](args)


if __name__ == "__main__":
    main()
