import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.ts';
import { Exposition, escapeHelp, escapeLabelValue, formatValue, labelText } from './exposition.ts';

test('the writer escapes label values and help, and spells values as Go floats', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
  assert.deepEqual(
    [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -1.5, 1e21].map(
      formatValue,
    ),
    ['NaN', '+Inf', '-Inf', '0', '-1.5', '1e+21'],
  );
  const e = new Exposition()
    .family('t_total', 'counter', 'Help with a \\ and\na newline.')
    .sample('t_total', [['topic', 'we"ird\\na\nme']], 3)
    .sample('t_total', [['topic', 'plain']], 4);
  assert.equal(
    e.text(),
    [
      '# HELP t_total Help with a \\\\ and\\na newline.',
      '# TYPE t_total counter',
      't_total{topic="we\\"ird\\\\na\\nme"} 3',
      't_total{topic="plain"} 4',
      '',
    ].join('\n'),
  );
  const parsed = parsePrometheusText(e.text());
  assert.equal(sampleValue(parsed, 't_total', { topic: 'we"ird\\na\nme' }), 3);
  assert.equal(parsed.get('t_total')?.help, 'Help with a \\\\ and\\na newline.');
});

test('a summary holds its quantiles, _sum and _count; empty families are left out', () => {
  const e = new Exposition()
    .family('empty', 'gauge', 'No samples.')
    .family('rt', 'summary', 'Time.')
    .sample('rt', [['quantile', '0.5']], 1.5)
    .sample('rt_sum', [], 10)
    .sample('rt_count', [], 4)
    .single('up', 'gauge', 'Up.', 1);
  const parsed = parsePrometheusText(e.text());
  assert.deepEqual([...parsed.keys()], ['rt', 'up']);
  assert.equal(parsed.get('rt')?.type, 'summary');
  assert.equal(parsed.get('rt')?.samples.length, 3);
  assert.equal(sampleValue(parsed, 'rt_count'), 4);
  assert.equal(new Exposition().text(), '');
});

test('the writer refuses what the format forbids', () => {
  assert.throws(() => new Exposition().family('1bad', 'gauge', ''));
  assert.throws(() => new Exposition().family('x', 'gauge', '').family('x', 'gauge', ''));
  assert.throws(() => new Exposition().family('x', 'gauge', '').sample('y', [], 1));
  assert.throws(() => new Exposition().family('x', 'counter', '').sample('x_sum', [], 1));
  assert.throws(() => new Exposition().family('x', 'gauge', '').sample('x', [['a-b', 'v']], 1));
  assert.throws(() => new Exposition().family('x', 'gauge', '').sample('x', [['__n', 'v']], 1));
});

test('the parser is strict', () => {
  const bad = [
    'x 1', // no trailing newline
    'x{a="1",a="2"} 1\n',
    'x{a="\\t"} 1\n',
    'x{a="1"}1\n',
    'x one\n',
    'x 1\nx 2\n',
    'x 1\ny 1\nx{a="b"} 2\n',
    'x 1\n# TYPE x gauge\n',
    '# TYPE x gauge\n# TYPE x counter\n',
    '# TYPE x gaug\n',
    'x{a="1" 1\n',
    'x 1 2 3\n',
  ];
  for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, text);
  const good = '# a comment\n\n# TYPE x gauge\nx{a="1",} 1 1700000000000\nx +Inf\ny NaN\n';
  const parsed = parsePrometheusText(good);
  assert.equal(sampleValue(parsed, 'x', { a: '1' }), 1);
  assert.equal(parsed.get('x')?.samples[1]?.value, Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(sampleValue(parsed, 'y') as number));
});

test('label text written once gives the same lines as labels written every time', () => {
  const labels = [
    ['topic', 'a"b\\c'],
    ['partition', '3'],
  ] as const;
  const kept = labelText(labels);
  assert.equal(kept, '{topic="a\\"b\\\\c",partition="3"}');
  assert.equal(labelText([]), '');
  const each = new Exposition().family('x', 'gauge', 'h').sample('x', labels, 1).text();
  const once = new Exposition().family('x', 'gauge', 'h').sampleWith('x', kept, 1).text();
  assert.equal(once, each);
  assert.throws(() => labelText([['0bad', 'v']]));
});
