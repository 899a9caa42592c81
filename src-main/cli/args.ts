/**
 * The command line's parser: `--name value`, `--name=value`, `--flag`, `-h`, `-V`, with options
 * anywhere on the line (before or after the command). Every value is checked here, against the
 * contract's schema for the job argument it becomes (contract/jobs.ts), so a bad value is a
 * usage error naming the option and what it takes, before any job or worker starts.
 */
import { z, type ZodTypeAny } from 'zod';

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export interface OptionSpec {
  name: string;          // kebab-case as typed
  /** One letter, typed as `-x` (flags only). */
  short?: string;
  /** The type of the value, or with `list` of each item of the comma list. */
  type: 'string' | 'int' | 'number' | 'boolean';
  required?: boolean;
  help: string;
  value?: string;        // placeholder in usage, e.g. SPEC
  /** What the value may be; for options that become a job argument, that argument's schema. */
  schema?: ZodTypeAny;
  /** A comma list (`a,b,c`): each item is checked against the schema's item type. */
  list?: boolean;
}

export type OptionValue = string | number | boolean | (string | number)[];
export interface ParsedArgs { [camelName: string]: OptionValue | undefined }

export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function isLongOption(token: string): boolean {
  return token.startsWith('--') && token.length > 2;
}

/** An option token: `--name`, `--name=value` or `-x`; a lone `-` or a negative number is a value. */
function optionToken(token: string): { name: string; inline?: string; short: boolean } | undefined {
  if (isLongOption(token)) {
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    return { name, inline, short: false };
  }
  if (/^-[A-Za-z]$/.test(token)) return { name: token.slice(1), short: true };
  return undefined;
}

export interface CommandLine {
  /** The first word that is not an option or an option's value. */
  command?: string;
  /** The other words after it (a command takes none; `help` takes one). */
  words: string[];
  /** Every option token, in order, with its value if it takes one: the command's to parse. */
  options: string[];
  /** Long names of the flags given anywhere (`-h` counts as help, `-V` as version). */
  flags: Set<string>;
}

/**
 * Splits a command line into the command and its options without knowing the command yet:
 * `valueOptions` are the long names that take a value in any command, so their values are not
 * mistaken for the command (`clearwb --backend wasm info …`).
 */
export function splitCommandLine(argv: string[], valueOptions: Set<string>, shortNames: Map<string, string>): CommandLine {
  const line: CommandLine = { words: [], options: [], flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    const opt = optionToken(token);
    if (!opt) {
      if (line.command === undefined) line.command = token; else line.words.push(token);
      continue;
    }
    line.options.push(token);
    const long = opt.short ? shortNames.get(opt.name) : opt.name;
    if (!opt.short && opt.inline === undefined && valueOptions.has(opt.name) && i + 1 < argv.length && !isLongOption(argv[i + 1])) {
      line.options.push(argv[++i]);
    } else if (long && opt.inline === undefined) line.flags.add(long);
  }
  return line;
}

// ---- What a schema allows, in words -------------------------------------------------------

function unwrap(schema: ZodTypeAny): ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** The schema of one item of a list option: the array's element (also inside a union such as `K | K[]`). */
export function itemSchema(schema: ZodTypeAny): ZodTypeAny {
  const s = unwrap(schema);
  if (s instanceof z.ZodArray) return s.element as ZodTypeAny;
  if (s instanceof z.ZodUnion) {
    const array = (s.options as ZodTypeAny[]).map(unwrap).find((o) => o instanceof z.ZodArray) as z.ZodArray<ZodTypeAny> | undefined;
    if (array) return array.element;
  }
  return s;
}

