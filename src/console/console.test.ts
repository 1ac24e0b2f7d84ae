/**
 * The console's pure parts: HTML escaping, the alarm state machine, record formatting; and a
 * streamed page served over a fake admin and sampler (the browser test drives the real ones).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { aclFromForm } from './actions-acls.ts';
import { quotaEntityFromForm, quotaEntityFromJson } from './actions-security.ts';
import {
  type AlarmRule,
  type AlarmState,
  AlarmStore,
  checkRule,
  INITIAL_STATE,
  stepAlarm,
  webhookBody,
} from './alarms.ts';
import { type ConsoleContext, DEFAULT_LIMITS } from './context.ts';
import {
  formatBytes,
  formatSize,
  hexDump,
  isPrintable,
  type RecordView,
  recordJson,
  recordMatches,
  sparklinePoints,
} from './format.ts';
import { escapeHtml, html, path, raw } from './html.ts';
import { progressStep, streamFrame } from './layout.ts';
import { parseListen } from './main.ts';
import { aclFilterFromQuery } from './pages-acls.ts';
import { ConsoleServer, isLoopbackHost } from './server.ts';

describe('HTML', () => {
  test('escapes the five special characters', () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });

  test('templates escape values, keep HTML made here, flatten lists, drop null and false', () => {
    const name = '<script>alert(1)</script>';
    const out = html`<td title="${name}">${name}${raw('<b>ok</b>')}${[1, '<', html`<i>x</i>`]}${null}${false}</td>`;
    assert.equal(
      out.text,
      '<td title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;<b>ok</b>1&lt;<i>x</i></td>',
    );
  });

  test('an attribute cannot be closed by a value', () => {
    assert.equal(
      html`<input value="${'" onfocus="x'}">`.text,
      '<input value="&quot; onfocus=&quot;x">',
    );
  });

  test('paths percent-encode each segment', () => {
    assert.equal(path('groups', 'a/b c?', 3), '/groups/a%2Fb%20c%3F/3');
  });
});

const RULE: AlarmRule = {
  id: 'r1',
  group: 'g',
  topic: 't',
  threshold: 100,
  minutes: 2,
  webhookUrl: 'http://127.0.0.1:1/hook',
};

/** Runs a sequence of (lag, minute) checks; returns the phases and events. */
function steps(rule: AlarmRule, checks: readonly [number | null, number][]) {
  let state: AlarmState = INITIAL_STATE;
  const out: string[] = [];
  for (const [lag, minute] of checks) {
    const r = stepAlarm(rule, state, lag, minute * 60_000);
    state = r.state;
    out.push(r.event === null ? state.phase : `${state.phase}:${r.event}`);
  }
  return out;
}

