/**
 * A watchdog for a test file that drives clients inside the test process (kafkajs,
 * @platformatic/kafka): if the file has not finished after `ms`, a worker thread (which runs
 * whatever the main event loop is doing, even a busy one that starves node:test's own timeouts)
 * prints why and kills the process, so a hang fails the file instead of the whole run.
 */
import { Worker } from 'node:worker_threads';

export function startWatchdog(ms: number, label: string): () => void {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     setTimeout(() => {
       process.stderr.write('watchdog: ' + workerData.label + ' still running after ' + workerData.ms + ' ms; killing the test process\\n');
       process.kill(workerData.pid, 'SIGKILL');
     }, workerData.ms);`,
    { eval: true, workerData: { ms, label, pid: process.pid } },
  );
  worker.unref();
  return () => {
    void worker.terminate();
  };
}
