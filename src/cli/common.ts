/**
 * Options every command takes: --bootstrap-server and --command-config, a client properties
 * file read by the admin library (clientOptionsFromProperties: client.id, timeouts, retries,
 * TLS and SASL). A file that cannot be used is a usage error; unused properties are reported
 * and ignored.
 */
import {
  Admin,
  type ClientOptions,
  ClientPropertiesError,
  clientOptionsFromProperties,
  DEFAULT_BOOTSTRAP,
} from '../admin/index.ts';
import { type OptionSpecs, type ParsedArgs, UsageError } from './args.ts';
import type { Io } from './output.ts';

export { DEFAULT_BOOTSTRAP };

export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': {
    kind: 'string',
    value: 'HOST:PORT[,...]',
    help: `brokers to connect to (default ${DEFAULT_BOOTSTRAP})`,
  },
  'command-config': {
    kind: 'string',
    value: 'FILE',
    help: 'client properties file (client.id, request.timeout.ms, retries, ...)',
  },
  help: { kind: 'flag', help: 'show this help' },
};

async function clientOptions(args: ParsedArgs, io: Io): Promise<ClientOptions> {
  try {
    return await clientOptionsFromProperties({
      bootstrap: args.string('bootstrap-server'),
      file: args.string('command-config'),
      warn: (message) => io.stderr.write(`tributary: warning: ${message}\n`),
    });
  } catch (err) {
    if (err instanceof ClientPropertiesError) throw new UsageError(err.message);
    throw err;
  }
}

/** Runs `fn` with an Admin connected as the common options say; always closes it. */
export async function withAdmin<T>(
  args: ParsedArgs,
  io: Io,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = new Admin(await clientOptions(args, io));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}