describe('lag alarm state machine', () => {
  test('fires after the lag stays above the threshold for M minutes, clears once at or below', () => {
    assert.deepEqual(
      steps(RULE, [
        [50, 0],
        [101, 1],
        [500, 2],
        [500, 3],
        [500, 4],
        [100, 5],
        [0, 6],
      ]),
      ['ok', 'pending', 'pending', 'firing:fired', 'firing', 'ok:cleared', 'ok'],
    );
  });

  test('dropping below before M minutes resets the clock without an event', () => {
    assert.deepEqual(
      steps(RULE, [
        [200, 0],
        [200, 1.9],
        [10, 2],
        [200, 3],
        [200, 4.5],
        [200, 5],
      ]),
      ['pending', 'pending', 'ok', 'pending', 'pending', 'firing:fired'],
    );
  });

  test('M = 0 fires at the first check above the threshold', () => {
    assert.deepEqual(
      steps({ ...RULE, minutes: 0 }, [
        [101, 0],
        [99, 0.1],
      ]),
      ['firing:fired', 'ok:cleared'],
    );
  });

  test('an unknown lag neither fires nor clears', () => {
    assert.deepEqual(
      steps({ ...RULE, minutes: 0 }, [
        [null, 0],
        [500, 1],
        [null, 2],
        [null, 3],
        [1, 4],
      ]),
      ['ok', 'firing:fired', 'firing', 'firing', 'ok:cleared'],
    );
  });

  test('the webhook body names the rule, the event and the lag', () => {
    const body = webhookBody(RULE, 'fired', 123, Date.UTC(2024, 0, 1)) as Record<string, unknown>;
    assert.equal(body['event'], 'fired');
    assert.equal(body['lag'], 123);
    assert.equal(body['at'], '2024-01-01T00:00:00.000Z');
    assert.deepEqual(body['alarm'], {
      id: 'r1',
      group: 'g',
      topic: 't',
      threshold: 100,
      minutes: 2,
    });
    assert.match(String(body['text']), /group g on topic t has lag 123, above 100/);
  });

  test('rules are checked: numbers, a http(s) webhook, names present', () => {
    const ok = {
      group: 'g',
      topic: 't',
      threshold: '5',
      minutes: '0.5',
      webhookUrl: 'https://x/y',
    };
    assert.deepEqual(checkRule(ok), { ...ok, threshold: 5, minutes: 0.5 });
    assert.throws(() => checkRule({ ...ok, threshold: '-1' }), /threshold/);
    assert.throws(() => checkRule({ ...ok, threshold: '1.5' }), /whole number/);
    assert.throws(() => checkRule({ ...ok, webhookUrl: 'file:///etc/passwd' }), /http/);
    assert.throws(() => checkRule({ ...ok, group: ' ' }), /group is required/);
  });

  test('the rules file round-trips; a bad file is refused with its name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alarms-'));
    try {
      const file = join(dir, 'alarms.json');
      const store = new AlarmStore(file);
      await store.load();
      assert.deepEqual(store.rules, []);
      const rule = await store.add({
        group: 'g',
        topic: 't',
        threshold: 1,
        minutes: 0,
        webhookUrl: 'http://h/',
      });
      const again = new AlarmStore(file);
      await again.load();
      assert.deepEqual(again.rules, [rule]);
      assert.equal(await again.remove(rule.id), true);
      assert.equal(await again.remove(rule.id), false);
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { version: 1, rules: [] });
      await writeFile(file, '{"rules":3}');
      await assert.rejects(new AlarmStore(file).load(), /alarms\.json: expected/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const RECORD: RecordView = {
  topic: 't',
  partition: 2,
  offset: 7,
  timestamp: Date.UTC(2024, 4, 1, 12),
  key: Buffer.from('user-1'),
  value: Buffer.from('{"a":[1,2],"b":"x"}'),
  headers: [
    { key: 'trace', value: Buffer.from('abc') },
    { key: 'bin', value: Buffer.from([0, 255]) },
  ],
};

describe('record formatting', () => {
  test('text, pretty JSON and hex', () => {
    assert.equal(formatBytes(RECORD.value, 'text'), '{"a":[1,2],"b":"x"}');
    assert.equal(
      formatBytes(RECORD.value, 'json'),
      '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}',
    );
    assert.equal(formatBytes(Buffer.from('not json'), 'json'), 'not json');
    assert.equal(formatBytes(null, 'text'), 'null');
    assert.equal(
      formatBytes(Buffer.from('ABCDEFGHIJKLMNOPQ'), 'hex'),
      '00000000  41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP\n00000010  51                                               Q',
    );
  });

  test('bytes that are not printable UTF-8 are shown in hex even as text', () => {
    assert.equal(isPrintable(Buffer.from('tab\tand\nnewline')), true);
    assert.equal(isPrintable(Buffer.from([0xc3, 0x28])), false);
    assert.equal(isPrintable(Buffer.from([1, 2])), false);
    assert.equal(formatBytes(Buffer.from([1, 2]), 'text'), hexDump(Buffer.from([1, 2])));
  });

  test('one record as JSON: text where printable, base64 where not', () => {
    assert.deepEqual(JSON.parse(recordJson(RECORD)), {
      topic: 't',
      partition: 2,
      offset: 7,
      timestamp: Date.UTC(2024, 4, 1, 12),
      timestampIso: '2024-05-01T12:00:00.000Z',
      key: 'user-1',
      value: '{"a":[1,2],"b":"x"}',
      headers: [
        { key: 'trace', value: 'abc' },
        { key: 'bin', value: null, valueBase64: 'AP8=' },
      ],
    });
    const binary = JSON.parse(recordJson({ ...RECORD, key: null, value: Buffer.from([0xff]) }));
    assert.equal(binary.key, null);
    assert.equal(binary.value, null);
    assert.equal(binary.valueBase64, '/w==');
  });

  test('search matches a substring of the chosen field', () => {
    const n = (s: string) => Buffer.from(s);
    assert.equal(recordMatches(RECORD, n('user'), 'key'), true);
    assert.equal(recordMatches(RECORD, n('user'), 'value'), false);
    assert.equal(recordMatches(RECORD, n('"b"'), 'value'), true);
    assert.equal(recordMatches(RECORD, n('abc'), 'header'), true);
    assert.equal(recordMatches(RECORD, n('trace'), 'header'), true);
    assert.equal(recordMatches(RECORD, n('abc'), 'any'), true);
    assert.equal(recordMatches(RECORD, n('zzz'), 'any'), false);
  });

  test('sizes and sparklines', () => {
    assert.equal(formatSize(512), '512 B');
    assert.equal(formatSize(1536), '1.5 KiB');
    assert.equal(formatSize(300 * 1024 * 1024), '300 MiB');
    assert.equal(sparklinePoints([0, 0]), '0,23 120,23');
    assert.equal(sparklinePoints([0, 10, 5]), '0,23 60,1 120,12');
  });
});

describe('addresses', () => {
  test('--listen and the loopback Host check', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.throws(() => parseListen('8080'), /HOST:PORT/);
    for (const ok of ['localhost:8080', '127.0.0.1', '127.1.2.3:80', '[::1]:8080', 'LOCALHOST']) {
      assert.equal(isLoopbackHost(ok), true, ok);
    }
    for (const bad of ['evil.example:8080', '127.0.0.1.evil.example', '', '10.0.0.1:80']) {
      assert.equal(isLoopbackHost(bad), false, bad);
    }
  });
});

describe('quota forms', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);

  test('the set form names an entity: blank names are the defaults', () => {
    assert.deepEqual(quotaEntityFromForm(form({ kind: 'user', user: ' carol ' })), [
      { entityType: 'user', entityName: 'carol' },
    ]);
    assert.deepEqual(quotaEntityFromForm(form({ kind: 'user,client-id', user: 'carol' })), [
      { entityType: 'user', entityName: 'carol' },
      { entityType: 'client-id', entityName: null },
    ]);
    assert.deepEqual(quotaEntityFromForm(form({ kind: 'ip', ip: '' })), [
      { entityType: 'ip', entityName: null },
    ]);
  });

  test('a field the entity does not use, or an unknown kind, is refused', () => {
    assert.throws(
      () => quotaEntityFromForm(form({ kind: 'user', user: 'a', ip: '1.2.3.4' })),
      /the ip field is not part of a user entity/,
    );
    assert.throws(() => quotaEntityFromForm(form({ kind: 'group' })), /choose a user/);
  });

  test('the delete form carries the entity as JSON, checked', () => {
    const entity = [{ entityType: 'user', entityName: null }];
    assert.deepEqual(quotaEntityFromJson(JSON.stringify(entity)), entity);
    for (const bad of ['', '[]', '{}', '[{"entityType":1}]', '[{"entityType":"user"}]']) {
      assert.throws(() => quotaEntityFromJson(bad), /names no quota entity/, bad);
    }
  });
});

