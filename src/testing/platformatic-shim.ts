/**
 * A guard for a defect of @platformatic/kafka 1.35, the last release that runs on Node 20.
 *
 * A consumer's group operation finds its coordinator with FindCoordinator (asked of one broker)
 * and looks the id up in the broker list of its cached Metadata (from another). When the two
 * disagree for a moment (a broker cut off from ZooKeeper still names itself coordinator, as an
 * isolated Kafka broker does), the lookup gives `undefined`, `ConnectionPool.get` reads its host,
 * and the TypeError escapes from a socket callback and ends the process. Release 2.x answers a
 * retriable NetworkError there instead, but needs Node 22.
 *
 * The test children that drive this client install the same answer, so that a fault which makes
 * two brokers disagree tests the broker rather than this defect. Importing the module installs it.
 */
import { ConnectionPool, NetworkError } from '@platformatic/kafka';

type Callback = (error: Error | null, connection?: unknown) => void;
interface PoolGet {
  get(this: ConnectionPool, broker: unknown, callback?: Callback): unknown;
}

const prototype = ConnectionPool.prototype as unknown as PoolGet;
const original = prototype.get;

let answered = 0;

/** How many lookups of a broker missing from the metadata this process answered so far. */
export function missingBrokerLookups(): number {
  return answered;
}

prototype.get = function get(this: ConnectionPool, broker: unknown, callback?: Callback) {
  if (broker !== null && broker !== undefined) return original.call(this, broker, callback);
  answered++;
  const error = new NetworkError(
    'Cannot get a connection: the broker is not in the current cluster metadata.',
  );
  if (callback === undefined) return Promise.reject(error);
  callback(error);
  return undefined;
};
