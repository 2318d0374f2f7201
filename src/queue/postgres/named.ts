/**
 * Named parameters for pg, which only speaks $1, $2...: `:name` in the SQL text becomes
 * `$n` (one number per distinct name) and the values are taken from an object. Every
 * operation's SQL names its parameters, as the SQLite side does, so a statement reads
 * on its own and a reordered argument list cannot shift values into the wrong column.
 *
 * `::type` casts are left alone (a name must not follow another colon), and so are
 * string literals and quoted identifiers, so '...:x...' in a literal is never taken for
 * a parameter. Compiled once per SQL text.
 */
export interface NamedQuery {
  text: string;
  names: readonly string[];
}

const cache = new Map<string, NamedQuery>();

export function compileNamed(sql: string): NamedQuery {
  const cached = cache.get(sql);
  if (cached) return cached;
  const names: string[] = [];
  // Literals and quoted identifiers pass through whole; a :name outside them is replaced.
  const text = sql.replace(
    /'(?:[^']|'')*'|"(?:[^"]|"")*"|(?<!:):([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name: string | undefined) => {
      if (name === undefined) return match;
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    },
  );
  const query = { text, names };
  cache.set(sql, query);
  return query;
}

/** The positional values for a compiled query; a missing parameter is a programming error. */
export function bindNamed(query: NamedQuery, params: Readonly<Record<string, unknown>>): unknown[] {
  return query.names.map((name) => {
    if (!(name in params)) throw new Error(`SQL parameter :${name} was not given`);
    return params[name];
  });
}
