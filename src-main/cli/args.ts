/** A small, strict argument parser: `--name value`, `--flag`, `--name=value`. */
export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export interface OptionSpec {
  name: string;          // kebab-case as typed
  type: 'string' | 'int' | 'number' | 'boolean';
  required?: boolean;
  help: string;
  value?: string;        // placeholder in usage, e.g. SPEC
}

export interface ParsedArgs { [camelName: string]: string | number | boolean | undefined }

export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function parseOptions(argv: string[], specs: OptionSpec[]): ParsedArgs {
  const out: ParsedArgs = {};
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--')) throw new UsageError(`Unexpected argument "${token}".`);
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let value = inline;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`Unknown option --${name}.`);
    if (spec.type === 'boolean') { out[camel(name)] = value === undefined ? true : value !== 'false'; continue; }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`Option --${name} needs a value.`);
    }
    if (spec.type === 'int' || spec.type === 'number') {
      const num = Number(value);
      if (!Number.isFinite(num) || (spec.type === 'int' && !Number.isInteger(num))) {
        throw new UsageError(`Option --${name} takes ${spec.type === 'int' ? 'a whole number' : 'a number'}, not "${value}".`);
      }
      out[camel(name)] = num;
    } else out[camel(name)] = value;
  }
  for (const s of specs) {
    if (s.required && out[camel(s.name)] === undefined) throw new UsageError(`Option --${s.name} is required.`);
  }
  return out;
}

export function formatOptions(specs: OptionSpec[]): string {
  const rows = specs.map((s) => [`  --${s.name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`, s.help + (s.required ? ' (required)' : '')]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => a.padEnd(width) + b).join('\n');
}
