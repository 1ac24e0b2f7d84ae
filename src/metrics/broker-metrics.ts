/**
 * The broker's metrics, read from the components that own the values when `/metrics` is scraped;
 * nothing here runs on the request paths. Names follow what the Prometheus JMX exporter makes of
 * Kafka's MBeans (kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=t becomes
 * kafka_server_brokertopicmetrics_messagesin_total{topic="t"}); the consumer-group lag follows
 * kafka_exporter's kafka_consumergroup_lag. docs/operations.md lists them.
 *
 * The only counters on the hot paths are plain fields: each Partition's messages and bytes in
 * (leader appends) and bytes out (consumer fetches), and the ReplicaManager's ISR changes.
 * TopicTotals turns the per-partition fields into per-topic counters that never go down, even
 * when a replica is removed or created again.
 */
import type { MetadataCache } from '../cluster/metadata-cache.ts';
import type { GroupCoordinator } from '../group/coordinator.ts';
import type { Partition } from '../replica/partition.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';
import { Exposition, labelText } from './exposition.ts';

/** What the broker's request timer reports per API (broker/request-times.ts). */
export interface RequestTotalsView {
  readonly api: string;
  readonly countTotal: number;
  readonly msTotal: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

export interface MetricsSources {
  readonly nodeId: number;
  readonly partitions: ReplicaManager;
  readonly metadata: MetadataCache;
  readonly groups: GroupCoordinator;
  readonly requestTimes: { totals(): readonly RequestTotalsView[] };
}

interface TopicCounts {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

/** Per-topic sums of the partitions' counters, kept monotonic across replica changes. */
export class TopicTotals {
  /** What each replica had counted at the previous scrape. */
  readonly #seen = new WeakMap<Partition, TopicCounts>();
  readonly #byTopic = new Map<string, TopicCounts>();

  /** Adds what each replica counted since the previous call; topics with no replica go. */
  update(partitions: Iterable<Partition>): ReadonlyMap<string, Readonly<TopicCounts>> {
    const live = new Set<string>();
    for (const p of partitions) {
      live.add(p.topic);
      let topic = this.#byTopic.get(p.topic);
      if (topic === undefined) {
        topic = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
        this.#byTopic.set(p.topic, topic);
      }
      let seen = this.#seen.get(p);
      if (seen === undefined) {
        seen = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
        this.#seen.set(p, seen);
      }
      topic.messagesIn += p.messagesInTotal - seen.messagesIn;
      topic.bytesIn += p.bytesInTotal - seen.bytesIn;
      topic.bytesOut += p.bytesOutTotal - seen.bytesOut;
      seen.messagesIn = p.messagesInTotal;
      seen.bytesIn = p.bytesInTotal;
      seen.bytesOut = p.bytesOutTotal;
    }
    for (const name of [...this.#byTopic.keys()]) if (!live.has(name)) this.#byTopic.delete(name);
    return this.#byTopic;
  }
}

const QUANTILES = [
  ['0.50', 'p50Ms'],
  ['0.99', 'p99Ms'],
  ['0.999', 'p999Ms'],
] as const;

/**
 * The partitions in (topic, partition) order, sorted again only when the set changes: with
 * 10,000 partitions the sort would be a good part of a scrape. Each partition's label text is
 * kept with it, written once.
 */
class SortedPartitions {
  #unsorted: Partition[] = [];
  #sorted: Partition[] = [];
  readonly #labels = new WeakMap<Partition, string>();

  update(partitions: Iterable<Partition>): readonly Partition[] {
    const now = [...partitions];
    const same =
      now.length === this.#unsorted.length && now.every((p, i) => p === this.#unsorted[i]);
    if (!same) {
      this.#unsorted = now;
      this.#sorted = [...now].sort(
        (a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) || a.partition - b.partition,
      );
    }
    return this.#sorted;
  }

  /** `{topic="t",partition="3"}` for a partition. */
  labels(p: Partition): string {
    let text = this.#labels.get(p);
    if (text === undefined) {
      text = labelText([
        ['topic', p.topic],
        ['partition', String(p.partition)],
      ]);
      this.#labels.set(p, text);
    }
    return text;
  }
}

export class BrokerMetrics {
  readonly #sources: MetricsSources;
  readonly #topics = new TopicTotals();
  readonly #partitions = new SortedPartitions();
  /** `{topic="t"}` by topic, for the topics of the last scrape. */
  #topicLabels = new Map<string, string>();

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  /** The whole broker-side exposition. */
  collect(): string {
    const e = new Exposition();
    this.#topicMetrics(e);
    this.#requestMetrics(e);
    this.#replicaMetrics(e);
    this.#controllerMetrics(e);
    this.#logMetrics(e);
    this.#cleanerMetrics(e);
    this.#groupMetrics(e);
    return e.text();
  }