describe('ACL forms', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);
  const alice = {
    permission: 'ALLOW',
    principal: 'User:alice',
    operation: 'DESCRIBE_CONFIGS',
    host: '*',
    type: 'TRANSACTIONAL_ID',
    pattern: 'PREFIXED',
    name: 'tx-',
  };

  test('an ACL from the add form, by Kafka names in any case', () => {
    assert.deepEqual(
      aclFromForm(form({ ...alice, operation: 'describe', type: 'transactionalid' })),
      {
        pattern: { resourceType: 5, name: 'tx-', patternType: 4 },
        entry: { principal: 'User:alice', host: '*', operation: 8, permission: 3 },
      },
    );
  });

  test('refused as kafka-acls refuses: bad principal, unsupported operation, cluster name, blanks', () => {
    assert.throws(() => aclFromForm(form({ ...alice })), /supports only Describe, Write/);
    assert.throws(
      () => aclFromForm(form({ ...alice, operation: 'ALL', principal: 'alice' })),
      /Invalid principal alice/,
    );
    assert.throws(
      () => aclFromForm(form({ ...alice, operation: 'ALL', type: 'CLUSTER', name: 'c' })),
      /only valid name for the CLUSTER resource is kafka-cluster/,
    );
    assert.throws(() => aclFromForm(form({ ...alice, pattern: 'MATCH' })), /pattern type MATCH/);
    assert.throws(() => aclFromForm(form({ ...alice, host: ' ' })), /a host is required/);
    // An ACL another tool wrote with an operation its type lacks can still be removed.
    assert.equal(aclFromForm(form({ ...alice }), true).entry.operation, 10);
  });

  test('the list filter: blank fields match anything', () => {
    assert.deepEqual(aclFilterFromQuery(new URLSearchParams('')), {
      resourceType: 1,
      name: null,
      patternType: 1,
      principal: null,
      host: null,
      operation: 1,
      permission: 1,
    });
    const f = aclFilterFromQuery(
      new URLSearchParams('type=TOPIC&name=t&pattern=MATCH&permission=DENY'),
    );
    assert.deepEqual([f.resourceType, f.name, f.patternType, f.permission], [2, 't', 2, 2]);
    assert.throws(
      () => aclFilterFromQuery(new URLSearchParams('operation=fly')),
      /unknown operation fly/,
    );
  });
});

