/**
 * fast-check arbitraries for every generated message, built from messages/schemas.ts: a random
 * value of a message at one version, with defaults in the fields absent from that version (which
 * is what decoding fills in), nulls where the version allows them, tagged fields sometimes set and
 * sometimes default, and unknown tagged fields in flexible versions.
 *
 * Shared by the round-trip and fuzz tests (build-time and test code only; src/ never imports it).
 */
import fc from 'fast-check';
import * as codecs from '../../src/protocol/messages/index.ts';
import {
  type FieldSchema,
  type MessageSchema,
  messageSchemas,
} from '../../src/protocol/messages/schemas.ts';
import type { RawTaggedField, Reader } from '../../src/protocol/reader.ts';
import type { Writer } from '../../src/protocol/writer.ts';

export type Decode = (r: Reader, version: number) => unknown;
export type Encode = (w: Writer, msg: unknown, version: number) => void;

const table = codecs as unknown as Record<string, unknown>;

export function decoderOf(schema: MessageSchema): Decode {
  return table[`decode${schema.name}`] as Decode;
}

export function encoderOf(schema: MessageSchema): Encode {
  return table[`encode${schema.name}`] as Encode;
}

function defaultsOf(tsName: string): Record<string, unknown> {
  const factory = table[`default${tsName}`] as () => Record<string, unknown>;
  return factory();
}

function inSpan(span: readonly [number, number] | null, version: number): boolean {
  return span !== null && span[0] <= version && version <= span[1];
}

export function versionsOf(schema: MessageSchema): number[] {
  const span = schema.validVersions;
  const out: number[] = [];
  if (span !== null) {
    for (let v = span[0]; v <= span[1]; v++) {
      out.push(v);
    }
  }
  return out;
}

const bytes = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));
const uuid = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((u) => Buffer.from(u).toString('base64url'));

const primitives: Record<string, fc.Arbitrary<unknown>> = {
  bool: fc.boolean(),
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  uint16: fc.integer({ min: 0, max: 65535 }),
  int32: fc.integer({ min: -2147483648, max: 2147483647 }),
  uint32: fc.integer({ min: 0, max: 4294967295 }),
  int64: fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  ),
  float64: fc.double(),
  string: fc.string({ unit: 'binary', maxLength: 10 }),
  bytes,
  records: bytes,
  uuid,
};

/** Unknown tagged fields: strictly ascending tags above every known tag. */
const unknownTagged: fc.Arbitrary<RawTaggedField[]> = fc
  .uniqueArray(fc.integer({ min: 40, max: 100000 }), { minLength: 1, maxLength: 3 })
  .chain((tags) =>
    fc.tuple(...tags.sort((a, b) => a - b).map((tag) => bytes.map((data) => ({ tag, data })))),
  );

interface Ctx {
  readonly schema: MessageSchema;
  readonly version: number;
  readonly flexible: boolean;
}

function typeArbitrary(ctx: Ctx, type: string): fc.Arbitrary<unknown> {
  if (type.startsWith('[]')) {
    return fc.array(typeArbitrary(ctx, type.slice(2)), { maxLength: 3 });
  }
  const primitive = primitives[type];
  if (primitive !== undefined) {
    return primitive;
  }
  const fields = ctx.schema.structs[type];
  if (fields === undefined) {
    throw new Error(`${ctx.schema.name}: unknown struct ${type}`);
  }
  return structArbitrary(ctx, fields, `${ctx.schema.name}${type}`);
}

function fieldArbitrary(ctx: Ctx, field: FieldSchema, fallback: unknown): fc.Arbitrary<unknown> {
  if (!inSpan(field.versions, ctx.version) || (field.tagged && !ctx.flexible)) {
    return fc.constant(fallback);
  }
  let arb = typeArbitrary(ctx, field.type);
  if (inSpan(field.nullable, ctx.version)) {
    arb = fc.option(arb, { nil: null, freq: 4 });
  }
  if (field.tagged) {
    arb = fc.oneof(fc.constant(fallback), arb);
  }
  return arb;
}

function structArbitrary(
  ctx: Ctx,
  fields: readonly FieldSchema[],
  tsName: string,
): fc.Arbitrary<Record<string, unknown>> {
  const defaults = defaultsOf(tsName);
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) {
    shape[field.property] = fieldArbitrary(ctx, field, defaults[field.property]);
  }
  // fc.record builds null-prototype objects; decoders build plain ones.
  const record = fc.record(shape).map((value) => ({ ...value }));
  if (!ctx.flexible) {
    return record;
  }
  return fc
    .tuple(record, fc.option(unknownTagged, { nil: undefined, freq: 3 }))
    .map(([value, unknown]) =>
      unknown === undefined ? value : { ...value, unknownTaggedFields: unknown },
    );
}

export function messageArbitrary(
  schema: MessageSchema,
  version: number,
): fc.Arbitrary<Record<string, unknown>> {
  const ctx: Ctx = { schema, version, flexible: inSpan(schema.flexibleVersions, version) };
  return structArbitrary(ctx, schema.fields, schema.name);
}

export { messageSchemas };
