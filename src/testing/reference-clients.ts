/**
 * Helpers for the tests that drive the broker with Apache Kafka's own artifacts and the newest
 * clients, all installed by scripts/install-test-deps.sh: the Java client, Kafka Streams and
 * Kafka's tools (3.9 and 4.x, their classpaths in test/java/target/), current confluent-kafka and
 * kafka-python in .venv-test/, and franz-go built from test/go/.
 *
 * The check programs (test/java/src, test/go, test/fixtures/clients/pypi_check.py) print one line
 * per check, "ok <name>" or "FAIL <name>: <why>", so a test can assert each check by name and a
 * check that never ran fails as surely as one that failed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeRun,
  INSTALL_TEST_DEPS,
  type RunOptions,
  type RunResult,
  repoRoot,
  run,
} from './broker-process.ts';

export const INSTALL_HINT = `run \`${INSTALL_TEST_DEPS}\` first`;

/** The Apache Kafka versions the install script resolves: the last 3.x line and a 4.x. */
export const KAFKA_3 = '3.9.2';
export const KAFKA_4 = '4.4.0';

/** JVM flags for short-lived programs: C1 only and the serial collector start fastest. */
const JVM_FLAGS = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xshare:auto',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-Dorg.slf4j.simpleLogger.logFile=System.err',
];

/** The classpath of one Kafka version's jars; throws with the install command when missing. */
export function kafkaClasspath(version: string): string {
  const file = join(repoRoot(), 'test', 'java', 'target', `kafka-${version}.classpath`);
  if (!existsSync(file))
    throw new Error(`Apache Kafka ${version} is not installed: ${INSTALL_HINT}`);
  const classpath = readFileSync(file, 'utf8').trim();
  const missing = classpath.split(':').filter((jar) => !existsSync(jar));
  if (missing.length > 0) {
    throw new Error(`Kafka ${version} jars missing (${missing[0]}, ...): ${INSTALL_HINT}`);
  }
  return classpath;
}

/** A Java source file of test/java/src run with the single-file source launcher. */
export function javaSource(name: string): string {
  return join(repoRoot(), 'test', 'java', 'src', name);
}

/** Run `java` on a main class or a source file with one Kafka version's classpath. */
export async function runJava(
  version: string,
  mainOrSource: string,
  args: readonly string[],
  options: RunOptions & { readonly jvmFlags?: readonly string[] } = {},
): Promise<RunResult> {
  const classpath = kafkaClasspath(version);
  const cds = classSharing(version, classpath);
  const jvm = [...JVM_FLAGS, ...cds.flags, ...(options.jvmFlags ?? [])];
  const javaArgs = [...jvm, '-cp', classpath, mainOrSource, ...args];
  const r = await run('java', javaArgs, { timeoutMs: 120_000, ...options });
  // Only a run that ended on its own wrote its archive whole.
  cds.done(r.signal === null && !r.timedOut);
  return r;
}

/**
 * Class data sharing for the many short JVM runs of the tests: the first run of a classpath that
 * finds no archive writes the classes it loaded to one (the JDK's dynamic archive,
 * -XX:ArchiveClassesAtExit), and later runs map it; a Kafka tool then starts in about a third of
 * the time (kafka-consumer-groups --list: 0.83 s to 0.30 s here). The archive is named by a hash
 * of the classpath, written under a name of the run's own and renamed into place, so runs of
 * test files side by side never map half an archive. The JVM's own log lines (an archive it
 * cannot use, say) go to stderr, never into the output a test reads.
 */
function classSharing(
  version: string,
  classpath: string,
): { flags: string[]; done: (whole: boolean) => void } {
  const key = createHash('sha1').update(classpath).digest('hex').slice(0, 12);
  const archive = join(repoRoot(), 'test', 'java', 'target', `kafka-${version}-${key}.jsa`);
  const logs = ['-Xlog:disable', '-Xlog:all=warning:stderr'];
  if (existsSync(archive)) {
    return { flags: [...logs, `-XX:SharedArchiveFile=${archive}`], done: () => {} };
  }
  const own = `${archive}.${process.pid}.${randomUUID()}`;
  return {
    flags: [...logs, `-XX:ArchiveClassesAtExit=${own}`],
    done: (whole) => {
      try {
        if (whole && existsSync(own)) renameSync(own, archive);
      } catch {
        // Another run's archive serves as well.
      }
      rmSync(own, { force: true });
    },
  };
}

