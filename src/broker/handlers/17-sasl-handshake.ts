/**
 * SaslHandshake (key 17), versions 0-1: a SASL listener's client names the mechanism of the
 * exchange that follows: SaslAuthenticate requests after v1, raw SASL tokens (a length and the
 * token, no request header, as before KIP-152) after v0. Answered with the listener's enabled
 * mechanisms; UNSUPPORTED_SASL_MECHANISM for another one; ILLEGAL_SASL_STATE on a listener
 * without SASL or in the middle of an exchange.
 */
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { SaslHandshakeRequest } from '../../protocol/messages/sasl-handshake-request.ts';
import type { SaslHandshakeResponse } from '../../protocol/messages/sasl-handshake-response.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function saslHandshakeHandler(): Handler {
  return defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
    apiKey: ApiKey.SaslHandshake,
    minVersion: 0,
    maxVersion: 1,
    handle: (req, ctx) => {
      const security = ctx.connection.security;
      return {
        errorCode: security.handshake(req.mechanism, ctx.apiVersion),
        mechanisms: [...(security.sasl?.mechanisms ?? [])],
      };
    },
  });
}
