/**
 * The web console in a real headless Chromium (Debian's chromium, driven by playwright-core; no
 * browser download) against a broker child process with real data: a topic created, records
 * produced (by the console and by kcat) and found by offset and by a substring of a value, a
 * kcat group's lag rising and falling, a lag alarm posted to a webhook receiver here when it
 * fires and when it clears, the group reset to the earliest offsets (kcat then reads everything
 * again), the topic deleted. Every page is photographed at 1280x800 and 390x844 into
 * build/screenshots/, and at the phone width the page never scrolls sideways.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import {
  BrokerProcess,
  ChildRun,
  describeRun,
  INSTALL_TEST_DEPS,
  repoRoot,
  run,
  sleep,
} from '../src/testing/broker-process.ts';
import { ConsoleProcess } from '../src/testing/console-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const TOPIC = 'console-demo';
const GROUP = 'console-readers';
const SIZES = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

/**
 * Run in the page before its own scripts: records every progress step the page shows (the last
 * `#progress > .progress-step`) and whether the query's result was on the page yet; and, in
 * sessionStorage (it outlives the page), a sent form's state once its button is disabled.
 */
const PROGRESS_RECORDER = `
new MutationObserver((changes) => {
  for (const c of changes) {
    const button = c.target;
    if (!(button instanceof HTMLButtonElement) || !button.disabled) continue;
    const form = button.form;
    sessionStorage.setItem('sentForm', JSON.stringify({
      busy: form?.getAttribute('aria-busy') ?? null,
      button: button.textContent,
      disabled: button.disabled,
    }));
  }
}).observe(document, { attributes: true, attributeFilter: ['disabled'], subtree: true });
const log = [];
window.progressLog = log;
new MutationObserver(() => {
  const steps = document.querySelectorAll('#progress > .progress-step');
  const last = steps[steps.length - 1];
  if (last === undefined) return;
  const text = last.textContent ?? '';
  if (log.length > 0 && log[log.length - 1].text === text) return;
  log.push({ text, result: document.getElementById('result-summary') !== null });
}).observe(document, { childList: true, subtree: true });
`;

interface Hook {
  readonly event: string;
  readonly lag: number;
  readonly alarm: { group: string; topic: string; threshold: number };
  readonly receivedMs: number;
}