function orList(values: readonly string[]): string {
  return values.length <= 2 ? values.join(' or ') : `one of ${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** "a whole number from 1 to 1000", "train or test", "a number greater than 0 and less than 1". */
export function describeSchema(schema: ZodTypeAny): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodEnum) return orList(s.options as string[]);
  if (s instanceof z.ZodNativeEnum) return orList(Object.values(s.enum as Record<string, string>).map(String));
  if (s instanceof z.ZodBoolean) return 'true or false';
  if (s instanceof z.ZodNumber) {
    const checks = s._def.checks;
    const noun = checks.some((c) => c.kind === 'int') ? 'a whole number' : 'a number';
    const min = checks.filter((c) => c.kind === 'min').at(-1) as { value: number; inclusive: boolean } | undefined;
    const max = checks.filter((c) => c.kind === 'max').at(-1) as { value: number; inclusive: boolean } | undefined;
    if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
    const parts = [
      ...(min ? [min.inclusive ? `of at least ${min.value}` : `greater than ${min.value}`] : []),
      ...(max ? [max.inclusive ? `${min ? '' : 'of '}at most ${max.value}` : `less than ${max.value}`] : []),
    ];
    return [noun, parts.join(' and ')].filter(Boolean).join(' ');
  }
  if (s instanceof z.ZodString) {
    const min = s.minLength ?? 0; const max = s.maxLength;
    return `${min > 0 ? 'a non-empty value' : 'a value'}${max !== null ? ` of at most ${max} characters` : ''}`;
  }
  if (s instanceof z.ZodUnion) return (s.options as ZodTypeAny[]).map(describeSchema).join(', or ');
  return 'a valid value';
}

/** "--index takes a whole number of at least 0, not "-1"." */
export function badValue(spec: Pick<OptionSpec, 'name' | 'schema' | 'list' | 'type'>, raw: string): UsageError {
  const allowed = spec.schema
    ? describeSchema(spec.list ? itemSchema(spec.schema) : spec.schema)
    : spec.type === 'int' ? 'a whole number' : spec.type === 'number' ? 'a number' : 'a value';
  return new UsageError(`--${spec.name} takes ${spec.list ? `a comma list of items that are each ${allowed}` : allowed}, not "${raw}".`);
}

function convert(spec: OptionSpec, raw: string): string | number | boolean {
  if (spec.type === 'boolean') {
    if (raw === 'true' || raw === '') return true;
    if (raw === 'false') return false;
    throw badValue({ ...spec, schema: z.boolean() }, raw);
  }
  if (spec.type === 'string') return raw;
  const num = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(num) || (spec.type === 'int' && !Number.isInteger(num))) throw badValue(spec, raw);
  return num;
}

function check(spec: OptionSpec, raw: string): OptionValue {
  if (spec.list) {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (!items.length) throw badValue(spec, raw);
    const item = spec.schema ? itemSchema(spec.schema) : undefined;
    return items.map((text) => {
      const value = convert(spec, text) as string | number;
      if (item && !item.safeParse(value).success) throw badValue(spec, text);
      return value;
    });
  }
  const value = convert(spec, raw);
  if (spec.schema && !spec.schema.safeParse(value).success) throw badValue(spec, raw);
  return value;
}

/** Parses a command's option tokens (splitCommandLine's `options`) against its specs. */
export function parseOptions(argv: string[], specs: OptionSpec[]): ParsedArgs {
  const out: ParsedArgs = {};
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    const opt = optionToken(token);
    if (!opt) throw new UsageError(`Unexpected argument "${token}".`);
    const spec = opt.short ? byShort.get(opt.name) : byName.get(opt.name);
    if (!spec) throw new UsageError(`Unknown option ${token.split('=')[0]}.`);
    let value = opt.inline;
    if (spec.type === 'boolean') { out[camel(spec.name)] = check(spec, value ?? ''); continue; }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || isLongOption(value)) throw new UsageError(`Option --${spec.name} needs a value (${spec.value ?? describeSchema(spec.schema ?? z.string())}).`);
    }
    out[camel(spec.name)] = check(spec, value);
  }
  for (const s of specs) {
    if (s.required && out[camel(s.name)] === undefined) throw new UsageError(`Option --${s.name} is required.`);
  }
  return out;
}

/** Attaches each option's job-argument schema (by its camel-case name) from a job's argument object. */
export function withSchemas(shape: Record<string, ZodTypeAny>, specs: OptionSpec[]): OptionSpec[] {
  return specs.map((s) => (s.schema || !(camel(s.name) in shape) ? s : { ...s, schema: shape[camel(s.name)] }));
}

export function optionLabel(s: OptionSpec): string {
  const value = s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`;
  return `${s.short ? `-${s.short}, ` : '    '}--${s.name}${value}`;
}

export function formatOptions(specs: OptionSpec[]): string {
  const rows = specs.map((s) => [`  ${optionLabel(s)}`, s.help + (s.required ? ' (required)' : '')]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => a.padEnd(width) + b).join('\n');
}
