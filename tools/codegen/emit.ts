/**
 * Emits one TypeScript module per message definition: interfaces, default factories, and
 * straight-line decode/encode functions. No schema is interpreted at run time: every version test
 * is a comparison of `version` with a constant, every field read or write is a direct call.
 *
 * Wire rules follow ../shared/kafka-protocol/FORMAT.md: compact encodings and a tagged-field
 * section on every struct in flexible versions; the field-level flexibleVersions override; nullable
 * structs carry an int8 marker; tagged fields are written only when they differ from the default;
 * absent fields decode to their default and must hold their default to be encoded unless ignorable.
 */
import {
  type Field,
  type FieldType,
  intersect,
  isEmpty,
  type Message,
  type PrimitiveName,
  type Struct,
  type VersionRange,
} from './schema.ts';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const FIXED_SIZES: Partial<Record<PrimitiveName, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};
const NUMBER_METHODS: Partial<Record<PrimitiveName, string>> = {
  bool: 'Bool',
  int8: 'Int8',
  int16: 'Int16',
  uint16: 'Uint16',
  int32: 'Int32',
  uint32: 'Uint32',
  int64: 'Int64',
  float64: 'Float64',
  uuid: 'Uuid',
};

type ElementType = Extract<FieldType, { kind: 'array' }>['element'];

/** A condition on `version`: true (always), false (never) or a TypeScript expression. */
type Cond = true | false | string;

