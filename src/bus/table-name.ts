import { GossiplessError } from '../errors/index.js';

/** Default table prefix: the table is `<prefix>bus`. */
export const DEFAULT_TABLE_PREFIX = 'gossipless';

/** The bus/membership table name for a prefix (Azure table names are alphanumeric, 3–63). */
export function busTableName(prefix: string = DEFAULT_TABLE_PREFIX): string {
  const name = `${prefix}bus`;
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(name)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `tablePrefix "${prefix}" gives table "${name}", which is not a valid table name (letters and digits, starting with a letter, at most 60 for the prefix)`,
    );
  }
  return name;
}

/** Escapes a string for an OData filter literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
