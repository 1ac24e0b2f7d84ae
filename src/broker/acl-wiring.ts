/**
 * The authorizer of a broker, when authorizer.class.name names one: its in-memory ACLs read from
 * the store at start and kept current from the store's change notifications (on a cluster, the
 * ACLs another broker writes arrive through /kafka-acl-changes within the watch's round trip).
 */

import { X509Certificate } from 'node:crypto';
import type { TopicControl } from '../cluster/topic-control.ts';
import { AclOperation, CLUSTER_NAME, type ResourcePattern, ResourceType } from '../common/acl.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { Authorizer, parseSuperUsers } from '../security/authorizer.ts';
import { resolveInterBrokerSecurity } from '../security/inter-broker.ts';
import { resolveListenerSecurity } from '../security/listener-security.ts';
import { ANONYMOUS } from '../security/session.ts';
import { certificateDistinguishedName } from './server.ts';

export async function startAuthorizer(
  config: BrokerConfig,
  control: TopicControl,
  log: (message: string) => void,
): Promise<Authorizer | null> {
  const s = config.settings;
  if (s.authorizerClassName.trim() === '') return null;
  const authorizer = new Authorizer({
    superUsers: parseSuperUsers(s.superUsers),
    allowEveryoneIfNoAclFound: s.allowEveryoneIfNoAclFound,
  });
  // Refreshes run one after another, in the order the changes were heard.
  let refreshing: Promise<void> = Promise.resolve();
  const refresh = async (pattern: ResourcePattern | null): Promise<void> => {
    if (pattern === null) authorizer.load(await control.acls());
    else authorizer.setAcls(pattern, await control.aclsOf(pattern));
  };
  await control.onAclChange((pattern) => {
    refreshing = refreshing
      .then(() => refresh(pattern))
      .catch((err: unknown) => log(`reading ACLs: ${String(err)}`));
  });
  authorizer.load(await control.acls());
  // The brokers' own requests (the controller's, replication, transaction markers) come over
  // the inter-broker listener as its principal: say so at start when that principal is not
  // allowed ClusterAction, rather than let replication fail request by request.
  const principal = interBrokerPrincipal(config);
  const brokers = { principal: principal ?? ANONYMOUS, host: '127.0.0.1' };
  if (
    principal !== null &&
    !authorizer.authorize(brokers, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)
  ) {
    log(
      `authorizer: the inter-broker listener's principal ${principal} is not allowed ClusterAction on the cluster: ` +
        `the controller's requests, replication and transaction markers will be refused (add it to super.users, docs/security.md)`,
    );
  }
  return authorizer;
}

/**
 * The principal other brokers see this broker as on the inter-broker listener: its SASL user,
 * the subject of its certificate when the listener asks for client certificates, else
 * ANONYMOUS; null when it cannot be known here (a certificate in a PKCS12 keystore, a subject
 * ssl.principal.mapping.rules refuse).
 */
export function interBrokerPrincipal(config: BrokerConfig): string | null {
  const security = resolveInterBrokerSecurity(config);
  if (security.sasl !== undefined) return `User:${security.sasl.username}`;
  const tls = security.tls;
  const listener = resolveListenerSecurity(config).get(security.listener);
  const clientAuth = listener?.tls?.clientAuth ?? 'none';
  if (tls === undefined || clientAuth === 'none') {
    return ANONYMOUS;
  }
  if (tls.cert === undefined) return null;
  try {
    const dn = certificateDistinguishedName(new X509Certificate(tls.cert).subject);
    // ssl.principal.mapping.rules of the listener, as the other brokers apply them.
    return `User:${listener?.tls?.principalMapper.userOf(dn) ?? dn}`;
  } catch {
    return null;
  }
}
