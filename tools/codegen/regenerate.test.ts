/**
 * Regenerating from the message definitions yields exactly the committed files (after the same
 * Biome formatting the codegen script applies). Skipped, with the reason printed, when the
 * definitions directory or the Biome binary is absent (e.g. a fresh clone without ../shared).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultInputDir, findRepoRoot, generateAll } from './main.ts';

const repoRoot = findRepoRoot();
const inputDir = defaultInputDir(repoRoot);
const biome = join(repoRoot, 'node_modules', '.bin', 'biome');
const committedDir = join(repoRoot, 'src', 'protocol', 'messages');

function skipReason(): string | undefined {
  if (!existsSync(inputDir)) {
    return `no message definitions at ${inputDir}`;
  }
  if (!existsSync(biome)) {
    return 'no Biome binary in node_modules';
  }
  return undefined;
}

const reason = skipReason();
if (reason !== undefined) {
  process.stdout.write(`# regenerate test skipped: ${reason}\n`);
}

test('regenerating the codecs reproduces the committed files', { skip: reason ?? false }, () => {
  const files = generateAll(inputDir);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-codegen-'));
  try {
    for (const [name, content] of files) {
      writeFileSync(join(dir, name), content);
    }
    // The temp dir lies outside the repository, so the VCS ignore file cannot apply to it.
    execFileSync(biome, ['format', '--write', '--vcs-use-ignore-file=false', dir], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    const committed = readdirSync(committedDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort();
    assert.deepEqual(committed, [...files.keys()].sort(), 'the set of generated files differs');
    for (const name of committed) {
      const expected = readFileSync(join(dir, name), 'utf8');
      const actual = readFileSync(join(committedDir, name), 'utf8');
      assert.ok(
        actual === expected,
        `${name} differs from a fresh generation (run npm run codegen)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