describe('tributary console in Chromium', { timeout: 600_000 }, () => {
  let broker: BrokerProcess;
  let console_: ConsoleProcess;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let hookUrl: string;
  const hooks: Hook[] = [];
  const shotsDir = join(repoRoot(), 'build', 'screenshots');

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing; install it with: ${INSTALL_TEST_DEPS}`,
    );
    await mkdir(shotsDir, { recursive: true });
    // An authorizer, for the ACLs page; the console and kcat connect as User:ANONYMOUS, a
    // super user.
    broker = await BrokerProcess.start({
      overrides: {
        'group.initial.rebalance.delay.ms': '0',
        'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
        'super.users': 'User:ANONYMOUS',
      },
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        hooks.push({ ...(JSON.parse(body) as Omit<Hook, 'receivedMs'>), receivedMs: Date.now() });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    console_ = await ConsoleProcess.start(broker.bootstrap, [
      '--alarms-file',
      join(broker.dataDir, 'alarms.json'),
      '--sample-interval-ms',
      '500',
      '--alarm-interval-ms',
      '500',
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await console_?.stop();
    receiver?.close();
    await broker?.cleanup();
  });

  /** Opens `path`, then photographs it at both sizes and checks the phone width. */
  async function visit(path: string, shot: string): Promise<void> {
    const r = await page.goto(`${console_.url}${path}`);
    assert.equal(r?.status(), 200, `${path}: ${await page.content()}`);
    await photograph(shot);
  }

  async function photograph(shot: string): Promise<void> {
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.screenshot({ path: join(shotsDir, `${shot}-${size.name}.png`), fullPage: true });
      if (size.name === 'phone') {
        const [scrollWidth, width] = (await page.evaluate(
          '[document.documentElement.scrollWidth, window.innerWidth]',
        )) as [number, number];
        assert.ok(scrollWidth <= width, `${shot}: page ${scrollWidth}px wide at ${width}px`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  async function flash(): Promise<string> {
    return (await page.locator('.flash').first().textContent()) ?? '';
  }

  async function groupLag(): Promise<{ state: string; lag: number }> {
    await page.goto(`${console_.url}/groups/${GROUP}`);
    const state = (await page.locator('#group-state').textContent()) ?? '';
    const lag = Number(await page.locator('#total-lag').textContent());
    return { state, lag };
  }

  async function waitForLag(want: (s: { state: string; lag: number }) => boolean, what: string) {
    let last = { state: '', lag: -1 };
    for (let i = 0; i < 120; i++) {
      last = await groupLag();
      if (want(last)) return last;
      await sleep(250);
    }
    assert.fail(`${what}: group page still shows ${JSON.stringify(last)}`);
  }

  function kcatMember(): ChildRun {
    return new ChildRun(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-G',
        GROUP,
        '-X',
        'auto.offset.reset=earliest',
        '-X',
        'auto.commit.interval.ms=100',
        '-q',
        TOPIC,
      ],
      { timeoutMs: 120_000 },
    );
  }

  async function kcatProduce(lines: string[]): Promise<void> {
    const r = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', TOPIC], {
      input: `${lines.join('\n')}\n`,
    });
    assert.equal(r.code, 0, describeRun(r));
  }

  test('overview and topic creation', async () => {
    await visit('/', 'overview');
    assert.match((await page.locator('h1').textContent()) ?? '', /Cluster/);
    assert.match((await page.locator('.facts').textContent()) ?? '', /Controller\s*0/);
    await visit('/topics', 'topics-empty');
    await page.fill('input[name=name]', TOPIC);
    await page.fill('input[name=partitions]', '1');
    await page.fill('textarea[name=configs]', 'retention.ms=86400000');
    await page.click('button:text("Create topic")');
    await page.waitForURL(/\/topics\/console-demo/);
    assert.match(await flash(), /Created topic console-demo/);
    await photograph('topic');
    const retention = page.locator('#configs input[aria-label="retention.ms"]');
    assert.equal(await retention.inputValue(), '86400000');
    assert.ok((await page.locator('#configs details.doc').count()) > 10, 'config docs inline');
  });

  test('produce from the console and kcat; find records by offset and by a substring', async () => {
    await visit(`/topics/${TOPIC}/produce`, 'produce');
    await page.fill('input[name=key]', 'k-1');
    await page.fill('textarea[name=value]', '{"greeting":"hello from the console","n":1}');
    await page.fill('textarea[name=headers]', 'source: browser-test');
    await page.click('form button:text("Produce")');
    await page.waitForURL(/messages\?mode=offset/);
    assert.match(await flash(), /Produced to partition 0 at offset 0/);
    await kcatProduce(Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));

    await page.goto(`${console_.url}/topics/${TOPIC}/messages`);
    await page.selectOption('select[name=mode]', 'offset');
    await page.selectOption('select[name=partition]', '0');
    await page.fill('input[name=offset]', '10');
    await page.fill('input[name=count]', '1');
    await page.click('button:text("Run query")');
    await page.waitForSelector('#records');
    const byOffset = page.locator('article.record');
    assert.equal(await byOffset.count(), 1);
    assert.equal(await byOffset.getAttribute('data-offset'), '10');
    assert.equal((await byOffset.locator('pre.value').textContent())?.trim(), 'line 10');
    await photograph('messages-offset');

    await page.selectOption('select[name=mode]', 'search');
    await page.fill('input[name=q]', 'from the console');
    await page.fill('input[name=offset]', '');
    await page.fill('input[name=count]', '5');
    await page.selectOption('select[name=format]', 'json');
    await page.click('button:text("Run query")');
    await page.waitForSelector('#records');
    const found = page.locator('article.record');
    assert.equal(
      await found.count(),
      1,
      (await page.locator('#result-summary').textContent()) ?? '',
    );
    assert.equal(await found.getAttribute('data-offset'), '0');
    assert.match((await found.locator('pre.value').textContent()) ?? '', /"greeting": "hello/);
    assert.match((await found.locator('.headers').textContent()) ?? '', /source\s*browser-test/);
    await photograph('messages-search');
    const copied = JSON.parse((await found.locator('button.copy').getAttribute('data-copy')) ?? '');
    assert.equal(copied.key, 'k-1');
    assert.deepEqual(copied.headers, [{ key: 'source', value: 'browser-test' }]);
    const doc = await page.request.get(`${console_.url}/topics/${TOPIC}/messages/0/0.json`);
    assert.equal((await doc.json()).value, '{"greeting":"hello from the console","n":1}');

    await page.goto(`${console_.url}/topics/${TOPIC}`);
    const row = page.locator('#partitions tbody tr').first();
    assert.equal(await row.locator('td').nth(5).textContent(), '41', 'log end offset');
  });

  test('a kcat group: lag rises and falls; the lag alarm fires and clears at the webhook', async () => {
    await visit('/alarms', 'alarms-empty');
    await page.fill('input[name=group]', GROUP);
    await page.fill('input[name=topic]', TOPIC);
    await page.fill('input[name=threshold]', '10');
    await page.fill('input[name=minutes]', '0');
    await page.fill('input[name=webhookUrl]', hookUrl);
    await page.click('button:text("Add alarm")');
    assert.match(await flash(), /Added an alarm/);

    let member = kcatMember();
    try {
      await waitForLag((s) => s.state === 'Stable' && s.lag === 0, 'kcat catches up');
      await visit('/groups', 'groups');
      await visit(`/groups/${GROUP}`, 'group-stable');
    } finally {
      member.kill('SIGTERM');
      await member.done;
    }
    await waitForLag((s) => s.state === 'Empty', 'kcat left');
    await kcatProduce(Array.from({ length: 30 }, (_, i) => `more ${i + 1}`));
    const crossedMs = Date.now();
    const risen = await waitForLag((s) => s.lag === 30, 'lag rises to 30');
    assert.equal(risen.state, 'Empty');
    await photograph('group-lagging');
    for (let i = 0; i < 240 && !hooks.some((h) => h.event === 'fired'); i++) await sleep(250);
    const fired = hooks.find((h) => h.event === 'fired');
    assert.ok(fired, 'the alarm fired');
    assert.ok(fired.receivedMs - crossedMs < 60_000, 'within a minute');
    assert.equal(fired.lag, 30);
    assert.deepEqual(
      [fired.alarm.group, fired.alarm.topic, fired.alarm.threshold],
      [GROUP, TOPIC, 10],
    );
    await visit('/alarms', 'alarms-firing');
    assert.equal(await page.locator('#alarms .phase').first().textContent(), 'firing');

    member = kcatMember();
    try {
      await waitForLag((s) => s.state === 'Stable' && s.lag === 0, 'lag falls to 0');
      for (let i = 0; i < 240 && !hooks.some((h) => h.event === 'cleared'); i++) await sleep(250);
      const cleared = hooks.find((h) => h.event === 'cleared');
      assert.ok(cleared, 'the alarm cleared');
      assert.equal(cleared.lag, 0);
    } finally {
      member.kill('SIGTERM');
      await member.done;
    }
    await waitForLag((s) => s.state === 'Empty' && s.lag === 0, 'kcat left again');
  });

  test('reset the group to earliest; kcat reads every record again', async () => {
    await page.goto(`${console_.url}/groups/${GROUP}`);
    await page.selectOption('select[name=to]', 'earliest');
    await page.click('button:text("Reset offsets")');
    await page.waitForURL(/ok=/);
    assert.match(await flash(), /Reset offsets: console-demo-0 → 0/);
    const after = await waitForLag((s) => s.lag === 71, 'lag after the reset');
    assert.equal(after.state, 'Empty');
    await photograph('group-reset');
    const again = await run(
      'kcat',
      ['-b', broker.bootstrap, '-G', GROUP, TOPIC, '-e', '-q', '-f', '%s\n'],
      { timeoutMs: 60_000 },
    );
    const lines = again.stdout.toString().trim().split('\n');
    assert.equal(lines.length, 71, describeRun(again));
    assert.equal(lines[1], 'line 1');
  });

  test('SCRAM users: add two, see their mechanisms and iterations, remove them', async () => {
    await visit('/users', 'users-empty');
    assert.equal(await page.locator('#users').count(), 0);
    const odd = `<b>o'brien</b>`;
    const addUser = async (user: string, mechanism: string, iterations: string) => {
      await page.fill('input[name=user]', user);
      await page.fill('input[name=password]', `${user}-secret`);
      await page.selectOption('select[name=mechanism]', mechanism);
      await page.fill('input[name=iterations]', iterations);
      await page.click('button:text("Save user")');
      await page.waitForURL(/\/users\?(ok|error)=/);
    };
    await addUser('carol', 'SCRAM-SHA-512', '8192');
    assert.match(await flash(), /Saved SCRAM-SHA-512 credentials for user carol/);
    await addUser(odd, 'SCRAM-SHA-256', '4096');
    const rows = async () =>
      page
        .locator('#users tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
        );
    assert.deepEqual(await rows(), [
      [odd, 'SCRAM-SHA-256', '4096'],
      ['carol', 'SCRAM-SHA-512', '8192'],
    ]);
    await photograph('users');
    // The form's bounds are checked on the server too.
    await page.locator('input[name=iterations]').evaluate((e) => e.removeAttribute('min'));
    await addUser('dave', 'SCRAM-SHA-256', '100');
    assert.match(await flash(), /iterations must be a whole number from 4096 to 16384/);
    await page.locator('#users tbody tr', { hasText: 'carol' }).locator('button').click();
    await page.waitForURL(/\/users\?ok=/);
    assert.match(await flash(), /Removed SCRAM-SHA-512 credentials of user carol/);
    await page.locator('#users tbody tr', { hasText: 'brien' }).locator('button').click();
    await page.waitForURL(/\/users\?ok=/);
    assert.equal(await page.locator('#users').count(), 0, 'no users left');
  });

  test('client quotas: set for a user, a client id default and an IP; see; delete', async () => {
    await visit('/quotas', 'quotas-empty');
    const setQuota = async (
      kind: string,
      fields: Record<string, string>,
      key: string,
      v: string,
    ) => {
      await page.selectOption('select[name=kind]', kind);
      for (const name of ['user', 'clientId', 'ip']) {
        await page.fill(`input[name=${name}]`, fields[name] ?? '');
      }
      await page.selectOption('select[name=key]', key);
      await page.fill('input[name=value]', v);
      await page.click('button:text("Set quota")');
      await page.waitForURL(/\/quotas\?(ok|error)=/);
    };
    await setQuota('user', { user: 'carol' }, 'producer_byte_rate', '1048576');
    assert.match(await flash(), /Set producer_byte_rate = 1048576 for user 'carol'/);
    await setQuota('user,client-id', { user: 'carol' }, 'request_percentage', '25');
    await setQuota('ip', { ip: '127.0.0.9' }, 'connection_creation_rate', '10');
    const rows = async () =>
      page
        .locator('#quotas tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
        );
    assert.deepEqual(await rows(), [
      ["user 'carol'", 'producer_byte_rate', '1,048,576 B/s'],
      ["user 'carol', client-id <default>", 'request_percentage', '25'],
      ["ip '127.0.0.9'", 'connection_creation_rate', '10'],
    ]);
    await photograph('quotas');
    // A refusal from the broker is shown: connection_creation_rate is for IP entities only.
    await setQuota('user', { user: 'carol' }, 'connection_creation_rate', '5');
    assert.match(await flash(), /INVALID_REQUEST/);
    // A field the entity does not use is refused before anything is sent.
    await setQuota('user', { user: 'carol', ip: '127.0.0.1' }, 'producer_byte_rate', '5');
    assert.match(await flash(), /the ip field is not part of a user entity/);
    for (let left = 3; left > 0; left--) {
      await page.locator('#quotas tbody tr').first().locator('button').click();
      await page.waitForURL(/\/quotas\?ok=/);
      assert.match(await flash(), /^Deleted /);
    }
    assert.equal(await page.locator('#quotas').count(), 0, 'no quotas left');
  });

  test('ACLs: add three, filter them, a refused one, remove them', async () => {
    await visit('/acls', 'acls-empty');
    assert.match((await page.locator('#acl-count').textContent()) ?? '', /^0 ACLs/);
    const addAcl = async (fields: Record<string, string>) => {
      for (const [name, value] of Object.entries(fields)) {
        const field = page.locator(`form[method="post"][action="/acls"] [name=${name}]`);
        if ((await field.evaluate((e) => e.tagName)) === 'SELECT') await field.selectOption(value);
        else await field.fill(value);
      }
      await page.click('button:text("Add ACL")');
      await page.waitForURL(/\/acls\?(ok|error)=/);
    };
    await addAcl({
      permission: 'ALLOW',
      principal: 'User:alice',
      operation: 'READ',
      type: 'TOPIC',
      pattern: 'LITERAL',
      name: TOPIC,
    });
    assert.match(await flash(), /Added ALLOW User:alice Read from \* on Topic console-demo/);
    await addAcl({
      permission: 'ALLOW',
      principal: 'User:alice',
      operation: 'READ',
      type: 'GROUP',
      pattern: 'PREFIXED',
      name: 'console-',
    });
    await addAcl({
      permission: 'DENY',
      principal: 'User:mallory',
      operation: 'ALL',
      host: '10.0.0.9',
      type: 'TOPIC',
      pattern: 'LITERAL',
      name: '*',
    });
    const rows = async () =>
      page.locator('#acls tbody tr').evaluateAll((trs) =>
        trs.map((tr) =>
          [...tr.querySelectorAll('td')]
            .slice(0, 7)
            .map((td) => td.textContent)
            .join(' '),
        ),
      );
    assert.deepEqual(await rows(), [
      'GROUP PREFIXED console- User:alice * READ ALLOW',
      'TOPIC LITERAL * User:mallory 10.0.0.9 ALL DENY',
      'TOPIC LITERAL console-demo User:alice * READ ALLOW',
    ]);
    await photograph('acls');
    // Filters: a principal; every ACL that applies to the topic (MATCH: its own and the wildcard).
    await page.fill('#acl-filter input[name=principal]', 'User:alice');
    await page.click('button:text("Filter")');
    await page.waitForURL(/principal=User/);
    assert.equal(await page.locator('#acls tbody tr').count(), 2);
    await page.fill('#acl-filter input[name=principal]', '');
    await page.selectOption('#acl-filter select[name=type]', 'TOPIC');
    await page.selectOption('#acl-filter select[name=pattern]', 'MATCH');
    await page.fill('#acl-filter input[name=name]', TOPIC);
    await page.click('button:text("Filter")');
    await page.waitForURL(/pattern=MATCH/);
    assert.deepEqual(
      (await rows()).map((r) => r.split(' ')[3]),
      ['User:mallory', 'User:alice'],
    );
    await photograph('acls-filtered');
    // Refused before anything is sent: a principal without its type; an operation a group lacks.
    await page.goto(`${console_.url}/acls`);
    await addAcl({ principal: 'alice', type: 'TOPIC', name: 'x' });
    assert.match(await flash(), /Invalid principal alice/);
    await addAcl({ principal: 'User:alice', operation: 'WRITE', type: 'GROUP', name: 'g' });
    assert.match(
      await flash(),
      /Group supports only Read, Describe, Delete \(and All\), not Write/,
    );
    for (let left = 3; left > 0; left--) {
      await page.locator('#acls tbody tr').first().locator('button').click();
      await page.waitForURL(/\/acls\?ok=/);
      assert.match(await flash(), /^Removed (ALLOW|DENY) /);
    }
    assert.equal(await page.locator('#acls').count(), 0, 'no ACLs left');
  });

  test('a long search shows its progress as it reads; a sent form shows it is working', async () => {
    // 299,999 records and one to find at the end, in small batches, read by a console that
    // fetches 4 KiB per partition and request: the search takes a few thousand fetches.
    const scanTopic = 'console-scan';
    const total = 300_000;
    const filler = Array.from({ length: total - 1 }, (_, i) => `scan record ${i}`);
    const produced = await run(
      'kcat',
      ['-b', broker.bootstrap, '-P', '-t', scanTopic, '-X', 'batch.num.messages=100'],
      { input: `${filler.join('\n')}\nneedle at the end\n`, timeoutMs: 120_000 },
    );
    assert.equal(produced.code, 0, describeRun(produced));
    const slow = await ConsoleProcess.start(broker.bootstrap, [
      '--alarms-file',
      join(broker.dataDir, 'alarms-scan.json'),
      '--fetch-partition-bytes',
      '4096',
    ]);
    const tab = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      // Every progress step the page shows, and whether the result was there yet.
      await tab.addInitScript(PROGRESS_RECORDER);
      await tab.goto(`${slow.url}/topics/${scanTopic}/messages`);
      await tab.selectOption('select[name=mode]', 'search');
      await tab.fill('input[name=q]', 'needle');
      await tab.fill('input[name=count]', '1');
      await tab.fill('input[name=scan]', String(2 * total));
      await tab.click('button:text("Run query")');
      await tab.waitForSelector('#result-summary', { timeout: 120_000 });
      // The form as it was while its answer was awaited (recorded before the page changed).
      const sent = JSON.parse(
        ((await tab.evaluate('sessionStorage.getItem("sentForm")')) as string | null) ?? '{}',
      );
      assert.deepEqual(sent, { busy: 'true', button: 'Working…', disabled: true });
      const summary = (await tab.locator('#result-summary').textContent()) ?? '';
      assert.match(summary, new RegExp(`^1 record\\(s\\), ${total} read`), summary);
      assert.equal(
        await tab.locator('article.record').getAttribute('data-offset'),
        String(total - 1),
      );
      const log = (await tab.evaluate('window.progressLog')) as { text: string; result: boolean }[];
      const partial = log.filter((e) => {
        const m = /^Read ([\d,]+) of at most ([\d,]+) records, 0 found/.exec(e.text);
        const read = Number((m?.[1] ?? '0').replaceAll(',', ''));
        return (
          !e.result &&
          m !== null &&
          read > 0 &&
          read < total &&
          m[2] === total.toLocaleString('en-US')
        );
      });
      assert.ok(partial.length >= 1, `progress before the result: ${JSON.stringify(log)}`);
      assert.equal(log[0]?.text, 'Reading…');
      assert.equal(log.at(-1)?.text, 'Done.');
      // Once done, the progress line is gone from view.
      assert.equal(await tab.locator('#progress').isVisible(), false);
      await tab.screenshot({
        path: join(shotsDir, 'messages-search-long-desktop.png'),
        fullPage: true,
      });
    } finally {
      await tab.close();
      await slow.stop();
    }
  });

  test('a broker error is shown on the page; the topic is deleted', async () => {
    await page.goto(`${console_.url}/topics/${TOPIC}`);
    await page.fill('input[name=count]', '1');
    await page.locator('input[name=count]').evaluate((e) => e.removeAttribute('min'));
    await page.click('button:text("Add partitions")');
    assert.match(await flash(), /INVALID_PARTITIONS/);
    await page.fill('input[name=confirm]', TOPIC);
    await page.click('button:text("Delete topic")');
    await page.waitForURL(/\/topics\?ok=/);
    assert.match(await flash(), /Deleted topic console-demo/);
    await photograph('topics-after-delete');
    assert.equal(await page.locator('#topics a', { hasText: TOPIC }).count(), 0);
    const missing = await page.goto(`${console_.url}/topics/${TOPIC}`);
    assert.equal(missing?.status(), 502);
    assert.match((await page.locator('.flash').textContent()) ?? '', /UNKNOWN_TOPIC_OR_PARTITION/);
  });
});
