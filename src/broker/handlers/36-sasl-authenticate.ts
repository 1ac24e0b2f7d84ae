/**
 * SaslAuthenticate (key 36), versions 0-2: one token of the SASL exchange chosen by SaslHandshake
 * (PLAIN: one message; SCRAM-SHA-256/512: two). A failure answers SASL_AUTHENTICATION_FAILED with
 * the reason, after connection.failed.authentication.delay.ms, and closes the connection once the
 * answer is written, as Kafka does. v1+ carries the session lifetime (connections.max.reauth.ms,
 * KIP-368); the same exchange again on an authenticated connection re-authenticates it.
 */
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { SaslAuthenticateRequest } from '../../protocol/messages/sasl-authenticate-request.ts';
import type { SaslAuthenticateResponse } from '../../protocol/messages/sasl-authenticate-response.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function saslAuthenticateHandler(): Handler {
  return defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
    apiKey: ApiKey.SaslAuthenticate,
    minVersion: 0,
    maxVersion: 2,
    handle: (req, ctx) => ctx.connection.security.authenticate(req.authBytes),
  });
}
