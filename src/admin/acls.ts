/**
 * ACLs over the Kafka protocol, as Kafka's Admin client does it: DescribeAcls with a filter,
 * CreateAcls with bindings, DeleteAcls with filters (what each removed is answered back).
 */
import type { KafkaClient } from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import type { AclBinding, AclBindingFilter } from '../common/acl.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { CreateAclsResponse } from '../protocol/messages/create-acls-response.ts';
import type { DeleteAclsResponse } from '../protocol/messages/delete-acls-response.ts';
import type { DescribeAclsResponse } from '../protocol/messages/describe-acls-response.ts';

function filterFields(f: AclBindingFilter) {
  return {
    resourceTypeFilter: f.resourceType,
    resourceNameFilter: f.name,
    patternTypeFilter: f.patternType,
    principalFilter: f.principal,
    hostFilter: f.host,
    operation: f.operation,
    permissionType: f.permission,
  };
}

/** Every ACL the filter matches. */
export async function describeAcls(
  client: KafkaClient,
  filter: AclBindingFilter,
): Promise<AclBinding[]> {
  const { response } = await client.retry(() =>
    client.request<DescribeAclsResponse>(ApiKey.DescribeAcls, () => filterFields(filter)),
  );
  checkErrorCode(response.errorCode, 'ACLs', response.errorMessage);
  return response.resources.flatMap((r) =>
    r.acls.map((a) => ({
      pattern: { resourceType: r.resourceType, name: r.resourceName, patternType: r.patternType },
      entry: {
        principal: a.principal,
        host: a.host,
        operation: a.operation,
        permission: a.permissionType,
      },
    })),
  );
}

/** Creates the bindings; the first refusal is thrown (as a KafkaError) after all are tried. */
export async function createAcls(client: KafkaClient, bindings: readonly AclBinding[]) {
  if (bindings.length === 0) return;
  const { response } = await client.request<CreateAclsResponse>(ApiKey.CreateAcls, () => ({
    creations: bindings.map((b) => ({
      resourceType: b.pattern.resourceType,
      resourceName: b.pattern.name,
      resourcePatternType: b.pattern.patternType,
      principal: b.entry.principal,
      host: b.entry.host,
      operation: b.entry.operation,
      permissionType: b.entry.permission,
    })),
  }));
  const failed = response.results.find((r) => r.errorCode !== 0);
  if (failed !== undefined) throw new KafkaError(failed.errorCode, 'ACLs', failed.errorMessage);
}

/** Removes what the filters match; the ACLs removed. */
export async function deleteAcls(
  client: KafkaClient,
  filters: readonly AclBindingFilter[],
): Promise<AclBinding[]> {
  if (filters.length === 0) return [];
  const { response } = await client.request<DeleteAclsResponse>(ApiKey.DeleteAcls, () => ({
    filters: filters.map(filterFields),
  }));
  const removed: AclBinding[] = [];
  for (const r of response.filterResults) {
    checkErrorCode(r.errorCode, 'ACLs', r.errorMessage);
    for (const m of r.matchingAcls) {
      checkErrorCode(m.errorCode, 'ACLs', m.errorMessage);
      removed.push({
        pattern: { resourceType: m.resourceType, name: m.resourceName, patternType: m.patternType },
        entry: {
          principal: m.principal,
          host: m.host,
          operation: m.operation,
          permission: m.permissionType,
        },
      });
    }
  }
  return removed;
}
