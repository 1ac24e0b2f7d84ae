/**
 * Kafka's JSON message definitions, parsed into a resolved model the emitter walks.
 * The rules are those of ../shared/kafka-protocol/FORMAT.md (section 1): version ranges, field
 * keys, defaults, commonStructs, field-level flexibleVersions.
 */

export interface VersionRange {
  readonly lo: number;
  /** Inclusive; lo > hi means no versions. */
  readonly hi: number;
}

export const VERSION_MAX = 32767;
export const NO_VERSIONS: VersionRange = { lo: 1, hi: 0 };

export type PrimitiveName =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveName>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: PrimitiveName }
  | { readonly kind: 'struct'; readonly struct: string }
  | {
      readonly kind: 'array';
      readonly element:
        | { readonly kind: 'primitive'; readonly name: PrimitiveName }
        | { readonly kind: 'struct'; readonly struct: string };
    };

export interface Field {
  readonly name: string;
  /** JSON name with the first letter lower-cased. */
  readonly property: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  /** Intersected with `versions`. */
  readonly nullableVersions: VersionRange;
  readonly taggedVersions: VersionRange;
  readonly tag: number | undefined;
  readonly ignorable: boolean;
  /** The raw `default` value from the JSON, if any. */
  readonly defaultRaw: string | number | boolean | undefined;
  /** Field-level override of the message's flexible versions (string/bytes only). */
  readonly flexibleVersions: VersionRange | undefined;
  readonly about: string;
}

export interface Struct {
  /** The JSON struct name (e.g. TopicData); the message itself uses the message name. */
  readonly name: string;
  readonly fields: readonly Field[];
}

export interface Message {
  readonly file: string;
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | undefined;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
  readonly listeners: readonly string[];
  readonly latestVersionUnstable: boolean;
  /** The message body as a struct (name = message name). */
  readonly root: Struct;
  /** Every other struct in definition order: inline ones depth-first, then commonStructs. */
  readonly structs: readonly Struct[];
}

/** Removes `//` comments that are outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      const newline = text.indexOf('\n', i);
      i = newline < 0 ? text.length : newline - 1;
    } else {
      out += c;
    }
  }
  return out;
}

export function parseVersions(text: string | undefined, what: string): VersionRange {
  if (text === undefined || text === 'none') {
    return NO_VERSIONS;
  }
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) {
    return { lo: Number(plus[1]), hi: VERSION_MAX };
  }
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) {
    return { lo: Number(range[1]), hi: Number(range[2]) };
  }
  if (/^\d+$/.test(text)) {
    return { lo: Number(text), hi: Number(text) };
  }
  throw new Error(`${what}: bad version range '${text}'`);
}

export function isEmpty(range: VersionRange): boolean {
  return range.lo > range.hi;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo > hi ? NO_VERSIONS : { lo, hi };
}

export function contains(range: VersionRange, version: number): boolean {
  return range.lo <= version && version <= range.hi;
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  ignorable?: boolean;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: RawField[];
  about?: string;
}

interface RawMessage {
  apiKey?: number;
  type: Message['type'];
  name: string;
  validVersions: string;
  flexibleVersions: string;
  listeners?: string[];
  latestVersionUnstable?: boolean;
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
  fields: RawField[];
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function parseType(type: string, where: string): FieldType {
  const isArray = type.startsWith('[]');
  const base = isArray ? type.slice(2) : type;
  const element = PRIMITIVES.has(base)
    ? ({ kind: 'primitive', name: base as PrimitiveName } as const)
    : ({ kind: 'struct', struct: base } as const);
  if (element.kind === 'struct' && !/^[A-Z]/.test(base)) {
    throw new Error(`${where}: unknown type '${type}'`);
  }
  return isArray ? { kind: 'array', element } : element;
}

class StructCollector {
  readonly structs: Struct[] = [];
  private readonly names = new Set<string>();
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  fields(raw: readonly RawField[], path: string): Field[] {
    return raw.map((f) => this.field(f, `${path}.${f.name}`));
  }

  add(name: string, fields: Field[]): void {
    if (this.names.has(name)) {
      throw new Error(`${this.file}: struct ${name} is defined twice`);
    }
    this.names.add(name);
    this.structs.push({ name, fields });
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  private field(raw: RawField, where: string): Field {
    const type = parseType(raw.type, where);
    const versions = parseVersions(raw.versions ?? raw.taggedVersions, `${where} versions`);
    const taggedVersions = parseVersions(raw.taggedVersions, `${where} taggedVersions`);
    if (!isEmpty(taggedVersions) && (taggedVersions.lo !== versions.lo || raw.tag === undefined)) {
      throw new Error(`${where}: tagged fields must be tagged in all their versions, with a tag`);
    }
    const field: Field = {
      name: raw.name,
      property: lowerFirst(raw.name),
      type,
      versions,
      nullableVersions: intersect(
        parseVersions(raw.nullableVersions, `${where} nullableVersions`),
        versions,
      ),
      taggedVersions,
      tag: raw.tag,
      ignorable: raw.ignorable === true,
      defaultRaw: raw.default,
      flexibleVersions:
        raw.flexibleVersions === undefined
          ? undefined
          : parseVersions(raw.flexibleVersions, `${where} flexibleVersions`),
      about: raw.about ?? '',
    };
    if (raw.fields !== undefined) {
      const structName = raw.type.replace(/^\[\]/, '');
      // Register after the children so that nested definitions come first in depth-first order,
      // but keep the parent-first order for readability: reserve the slot now.
      const index = this.structs.length;
      this.add(structName, []);
      const fields = this.fields(raw.fields, where);
      this.structs[index] = { name: structName, fields };
    }
    return field;
  }
}

export function parseMessage(text: string, file: string): Message {
  const raw = JSON.parse(stripComments(text)) as RawMessage;
  const collector = new StructCollector(file);
  const rootFields = collector.fields(raw.fields, raw.name);
  for (const common of raw.commonStructs ?? []) {
    collector.add(common.name, collector.fields(common.fields, common.name));
  }
  const message: Message = {
    file,
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    validVersions: parseVersions(raw.validVersions, `${file} validVersions`),
    flexibleVersions: parseVersions(raw.flexibleVersions, `${file} flexibleVersions`),
    listeners: raw.listeners ?? [],
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root: { name: raw.name, fields: rootFields },
    structs: collector.structs,
  };
  checkStructReferences(message, collector);
  return message;
}

function checkStructReferences(message: Message, collector: StructCollector): void {
  for (const struct of [message.root, ...message.structs]) {
    for (const field of struct.fields) {
      const t = field.type.kind === 'array' ? field.type.element : field.type;
      if (t.kind === 'struct' && !collector.has(t.struct)) {
        throw new Error(`${message.file}: ${field.name} refers to unknown struct ${t.struct}`);
      }
    }
  }
}

/** kebab-case file stem of a message name: ProduceRequest -> produce-request. */
export function kebab(name: string): string {
  return name
    .replace(/KRaft/g, 'Kraft')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}