export function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function docComment(text: string, indent: string): string[] {
  const clean = text.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
  if (clean === '') {
    return [];
  }
  const width = 96 - indent.length;
  const words = clean.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  if (lines.length === 1 && lines[0] !== undefined && lines[0].length <= width - 4) {
    return [`${indent}/** ${lines[0]} */`];
  }
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`), `${indent} */`];
}

function rangeText(range: VersionRange): string {
  if (isEmpty(range)) {
    return 'none';
  }
  if (range.hi >= 32767) {
    return `${range.lo}+`;
  }
  return range.lo === range.hi ? `${range.lo}` : `${range.lo}-${range.hi}`;
}

export class MessageEmitter {
  private readonly msg: Message;
  private readonly structs = new Map<string, Struct>();
  private readonly helpers = new Map<string, string[]>();
  private readonly isDefaultNeeded = new Set<string>();
  private readonly isDefaultEmitted = new Set<string>();

  constructor(msg: Message) {
    this.msg = msg;
    for (const s of msg.structs) {
      this.structs.set(s.name, s);
    }
  }

  private get valid(): VersionRange {
    return this.msg.validVersions;
  }

  /** Whether any valid version is flexible. */
  private get canFlex(): boolean {
    return !isEmpty(intersect(this.msg.flexibleVersions, this.valid));
  }

  tsName(struct: string): string {
    return struct === this.msg.name ? struct : `${this.msg.name}${struct}`;
  }

  private struct(name: string): Struct {
    const s = this.structs.get(name);
    if (s === undefined) {
      throw new Error(`${this.msg.file}: no struct ${name}`);
    }
    return s;
  }

  /**
   * Condition for `range` given that the version is already known to lie in `within` (itself
   * inside validVersions).
   */
  private cond(range: VersionRange, within: VersionRange = this.valid): Cond {
    const w = intersect(within, this.valid);
    const r = intersect(range, w);
    if (isEmpty(r)) {
      return false;
    }
    const parts: string[] = [];
    if (r.lo > w.lo) {
      parts.push(`version >= ${r.lo}`);
    }
    if (r.hi < w.hi) {
      parts.push(`version <= ${r.hi}`);
    }
    return parts.length === 0 ? true : parts.join(' && ');
  }

  /** The negation of cond(range): true when the version lies outside `range`. */
  private notCond(range: VersionRange): string | true {
    const c = this.cond(range);
    if (c === false) {
      return true;
    }
    if (c === true) {
      throw new Error(`${this.msg.file}: notCond of an always-true range`);
    }
    const r = intersect(range, this.valid);
    if (r.hi >= this.valid.hi) {
      return `version < ${r.lo}`;
    }
    if (r.lo <= this.valid.lo) {
      return `version > ${r.hi}`;
    }
    return `!(${c})`;
  }

  /** The expression for "this version is flexible". */
  private flexibleCond(): Cond {
    return this.cond(this.msg.flexibleVersions);
  }

  private compactExpr(field: Field): string {
    if (field.flexibleVersions !== undefined) {
      return condText(this.cond(field.flexibleVersions));
    }
    const flex = this.flexibleCond();
    return flex === true || flex === false ? String(flex) : 'flexible';
  }

  private isTagged(field: Field): boolean {
    return !isEmpty(field.taggedVersions);
  }

  private tsNullable(field: Field): boolean {
    return (
      !isEmpty(field.nullableVersions) ||
      field.defaultRaw === 'null' ||
      (field.type.kind === 'primitive' && field.type.name === 'records')
    );
  }

  // ---------------------------------------------------------------- types and defaults

  private elementTs(e: ElementType): string {
    return e.kind === 'struct' ? this.tsName(e.struct) : primitiveTs(e.name);
  }

  private fieldTs(field: Field): string {
    const t = field.type;
    if (t.kind === 'primitive' && t.name === 'records') {
      return 'Buffer | readonly Buffer[] | null';
    }
    let base: string;
    if (t.kind === 'array') {
      base = `readonly ${this.elementTs(t.element)}[]`;
    } else {
      base = t.kind === 'struct' ? this.tsName(t.struct) : primitiveTs(t.name);
    }
    return this.tsNullable(field) ? `${base} | null` : base;
  }

  private defaultExpr(field: Field): string {
    const t = field.type;
    const raw = field.defaultRaw;
    if (t.kind === 'array') {
      return raw === 'null' ? 'null' : '[]';
    }
    if (t.kind === 'struct') {
      return raw === 'null' ? 'null' : `default${this.tsName(t.struct)}()`;
    }
    return this.primitiveDefault(t.name, raw, field.name);
  }

  private primitiveDefault(
    name: PrimitiveName,
    raw: string | number | boolean | undefined,
    where: string,
  ): string {
    switch (name) {
      case 'bool':
        return String(raw === true || raw === 'true');
      case 'string':
        if (raw === 'null') {
          return 'null';
        }
        return raw === undefined ? "''" : quote(String(raw));
      case 'uuid':
        return quote(raw === undefined ? ZERO_UUID : String(raw));
      case 'bytes':
        if (raw === 'null') {
          return 'null';
        }
        return 'EMPTY_BYTES';
      case 'records':
        return 'null';
      default: {
        if (raw === undefined) {
          return '0';
        }
        const value = Number(raw);
        if (!Number.isFinite(value) || (name !== 'float64' && !Number.isSafeInteger(value))) {
          throw new Error(`${this.msg.file}: ${where} has a default '${raw}' a number cannot hold`);
        }
        return String(value);
      }
    }
  }

  /** An expression that is true when `v` differs from the field's default. */
  private notDefault(field: Field, v: string): string {
    const t = field.type;
    const d = this.defaultExpr(field);
    const nullable = this.tsNullable(field);
    if (t.kind === 'struct') {
      if (d === 'null') {
        return `${v} !== null`;
      }
      this.isDefaultNeeded.add(t.struct);
      const check = `!isDefault${this.tsName(t.struct)}(${v})`;
      return nullable ? `(${v} === null || ${check})` : check;
    }
    if (t.kind === 'array' || (t.kind === 'primitive' && t.name === 'bytes')) {
      if (d === 'null') {
        return `${v} !== null`;
      }
      return nullable ? `(${v} === null || ${v}.length !== 0)` : `${v}.length !== 0`;
    }
    return `${v} !== ${d}`;
  }

  // ---------------------------------------------------------------- decoding

  private readPrimitive(name: PrimitiveName, c: string, nullable: Cond): string {
    const method = NUMBER_METHODS[name];
    if (method !== undefined) {
      return `r.read${method}()`;
    }
    const kind = name === 'string' ? 'String' : 'Bytes';
    const plain = `r.read${kind}(${c})`;
    const orNull = `r.readNullable${kind}(${c})`;
    if (nullable === true) {
      return orNull;
    }
    return nullable === false ? plain : `${nullable} ? ${orNull} : ${plain}`;
  }

  private readExpr(field: Field, c: string): string {
    const t = field.type;
    const nullable = this.cond(field.nullableVersions, field.versions);
    if (t.kind === 'primitive') {
      return this.readPrimitive(t.name, c, nullable);
    }
    if (t.kind === 'struct') {
      const decode = `decode${this.tsName(t.struct)}(r, version)`;
      if (nullable === false) {
        return decode;
      }
      const marker = nullable === true ? 'r.readInt8() < 0' : `(${nullable}) && r.readInt8() < 0`;
      return `${marker} ? null : ${decode}`;
    }
    const key = this.elementKey(t.element);
    const withVersion = t.element.kind === 'struct' ? 'version, ' : '';
    const plain = `readArrayOf${key}(r, ${withVersion}${c})`;
    const orNull = `readNullableArrayOf${key}(r, ${withVersion}${c})`;
    this.addReadArrayHelper(t.element, nullable !== true);
    if (nullable !== false) {
      this.addReadArrayHelper(t.element, false, true);
    }
    if (nullable === true) {
      return orNull;
    }
    return nullable === false ? plain : `${nullable} ? ${orNull} : ${plain}`;
  }

  private elementKey(e: ElementType): string {
    return e.kind === 'struct' ? this.tsName(e.struct) : capitalize(e.name);
  }

  private addReadArrayHelper(e: ElementType, needPlain: boolean, nullableVariant = false): void {
    if (!needPlain && !nullableVariant) {
      return;
    }
    const key = this.elementKey(e);
    const name = nullableVariant ? `readNullableArrayOf${key}` : `readArrayOf${key}`;
    if (this.helpers.has(name)) {
      return;
    }
    const ts = this.elementTs(e);
    const isStruct = e.kind === 'struct';
    const read = isStruct
      ? `decode${key}(r, version)`
      : this.readPrimitive(e.name, 'compact', false);
    const params = `r: Reader, ${isStruct ? 'version: number, ' : ''}compact: boolean`;
    const nullCase = nullableVariant
      ? ['  if (n < 0) {', '    return null;', '  }']
      : ['  if (n < 0) {', "    throw new ProtocolError('non-nullable array is null');", '  }'];
    if (!nullableVariant) {
    }
    this.helpers.set(name, [
      `function ${name}(${params}): ${ts}[]${nullableVariant ? ' | null' : ''} {`,
      '  const n = r.readArrayLength(compact);',
      ...nullCase,
      `  const a: ${ts}[] = [];`,
      '  for (let i = 0; i < n; i++) {',
      `    a.push(${read});`,
      '  }',
      '  return a;',
      '}',
    ]);
  }

  private emitDecode(struct: Struct, isRoot: boolean): string[] {
    const ts = this.tsName(struct.name);
    const flex = this.flexibleCond();
    const body: string[] = [];
    if (isRoot) {
      body.push(
        `  if (version < ${this.valid.lo} || version > ${this.valid.hi}) {`,
        `    throw new ProtocolError(\`${ts}: unsupported version \${version}\`);`,
        '  }',
      );
    }
    if (typeof flex === 'string') {
      body.push(`  const flexible = ${flex};`);
    }
    const props: string[] = [];
    for (const field of struct.fields) {
      const present = this.cond(field.versions);
      let value: string;
      if (this.isTagged(field) || present === false) {
        value = this.defaultExpr(field);
      } else if (present === true) {
        value = this.readExpr(field, this.compactExpr(field));
      } else {
        value = `${present} ? ${this.readExpr(field, this.compactExpr(field))} : ${this.defaultExpr(field)}`;
      }
      props.push(`    ${field.property}: ${value},`);
    }
    if (flex === false) {
      body.push(`  return {`, ...props, '  };', '}');
      return [`function decode${ts}(r: Reader, version: number): ${ts} {`, ...body];
    }
    body.push(`  const o: ${ts} = {`, ...props, '  };');
    const tagged = this.taggedDecode(struct);
    const inner = flex === true ? tagged.map((l) => l.slice(2)) : tagged;
    if (flex === true) {
      body.push(...inner);
    } else {
      body.push('  if (flexible) {', ...inner, '  }');
    }
    body.push('  return o;', '}');
    return [`function decode${ts}(r: Reader, version: number): ${ts} {`, ...body];
  }

  /** Lines at 4-space indent (inside `if (flexible)`). */
  private taggedDecode(struct: Struct): string[] {
    const tagged = struct.fields
      .filter((f) => this.isTagged(f))
      .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    if (tagged.length === 0) {
      return [
        '    const unknown = r.readUnknownTaggedFields();',
        '    if (unknown !== undefined) {',
        '      o.unknownTaggedFields = unknown;',
        '    }',
      ];
    }
    const lines = [
      '    let unknown: RawTaggedField[] | undefined;',
      '    const count = r.readTaggedFieldCount();',
      '    for (let i = 0; i < count; i++) {',
      '      const tag = r.readUnsignedVarint();',
      '      const size = r.readTaggedFieldSize();',
    ];
    let first = true;
    for (const field of tagged) {
      const present = this.cond(field.taggedVersions, this.msg.flexibleVersions);
      const test = present === true ? `tag === ${field.tag}` : `tag === ${field.tag} && ${present}`;
      lines.push(
        `      ${first ? 'if' : '} else if'} (${test}) {`,
        '        const start = r.offset;',
        `        o.${field.property} = ${this.readExpr(field, 'true')};`,
        '        r.expectConsumed(start, size);',
      );
      first = false;
    }
    lines.push(
      '      } else {',
      '        unknown ??= [];',
      '        unknown.push({ tag, data: r.readRawBytes(size) });',
      '      }',
      '    }',
      '    if (unknown !== undefined) {',
      '      o.unknownTaggedFields = unknown;',
      '    }',
    );
    return lines;
  }

  // ---------------------------------------------------------------- encoding

  private where(struct: Struct, field: Field): string {
    return quote(`${this.tsName(struct.name)}.${field.property}`);
  }

  /** Statements writing `v` (the field's value) with writer `w`. */
  private writeStmts(struct: Struct, field: Field, v: string, w: string, c: string): string[] {
    const t = field.type;
    const nullable = this.cond(field.nullableVersions, field.versions);
    const tsNullable = this.tsNullable(field);
    const nonNull = (): string => {
      return `requireNonNull(${v}, ${this.where(struct, field)})`;
    };
    if (t.kind === 'primitive') {
      const method = NUMBER_METHODS[t.name];
      if (method !== undefined) {
        return [`${w}.write${method}(${v});`];
      }
      const kind = t.name === 'string' ? 'String' : t.name === 'bytes' ? 'Bytes' : 'Records';
      if (kind === 'Records') {
        const arg =
          nullable === true
            ? v
            : nullable === false
              ? nonNull()
              : `${nullable} ? ${v} : ${nonNull()}`;
        return [`${w}.writeRecords(${arg}, ${c});`];
      }
      if (!tsNullable) {
        return [`${w}.write${kind}(${v}, ${c});`];
      }
      if (nullable === false) {
        return [`${w}.write${kind}(${nonNull()}, ${c});`];
      }
      const arg = nullable === true ? v : `${nullable} ? ${v} : ${nonNull()}`;
      return [`${w}.writeNullable${kind}(${arg}, ${c});`];
    }
    if (t.kind === 'struct') {
      const encode = (x: string): string => `encode${this.tsName(t.struct)}(${w}, ${x}, version);`;
      if (!tsNullable) {
        return [encode(v)];
      }
      const withMarker = [
        `if (${v} === null) {`,
        `  ${w}.writeInt8(-1);`,
        '} else {',
        `  ${w}.writeInt8(1);`,
        `  ${encode(v)}`,
        '}',
      ];
      if (nullable === true) {
        return withMarker;
      }
      if (nullable === false) {
        return [encode(nonNull())];
      }
      return [
        `if (${nullable}) {`,
        ...withMarker.map((l) => `  ${l}`),
        '} else {',
        `  ${encode(nonNull())}`,
        '}',
      ];
    }
    const key = this.elementKey(t.element);
    this.addWriteArrayHelper(t.element);
    const withVersion = t.element.kind === 'struct' ? 'version, ' : '';
    return [`writeArrayOf${key}(${w}, ${v}, ${withVersion}${c}, ${condText(nullable)});`];
  }

  private addWriteArrayHelper(e: ElementType): void {
    const key = this.elementKey(e);
    const name = `writeArrayOf${key}`;
    if (this.helpers.has(name)) {
      return;
    }
    const ts = this.elementTs(e);
    const isStruct = e.kind === 'struct';
    let write: string;
    if (isStruct) {
      write = `encode${key}(w, x, version);`;
    } else {
      const method = NUMBER_METHODS[e.name];
      write =
        method !== undefined ? `w.write${method}(x);` : `w.write${capitalize(e.name)}(x, compact);`;
    }
    this.helpers.set(name, [
      `function ${name}(`,
      '  w: Writer,',
      `  a: readonly ${ts}[] | null,`,
      ...(isStruct ? ['  version: number,'] : []),
      '  compact: boolean,',
      '  nullable: boolean,',
      '): void {',
      '  if (a === null) {',
      '    if (!nullable) {',
      "      throw new TypeError('non-nullable array is null');",
      '    }',
      '    w.writeArrayLength(-1, compact);',
      '    return;',
      '  }',
      '  w.writeArrayLength(a.length, compact);',
      '  for (let i = 0; i < a.length; i++) {',
      `    const x = a[i] as ${ts};`,
      `    ${write}`,
      '  }',
      '}',
    ]);
  }

  /** `absent`, when given, is the condition under which the field is absent (else always). */
  private absentCheck(struct: Struct, field: Field, v: string, absent?: string | true): string[] {
    if (field.ignorable) {
      return [];
    }
    const differs = this.notDefault(field, v);
    const test = absent === undefined || absent === true ? differs : `${absent} && ${differs}`;
    return [
      `if (${test}) {`,
      `  throw new Error(\`${this.tsName(struct.name)}.${field.property} is not in version \${version}; it must hold its default\`);`,
      '}',
    ];
  }

  private emitEncode(struct: Struct, isRoot: boolean): string[] {
    const ts = this.tsName(struct.name);
    const flex = this.flexibleCond();
    const body: string[] = [];
    if (isRoot) {
      body.push(
        `if (version < ${this.valid.lo} || version > ${this.valid.hi}) {`,
        `  throw new RangeError(\`${ts}: unsupported version \${version}\`);`,
        '}',
      );
    }
    if (typeof flex === 'string') {
      body.push(`const flexible = ${flex};`);
    }
    for (const field of struct.fields) {
      const v = `m.${field.property}`;
      const present = this.cond(field.versions);
      if (this.isTagged(field)) {
        const inTag = this.cond(field.taggedVersions);
        if (inTag !== true) {
          body.push(...this.absentCheck(struct, field, v, this.notCond(field.taggedVersions)));
        }
        continue;
      }
      const write = this.writeStmts(struct, field, v, 'w', this.compactExpr(field));
      if (present === true) {
        body.push(...write);
      } else if (present === false) {
        body.push(...this.absentCheck(struct, field, v));
      } else {
        const absent = this.absentCheck(struct, field, v);
        body.push(`if (${present}) {`, ...write.map((l) => `  ${l}`));
        const [check, ...rest] = absent;
        if (check !== undefined) {
          body.push(`} else ${check}`, ...rest);
        } else {
          body.push('}');
        }
      }
    }
    if (flex !== false) {
      const tagged = this.taggedEncode(struct);
      if (flex === true) {
        body.push(...tagged);
      } else {
        body.push('if (flexible) {', ...tagged.map((l) => `  ${l}`), '}');
      }
    }
    const uses = body.some((l) => /\bm\./.test(l));
    return [
      `function encode${ts}(w: Writer, ${uses ? 'm' : '_m'}: ${ts}, version: number): void {`,
      ...body.map((l) => `  ${l}`),
      '}',
    ];
  }

  private taggedEncode(struct: Struct): string[] {
    const tagged = struct.fields
      .filter((f) => this.isTagged(f))
      .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
    if (tagged.length === 0) {
      return ['w.writeUnknownTaggedSection(m.unknownTaggedFields);'];
    }
    const lines = [
      'const unknown = m.unknownTaggedFields;',
      'let count = unknown === undefined ? 0 : unknown.length;',
    ];
    for (const field of tagged) {
      const inTag = this.cond(field.taggedVersions, this.msg.flexibleVersions);
      const differs = this.notDefault(field, `m.${field.property}`);
      const test = inTag === true ? differs : `${inTag} && ${differs}`;
      lines.push(`const has${field.tag} = ${test};`, `if (has${field.tag}) {`, '  count++;', '}');
    }
    lines.push('w.writeUnsignedVarint(count);', 'let u = 0;');
    for (const field of tagged) {
      const t = field.type;
      const fixed = t.kind === 'primitive' ? FIXED_SIZES[t.name] : undefined;
      lines.push(
        `if (has${field.tag}) {`,
        `  u = w.writeUnknownTaggedFields(unknown, u, ${field.tag});`,
        `  w.writeUnsignedVarint(${field.tag});`,
      );
      if (fixed !== undefined) {
        lines.push(
          `  w.writeUnsignedVarint(${fixed});`,
          ...this.writeStmts(struct, field, `m.${field.property}`, 'w', 'true').map(
            (l) => `  ${l}`,
          ),
        );
      } else {
        lines.push(
          '  const tw = new Writer(64);',
          ...this.writeStmts(struct, field, `m.${field.property}`, 'tw', 'true').map(
            (l) => `  ${l}`,
          ),
          '  w.writeUnsignedVarint(tw.length);',
          '  w.append(tw);',
        );
      }
      lines.push('}');
    }
    lines.push('w.writeUnknownTaggedFields(unknown, u, TAG_MAX);');
    return lines;
  }

  // ---------------------------------------------------------------- defaults and equality

  private emitDefault(struct: Struct): string[] {
    const ts = this.tsName(struct.name);
    return [
      `/** A ${ts} holding every field's default. */`,
      `export function default${ts}(): ${ts} {`,
      '  return {',
      ...struct.fields.map((f) => `    ${f.property}: ${this.defaultExpr(f)},`),
      '  };',
      '}',
    ];
  }

  private emitIsDefault(structName: string): string[] {
    const struct = this.struct(structName);
    const ts = this.tsName(structName);
    const checks = struct.fields.map((f) => `    ${this.notDefault(f, `s.${f.property}`)} ||`);
    const unknownCheck = this.canFlex
      ? '    (s.unknownTaggedFields !== undefined && s.unknownTaggedFields.length !== 0)'
      : '    false';
    return [
      `function isDefault${ts}(s: ${ts}): boolean {`,
      '  return !(',
      ...checks,
      unknownCheck,
      '  );',
      '}',
    ];
  }

  // ---------------------------------------------------------------- module

  private emitInterface(struct: Struct, about: string): string[] {
    const ts = this.tsName(struct.name);
    const lines = [...docComment(about, ''), `export interface ${ts} {`];
    for (const field of struct.fields) {
      const notes = [`versions ${rangeText(intersect(field.versions, this.valid))}`];
      if (!isEmpty(field.nullableVersions)) {
        notes.push(`nullable ${rangeText(field.nullableVersions)}`);
      }
      if (this.isTagged(field)) {
        notes.push(`tag ${field.tag}`);
      }
      if (field.ignorable) {
        notes.push('ignorable');
      }
      const about = field.about === '' ? '' : `${field.about.trim().replace(/\.?$/, '.')} `;
      lines.push(...docComment(`${about}(${notes.join(', ')})`, '  '));
      lines.push(`  ${field.property}: ${this.fieldTs(field)};`);
    }
    if (this.canFlex) {
      lines.push(
        '  /** Tagged fields this code does not know, kept from decode and written back. */',
      );
      lines.push('  unknownTaggedFields?: readonly RawTaggedField[];');
    }
    lines.push('}');
    return lines;
  }

  emit(): string {
    const msg = this.msg;
    const all = [msg.root, ...msg.structs];
    const sections: string[][] = [];
    const kind = msg.type === 'request' || msg.type === 'response' ? `${msg.type} ` : '';
    for (const s of all) {
      const about =
        s === msg.root
          ? `${msg.name} (${kind}versions ${rangeText(msg.validVersions)}, flexible ${rangeText(msg.flexibleVersions)}).`
          : '';
      sections.push(this.emitInterface(s, about));
    }
    for (const s of all) {
      sections.push(this.emitDefault(s));
    }
    for (const s of all) {
      sections.push(this.finishFunction(this.emitDecode(s, s === msg.root), s === msg.root));
    }
    for (const s of all) {
      sections.push(this.finishFunction(this.emitEncode(s, s === msg.root), s === msg.root));
    }
    while (this.isDefaultNeeded.size > this.isDefaultEmitted.size) {
      for (const name of [...this.isDefaultNeeded]) {
        if (!this.isDefaultEmitted.has(name)) {
          this.isDefaultEmitted.add(name);
          sections.push(this.emitIsDefault(name));
        }
      }
    }
    for (const name of [...this.helpers.keys()].sort()) {
      sections.push(this.helpers.get(name) ?? []);
    }
    const code = sections.map((s) => s.join('\n')).join('\n\n');
    return `${this.header(code)}\n${code}\n`;
  }

  /** Exports a root function and renames an unused `version` parameter. */
  private finishFunction(lines: string[], exported: boolean): string[] {
    let out = lines;
    if (exported) {
      out = [`export ${out[0] as string}`, ...out.slice(1)];
    }
    const body = out.slice(1).join('\n');
    if (!/\bversion\b/.test(body)) {
      out = [(out[0] as string).replace('version: number', '_version: number'), ...out.slice(1)];
    }
    return out;
  }

  private header(code: string): string {
    const lines = [`// Generated by tools/codegen from Kafka's ${this.msg.file}. Do not edit.`, ''];
    if (code.includes('ProtocolError')) {
      lines.push("import { ProtocolError } from '../protocol-error.ts';");
    }
    const readerNames = ['type Reader'];
    if (code.includes('RawTaggedField')) {
      readerNames.push('type RawTaggedField');
    }
    lines.push(importLine(readerNames, '../reader.ts'));
    const writerNames: string[] = [];
    if (code.includes('requireNonNull(')) {
      writerNames.push('requireNonNull');
    }
    if (code.includes('TAG_MAX')) {
      writerNames.push('TAG_MAX');
    }
    writerNames.push(code.includes('new Writer(') ? 'Writer' : 'type Writer');
    lines.push(importLine(writerNames, '../writer.ts'));
    if (code.includes('EMPTY_BYTES')) {
      lines.push('', 'const EMPTY_BYTES: Buffer = Buffer.alloc(0);');
    }
    return `${lines.join('\n')}\n`;
  }
}

function byName(a: string, b: string): number {
  const ka = a.replace(/^type /, '').toLowerCase();
  const kb = b.replace(/^type /, '').toLowerCase();
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** `import type { ... }` when every name is a type, else `import { type A, B }`. */
function importLine(names: string[], from: string): string {
  const sorted = [...names].sort(byName);
  if (sorted.every((n) => n.startsWith('type '))) {
    return `import type { ${sorted.map((n) => n.slice(5)).join(', ')} } from '${from}';`;
  }
  return `import { ${sorted.join(', ')} } from '${from}';`;
}

function condText(c: Cond): string {
  return typeof c === 'string' ? c : String(c);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function primitiveTs(name: PrimitiveName): string {
  switch (name) {
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
      return 'Buffer';
    case 'records':
      return 'Buffer | readonly Buffer[] | null';
    default:
      return 'number';
  }
}

export function emitMessage(msg: Message): string {
  return new MessageEmitter(msg).emit();
}
