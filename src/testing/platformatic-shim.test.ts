import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConnectionPool, NetworkError } from '@platformatic/kafka';
import './platformatic-shim.ts';

describe('the @platformatic/kafka connection-pool guard', () => {
  it('answers a lookup of a broker missing from the metadata with a retriable error', async () => {
    const pool = new ConnectionPool('shim-test');
    const missing = undefined as unknown as Parameters<typeof pool.get>[0];
    const answered = await new Promise<Error | null>((resolve) => {
      pool.get(missing, (error) => resolve(error));
    });
    assert.ok(answered instanceof NetworkError, String(answered));
    assert.equal((answered as NetworkError)['canRetry'], true);
    await assert.rejects(pool.get(missing), NetworkError);
    await pool.close();
  });
});
