/**
 * The web console as a child process (`tributary console`) on a free loopback port, for the
 * browser tests and the console benchmark.
 */
import { join } from 'node:path';
import { ChildRun, repoRoot } from './broker-process.ts';

export class ConsoleProcess {
  readonly url: string;
  readonly #child: ChildRun;

  private constructor(child: ChildRun, url: string) {
    this.#child = child;
    this.url = url;
  }

  /** Starts the console against `bootstrap` with extra options; resolves once it serves. */
  static async start(bootstrap: string, args: readonly string[] = []): Promise<ConsoleProcess> {
    const bin = join(repoRoot(), 'bin', 'tributary.js');
    const child = new ChildRun(
      process.execPath,
      [bin, 'console', '--bootstrap-server', bootstrap, '--listen', '127.0.0.1:0', ...args],
      { timeoutMs: 30 * 60_000 },
    );
    const serving = /^tributary console: serving (http:\/\/\S+)$/;
    await child.waitFor((lines) => lines.some((l) => serving.test(l)), 15_000);
    const line = child.lines.find((l) => serving.test(l)) as string;
    return new ConsoleProcess(child, serving.exec(line)?.[1] as string);
  }

  get stderr(): string {
    return this.#child.stderr;
  }

  /** SIGTERM, then wait for the exit. */
  async stop(): Promise<void> {
    this.#child.kill('SIGTERM');
    await this.#child.done;
  }
}
