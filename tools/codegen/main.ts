/**
 * Code generator entry: Kafka's JSON message definitions -> src/protocol/messages/*.ts.
 *
 *   npm run codegen
 *   KAFKA_PROTOCOL_DIR=<dir> node build/tools/codegen/main.js [--out <dir>]
 *
 * Input: every *.json in KAFKA_PROTOCOL_DIR (default: ../shared/kafka-protocol/messages, resolved
 * from the repository root). Output: one module per definition, api-table.ts, schemas.ts (a plain
 * description for the property tests; runtime code never imports it) and index.ts. Stale
 * generated modules in the output directory are removed. The output is formatted by Biome
 * afterwards (package.json `codegen` script); the regeneration test does the same in a temp dir.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitMessage } from './emit.ts';
import { kebab, type Message, parseMessage } from './schema.ts';
import { emitApiTable, emitIndex, emitSchemas } from './tables.ts';

/** The directory holding package.json, searched upwards from this module. */
export function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tools', 'codegen'))) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('codegen: cannot find the repository root');
    }
    dir = parent;
  }
}

export function defaultInputDir(repoRoot: string): string {
  const fromEnv = process.env['KAFKA_PROTOCOL_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return resolve(repoRoot, fromEnv);
  }
  return resolve(repoRoot, '..', 'shared', 'kafka-protocol', 'messages');
}

export function loadMessages(inputDir: string): Message[] {
  const files = readdirSync(inputDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((f) => parseMessage(readFileSync(join(inputDir, f), 'utf8'), f));
}

/** Every generated file: name (relative to the output directory) -> unformatted content. */
export function generateAll(inputDir: string): Map<string, string> {
  const messages = loadMessages(inputDir);
  const out = new Map<string, string>();
  for (const msg of messages) {
    out.set(`${kebab(msg.name)}.ts`, emitMessage(msg));
  }
  out.set('api-table.ts', emitApiTable(messages));
  out.set('schemas.ts', emitSchemas(messages));
  out.set('index.ts', emitIndex(messages));
  return out;
}

export function writeAll(files: Map<string, string>, outDir: string): void {
  for (const existing of readdirSync(outDir)) {
    if (existing.endsWith('.ts') && !existing.endsWith('.test.ts') && !files.has(existing)) {
      rmSync(join(outDir, existing));
    }
  }
  for (const [name, content] of files) {
    writeFileSync(join(outDir, name), content);
  }
}

function main(): void {
  const repoRoot = findRepoRoot();
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir =
    outIndex >= 0 && args[outIndex + 1] !== undefined
      ? resolve(args[outIndex + 1] as string)
      : join(repoRoot, 'src', 'protocol', 'messages');
  const inputDir = defaultInputDir(repoRoot);
  if (!existsSync(inputDir)) {
    throw new Error(`codegen: no message definitions at ${inputDir} (set KAFKA_PROTOCOL_DIR)`);
  }
  const files = generateAll(inputDir);
  writeAll(files, outDir);
  process.stdout.write(`codegen: wrote ${files.size} files to ${outDir}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
