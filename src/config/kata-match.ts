// The two matching rules Kata applies to annotation allowlists, reproduced from Go:
// enable_annotations entries are regexps matched anywhere in the key suffix
// (regexp.MatchString is unanchored), and valid_*_paths entries are filepath.Match globs.

/** Go's regexp.MatchString(pattern, s); a pattern that does not compile matches nothing. */
export function regexpMatches(pattern: string, s: string): boolean {
  return compileRegexp(pattern)?.test(s) ?? false;
}

/** JavaScript's syntax covers what Kata's (RE2) patterns use: names, ".*", classes. */
export function compileRegexp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}

export function anyRegexpMatches(patterns: readonly string[], s: string): boolean {
  return patterns.some((p) => regexpMatches(p, s));
}

/**
 * Go's filepath.Match(glob, path): `*` and `?` do not cross "/", `[...]` classes with `^`
 * negation and `\` escapes. A malformed glob matches nothing, as in Go. Kata's Glob also
 * requires the file to exist; that is checked when the binary is started.
 */
export function globMatches(glob: string, path: string): boolean {
  const re = globToRegExp(glob);
  return re !== undefined && re.test(path);
}

export function anyGlobMatches(globs: readonly string[], path: string): boolean {
  return globs.some((g) => globMatches(g, path));
}

const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\/-]/g;
const escapeRe = (c: string): string => c.replace(REGEXP_SPECIAL, '\\$&');

function globToRegExp(glob: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '\\') {
      if (++i >= glob.length) return undefined;
      out += escapeRe(glob[i] as string);
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const cls = readClass(glob, i + 1);
      if (cls === undefined) return undefined;
      out += cls.re;
      i = cls.end;
    } else {
      out += escapeRe(c);
    }
  }
  return new RegExp(`^${out}$`);
}

/** Reads a class starting after "[", returning its regexp and the index of its "]". */
function readClass(glob: string, start: number): { re: string; end: number } | undefined {
  let i = start;
  let negate = false;
  if (glob[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < glob.length; i++) {
    let c = glob[i] as string;
    if (c === ']' && !first) return { re: `[${negate ? '^' : ''}${body}]`, end: i };
    if (c === ']' || c === '-') return undefined; // Go: a range item cannot start with ']' or '-'
    if (c === '\\') {
      if (++i >= glob.length) return undefined;
      c = glob[i] as string;
    }
    body += escapeRe(c);
    if (glob[i + 1] === '-' && glob[i + 2] !== ']') {
      let hi = glob[i + 2];
      i += 2;
      if (hi === '\\') hi = glob[++i];
      if (hi === undefined) return undefined;
      body += `-${escapeRe(hi)}`;
    }
    first = false;
  }
  return undefined;
}
