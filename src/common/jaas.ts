/**
 * Kafka's JAAS config values (sasl.jaas.config): "<LoginModule> <flag> key=value ...;", read by
 * the broker (PLAIN users of a listener) and by the CLI (a client's username and password).
 */

export interface JaasEntry {
  readonly loginModule: string;
  readonly flag: string;
  readonly options: ReadonlyMap<string, string>;
}

/**
 * Parses a sasl.jaas.config value: "<LoginModule> <flag> key=value ...;" (values may be double
 * quoted, with \" and \\ escapes). Throws with a message on a malformed value.
 */
export function parseJaasConfig(text: string): JaasEntry[] {
  const entries: JaasEntry[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const word = (): string => {
    const start = i;
    while (i < text.length && /[^\s=;"]/.test(text[i] as string)) i++;
    return text.slice(start, i);
  };
  for (;;) {
    skipSpace();
    if (i >= text.length) break;
    const loginModule = word();
    skipSpace();
    const flag = word();
    if (loginModule === '' || !/^(required|requisite|sufficient|optional)$/.test(flag)) {
      throw new Error('expected "<LoginModule> <required|requisite|sufficient|optional> ...;"');
    }
    const options = new Map<string, string>();
    for (;;) {
      skipSpace();
      if (text[i] === ';') {
        i++;
        break;
      }
      if (i >= text.length) throw new Error('the JAAS entry does not end with ";"');
      const key = word();
      if (key === '' || text[i] !== '=')
        throw new Error(`expected key=value at "${text.slice(i, i + 20)}"`);
      i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i];
          i++;
        }
        if (text[i] !== '"') throw new Error(`unterminated quoted value of ${key}`);
        i++;
      } else {
        value = word();
      }
      options.set(key, value);
    }
    entries.push({ loginModule, flag, options });
  }
  if (entries.length === 0) throw new Error('no login module');
  return entries;
}
