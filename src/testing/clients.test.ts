import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasPythonModule, requireClient } from './clients.ts';

test('a missing client fails the test, naming the client and the install command', () => {
  assert.throws(
    () => requireClient('kcat (/usr/bin/kcat)', () => false),
    /kcat \(\/usr\/bin\/kcat\) is not installed; .*sh scripts\/install-test-deps\.sh/,
  );
  assert.doesNotThrow(() => requireClient('node', () => true));
});

test('a Python module that does not exist is reported missing', () => {
  assert.equal(hasPythonModule('tributary_no_such_module'), false);
});
