import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseArgs, parseKeyValues, splitTopLevel, UsageError } from './args.ts';
import { compileFormat } from './format.ts';
import { formatTable } from './output.ts';

const specs = {
  partitions: { kind: 'int', help: '' },
  config: { kind: 'list', help: '' },
  json: { kind: 'flag', help: '' },
  name: { kind: 'string', help: '' },
} as const;

test('options: --k v, --k=v, flags, repeats, positionals and --', () => {
  const a = parseArgs(
    ['create', '--partitions', '3', '--config=a=1', '--config', 'b=2', '--json', 'T', '--', '--x'],
    specs,
  );
  assert.deepEqual(a.positionals, ['create', 'T', '--x']);
  assert.equal(a.int('partitions'), 3);
  assert.deepEqual(a.list('config'), ['a=1', 'b=2']);
  assert.equal(a.flag('json'), true);
  assert.equal(a.string('name'), undefined);
});

test('usage errors: unknown option, missing value, bad integer, value on a flag', () => {
  for (const argv of [
    ['--nope'],
    ['--name'],
    ['--partitions', 'x'],
    ['--json=1'],
    ['--partitions=1.5'],
  ]) {
    assert.throws(() => parseArgs(argv, specs), UsageError, argv.join(' '));
  }
});

test('k=v lists: brackets keep commas inside a value', () => {
  assert.deepEqual(parseKeyValues('a=1,b=[x,y],c=', 'x'), [
    ['a', '1'],
    ['b', 'x,y'],
    ['c', ''],
  ]);
  assert.deepEqual(splitTopLevel('a,[b,c],d'), ['a', '[b,c]', 'd']);
  assert.throws(() => parseKeyValues('novalue', 'x'), UsageError);
});

test('tables: columns aligned, header upper case, no trailing spaces', () => {
  const t = formatTable(
    ['name', 'n'],
    [
      ['orders', '3'],
      ['a', '10'],
    ],
  );
  assert.equal(t, 'NAME    N\norders  3\na       10\n');
});

test('record templates: % fields, {} fields, escapes, a newline added when absent', () => {
  const record = {
    topic: 't',
    partition: 2,
    offset: 41,
    timestamp: 1700000000000,
    key: Buffer.from('k'),
    value: Buffer.from('v\u00e9'),
    headers: [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: null },
    ],
  };
  assert.equal(
    compileFormat('%t %p %o %T %k=%v %h %K %V 100%%')(record).toString(),
    't 2 41 1700000000000 k=vé a=1,b= 1 3 100%\n',
  );
  assert.equal(compileFormat('{key}\\t{value}\\n')(record).toString(), 'k\tvé\n');
  assert.equal(compileFormat('{nothing} {offset}')(record).toString(), '{nothing} 41\n');
  const nulls = { ...record, key: null, value: null, headers: [] };
  assert.equal(compileFormat('[%k][%v][%h] %K %V')(nulls).toString(), '[][][] -1 -1\n');
  assert.throws(() => compileFormat('%z'), UsageError);
});