describe('streamed pages', () => {
  test('a frame splits where the progress line goes; only the last step is meant to show', () => {
    const [before, after] = streamFrame(
      {
        title: 'T <x>',
        section: 'topics',
        head: html`<h1>${'<head>'}</h1>`,
        working: 'w',
        rest: async () => html``,
      },
      { ok: null, error: null },
      'cluster',
    );
    assert.match(before, /<title>T &lt;x&gt; · Tributary console<\/title>/);
    assert.ok(before.endsWith('<h1>&lt;head&gt;</h1>'), before.slice(-80));
    assert.match(after, /^\s*<\/main>\s*<\/body>\s*<\/html>\s*$/);
    assert.equal(progressStep('Read <1>'), '<p class="progress-step">Read &lt;1&gt;</p>');
    assert.equal(progressStep('Done.', true), '<p class="progress-step progress-done">Done.</p>');
  });

  test('the topic list streams a progress line until the first sample is taken', async () => {
    let sampled!: () => void;
    const gate = new Promise<void>((resolve) => {
      sampled = resolve;
    });
    const sampler = {
      sampledAtMs: 0,
      ready: () => gate,
      rates: () => [],
      topic: () => undefined,
      totalRates: [],
      lastError: null,
      intervalMs: 1000,
    };
    const ctx = {
      admin: {
        client: { options: { bootstrapServers: ['127.0.0.1:9'] } },
        listTopics: async () => [],
      },
      sampler,
      alarms: {},
      limits: DEFAULT_LIMITS,
      csrf: 'token',
    } as unknown as ConsoleContext;
    const server = new ConsoleServer(ctx);
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      let beforeSample: string | null = null;
      const body = await new Promise<string>((resolve, reject) => {
        get(`${url}/topics`, (res) => {
          assert.equal(res.statusCode, 200);
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            // The frame and the progress line come before the sample; the list after it.
            if (beforeSample === null && text.includes('Taking the first sample')) {
              beforeSample = text;
              sampler.sampledAtMs = 1;
              sampled();
            }
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.match(
        body,
        /<div class="progress" id="progress" role="status"[^>]*><p class="progress-step">Taking the first sample/,
      );
      assert.match(body, /progress-done">Done\.<\/p><\/div>\s*<h1>Topics<\/h1>/);
      assert.match(body, /0 of 0 topics/);
      assert.match(body, /<\/html>\s*$/);
      assert.ok(!(beforeSample ?? '0 of 0').includes('0 of 0 topics'), 'the list waits');
      // Sampled: the page comes at once, without a progress line.
      const again = await (await fetch(`${url}/topics`)).text();
      assert.ok(!again.includes('id="progress"'));
      assert.match(again, /0 of 0 topics/);
    } finally {
      await server.close();
    }
  });
});