  #topicMetrics(e: Exposition): void {
    const topics = [...this.#topics.update(this.#sources.partitions.all())].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
    );
    const labels = new Map<string, string>();
    for (const [topic] of topics) {
      labels.set(topic, this.#topicLabels.get(topic) ?? labelText([['topic', topic]]));
    }
    this.#topicLabels = labels;
    const families = [
      ['messagesin', 'messagesIn', 'Records appended as leader, by topic.'],
      ['bytesin', 'bytesIn', 'Record bytes appended as leader, by topic.'],
      ['bytesout', 'bytesOut', 'Record bytes returned to consumers (not followers), by topic.'],
    ] as const;
    for (const [suffix, field, help] of families) {
      const name = `kafka_server_brokertopicmetrics_${suffix}_total`;
      e.family(name, 'counter', help);
      for (const [topic, counts] of topics) {
        e.sampleWith(name, labels.get(topic) as string, counts[field]);
      }
    }
  }

  #requestMetrics(e: Exposition): void {
    const totals = this.#sources.requestTimes.totals();
    const requests = 'kafka_network_requestmetrics_requests_total';
    e.family(requests, 'counter', 'Requests answered, by API.');
    for (const t of totals) e.sample(requests, [['request', t.api]], t.countTotal);
    const time = 'kafka_network_requestmetrics_totaltimems';
    e.family(
      time,
      'summary',
      'Time from taking a request up to handing its response to the socket, in ms, by API (quantiles since start or the last SIGUSR2).',
    );
    for (const t of totals) {
      for (const [q, field] of QUANTILES) {
        e.sample(
          time,
          [
            ['request', t.api],
            ['quantile', q],
          ],
          t[field],
        );
      }
      e.sample(`${time}_sum`, [['request', t.api]], t.msTotal);
      e.sample(`${time}_count`, [['request', t.api]], t.countTotal);
    }
  }

  #replicaMetrics(e: Exposition): void {
    const manager = this.#sources.partitions;
    let leaders = 0;
    let under = 0;
    let underMinIsr = 0;
    for (const p of manager.all()) {
      if (!p.isLeader) continue;
      leaders++;
      if (p.isr.length < p.replicas.length) under++;
      if (p.isr.length < p.config.minInsyncReplicas) underMinIsr++;
    }
    const prefix = 'kafka_server_replicamanager_';
    e.single(
      `${prefix}partitioncount`,
      'gauge',
      'Partition replicas here.',
      manager.partitionCount,
    );
    e.single(`${prefix}leadercount`, 'gauge', 'Partitions led here.', leaders);
    e.single(
      `${prefix}underreplicatedpartitions`,
      'gauge',
      'Partitions led here whose ISR is smaller than their replica set.',
      under,
    );
    e.single(
      `${prefix}underminisrpartitioncount`,
      'gauge',
      'Partitions led here whose ISR is below min.insync.replicas.',
      underMinIsr,
    );
    e.single(
      `${prefix}isrshrinks_total`,
      'counter',
      'ISR shrinks committed by leaders here.',
      manager.isrShrinksTotal,
    );
    e.single(
      `${prefix}isrexpands_total`,
      'counter',
      'ISR expansions committed by leaders here.',
      manager.isrExpandsTotal,
    );
  }