/** The Python of .venv-test/; throws with the install command when it is missing. */
export function venvPython(): string {
  const python = join(repoRoot(), '.venv-test', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`.venv-test/ is missing: ${INSTALL_HINT}`);
  return python;
}

/** The outcome of one check program: each check's failure message, or null when it passed. */
export interface CheckRun {
  readonly results: ReadonlyMap<string, string | null>;
  readonly run: RunResult;
}

export function parseChecks(r: RunResult): CheckRun {
  const results = new Map<string, string | null>();
  for (const line of r.stdout.toString('utf8').split('\n')) {
    if (line.startsWith('ok ')) results.set(line.slice(3).trim(), null);
    const failed = /^FAIL ([^:]+): (.*)$/.exec(line);
    if (failed !== null) results.set(failed[1] ?? '', failed[2] ?? '');
  }
  return { results, run: r };
}

/**
 * Throws unless the named check printed "ok": with its failure message, or with the program's
 * output when the check never ran (the program crashed, hung or was not installed).
 */
export function assertCheck(checks: CheckRun | undefined, name: string, context = ''): void {
  if (checks === undefined) throw new Error(`the check program did not run (${INSTALL_HINT})`);
  const result = checks.results.get(name);
  if (result === null) return;
  const why = result === undefined ? 'never reported' : result;
  throw new Error(`${name}: ${why}\n${describeRun(checks.run)}${context ? `\n${context}` : ''}`);
}

/** The go command: on PATH, else where this machine kind installs Go. */
function goCommand(): string {
  const onPath = (process.env['PATH'] ?? '')
    .split(':')
    .some((d) => d !== '' && existsSync(join(d, 'go')));
  return onPath ? 'go' : '/usr/local/go/bin/go';
}

/** Build the franz-go check program of test/go into `dir`; returns the binary's path. */
export async function buildFranzCheck(dir: string): Promise<string> {
  const binary = join(dir, 'franzcheck');
  const r = await run(goCommand(), ['build', '-o', binary, '.'], {
    cwd: join(repoRoot(), 'test', 'go'),
    timeoutMs: 180_000,
  });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`building test/go failed (${INSTALL_HINT}):\n${describeRun(r)}`);
  }
  return binary;
}

/** The script that drives current confluent-kafka and kafka-python from .venv-test/. */
export function pypiCheckScript(): string {
  return join(repoRoot(), 'test', 'fixtures', 'clients', 'pypi_check.py');
}

/** Main classes of Kafka 3.9's command line tools (what bin/kafka-*.sh run). */
export const KAFKA_3_TOOLS = {
  topics: 'org.apache.kafka.tools.TopicCommand',
  consoleProducer: 'kafka.tools.ConsoleProducer',
  consoleConsumer: 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  consumerGroups: 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  configs: 'kafka.admin.ConfigCommand',
  producerPerfTest: 'org.apache.kafka.tools.ProducerPerformance',
  consumerPerfTest: 'org.apache.kafka.tools.ConsumerPerformance',
  getOffsets: 'org.apache.kafka.tools.GetOffsetShell',
  deleteRecords: 'org.apache.kafka.tools.DeleteRecordsCommand',
  logDirs: 'org.apache.kafka.tools.LogDirsCommand',
  reassignPartitions: 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
  leaderElection: 'org.apache.kafka.tools.LeaderElectionCommand',
  transactions: 'org.apache.kafka.tools.TransactionsCommand',
  dumpLogSegments: 'kafka.tools.DumpLogSegments',
  acls: 'kafka.admin.AclCommand',
} as const;

/** Run one of Kafka 3.9's tools; throws with its output unless it exits 0. */
export async function kafkaTool(
  tool: keyof typeof KAFKA_3_TOOLS,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  return (await kafkaToolOutput(tool, args, options)).stdout;
}

/** As kafkaTool, with what the tool wrote on stderr too (where Kafka's tools print errors). */
export async function kafkaToolOutput(
  tool: keyof typeof KAFKA_3_TOOLS,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const r = await runJava(KAFKA_3, KAFKA_3_TOOLS[tool], args, { timeoutMs: 60_000, ...options });
  if (r.code !== 0 || r.timedOut) throw new Error(describeRun(r));
  return { stdout: r.stdout.toString('utf8'), stderr: r.stderr };
}
