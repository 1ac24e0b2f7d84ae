/**
 * Java `.properties` parsing for Kafka's `server.properties` format: `key=value` or `key: value`,
 * `#` and `!` comments, backslash line continuations and escapes (\t \n \r \\ \uXXXX).
 */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  let pending = '';
  for (const raw of lines) {
    const line = pending === '' ? raw.trimStart() : raw.trimStart();
    const joined = pending + line;
    if (pending === '' && (line === '' || line.startsWith('#') || line.startsWith('!'))) continue;
    if (endsWithOddBackslashes(joined)) {
      pending = joined.slice(0, -1);
      continue;
    }
    pending = '';
    const [key, value] = splitKeyValue(joined);
    result.set(unescapeProperty(key), unescapeProperty(value));
  }
  if (pending !== '') {
    const [key, value] = splitKeyValue(pending);
    result.set(unescapeProperty(key), unescapeProperty(value));
  }
  return result;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function splitKeyValue(line: string): [string, string] {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '=' || c === ':' || c === ' ' || c === '\t') {
      let j = i + 1;
      const skipBlanks = () => {
        while (j < line.length && (line[j] === ' ' || line[j] === '\t')) j++;
      };
      skipBlanks();
      if ((c === ' ' || c === '\t') && (line[j] === '=' || line[j] === ':')) {
        j++;
        skipBlanks();
      }
      return [line.slice(0, i), line.slice(j)];
    }
  }
  return [line, ''];
}

function unescapeProperty(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, seq: string) => {
    if (seq.length === 5) return String.fromCharCode(Number.parseInt(seq.slice(1), 16));
    switch (seq) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      default:
        return seq;
    }
  });
}