  #controllerMetrics(e: Exposition): void {
    const metadata = this.#sources.metadata;
    const active = metadata.controllerId === this.#sources.nodeId;
    let offline = 0;
    if (active) {
      for (const t of metadata.topics()) for (const p of t.partitions) if (p.leader < 0) offline++;
    }
    const prefix = 'kafka_controller_kafkacontroller_';
    e.single(
      `${prefix}activecontrollercount`,
      'gauge',
      '1 on the active controller, else 0.',
      active ? 1 : 0,
    );
    e.single(
      `${prefix}offlinepartitionscount`,
      'gauge',
      'Partitions without a leader (on the active controller; 0 elsewhere).',
      offline,
    );
  }

  #logMetrics(e: Exposition): void {
    const partitions = this.#partitions.update(this.#sources.partitions.all());
    const families = [
      ['kafka_log_log_size', 'Bytes of the partition log here (every segment).'],
      ['kafka_log_log_logendoffset', 'Log end offset of the partition here.'],
      ['kafka_log_log_logstartoffset', 'Log start offset of the partition here.'],
    ] as const;
    for (const [name, help] of families) {
      e.family(name, 'gauge', help);
      for (const p of partitions) {
        const log = p.log;
        const value =
          name === 'kafka_log_log_size'
            ? log.sizeInBytes()
            : name === 'kafka_log_log_logendoffset'
              ? log.logEndOffset
              : log.logStartOffset;
        e.sampleWith(name, this.#partitions.labels(p), value);
      }
    }
  }

  /** Kafka's log cleaner gauges (LogCleaner and LogCleanerManager), as the JMX exporter names them. */
  #cleanerMetrics(e: Exposition): void {
    const g = this.#sources.partitions.logs.cleaner.gauges();
    e.single(
      'kafka_log_logcleanermanager_max_dirty_percent',
      'gauge',
      "Dirty ratio (percent) of the filthiest compacted log at the cleaner's last choice.",
      g.maxDirtyPercent,
    );
    e.single(
      'kafka_log_logcleaner_max_clean_time_secs',
      'gauge',
      "Seconds the longest of the cleaner threads' last cleanings took.",
      g.maxCleanTimeSecs,
    );
    e.single(
      'kafka_log_logcleaner_cleaner_recopy_percent',
      'gauge',
      "Bytes written over bytes read (percent) by the cleaner threads' last cleanings.",
      g.recopyPercent,
    );
  }

  /** Groups this broker coordinates, for partitions with a replica here (its high watermark). */
  #groupMetrics(e: Exposition): void {
    const groups = this.#sources.groups;
    const rows: { labels: [string, string][]; committed: number; lag: number }[] = [];
    const ids = groups.listGroups([], []).groups.map((g) => g.groupId);
    for (const id of ids.sort()) {
      const group = groups.group(id);
      if (group === undefined) continue;
      for (const [topic, byPartition] of [...group.offsets].sort((a, b) =>
        a[0] < b[0] ? -1 : 1,
      )) {
        for (const [partition, o] of [...byPartition].sort((a, b) => a[0] - b[0])) {
          const replica = this.#sources.partitions.get(topic, partition);
          if (replica === undefined) continue;
          const labels: [string, string][] = [
            ['group', id],
            ['topic', topic],
            ['partition', String(partition)],
          ];
          rows.push({
            labels,
            committed: o.offset,
            lag: Math.max(0, replica.highWatermark - o.offset),
          });
        }
      }
    }
    e.family(
      'kafka_consumergroup_current_offset',
      'gauge',
      'Offset committed by a group this broker coordinates.',
    );
    for (const r of rows) e.sample('kafka_consumergroup_current_offset', r.labels, r.committed);
    e.family(
      'kafka_consumergroup_lag',
      'gauge',
      "The partition's high watermark minus the group's committed offset.",
    );
    for (const r of rows) e.sample('kafka_consumergroup_lag', r.labels, r.lag);
  }
}
