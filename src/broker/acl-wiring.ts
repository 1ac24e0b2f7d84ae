/**
 * The authorizer of a broker, when authorizer.class.name names one: its in-memory ACLs read from
 * the store at start and kept current from the store's change notifications (on a cluster, the
 * ACLs another broker writes arrive through /kafka-acl-changes within the watch's round trip).
 */

import type { TopicControl } from '../cluster/topic-control.ts';
import type { ResourcePattern } from '../common/acl.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { Authorizer, parseSuperUsers } from '../security/authorizer.ts';

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
  return authorizer;
}
