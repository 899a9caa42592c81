#!/usr/bin/env node
/**
 * Electronegativity (Doyensec's Electron configuration scanner) over the app's own code, with
 * a reviewed allow-list: exits 1 on any finding the allow-list does not name, and on an
 * allow-list entry that no longer matches anything (so an allowance cannot outlive its reason
 * and hide a later finding). The tool's own exit status says nothing about findings.
 *
 *   node scripts/electronegativity.mjs [--input DIR] [--allow FILE]
 *
 * Without --input it scans a copy of package.json, src-main/ and src-renderer/ (nothing else:
 * no node_modules, no build output, no tests), so file names in findings are repository paths.
 * Exit status: 0 clean, 1 new findings or stale allowances, 2 the scan could not be trusted
 * (a file it could not parse, a malformed allow-list, the tool failing).
 *
 * It calls the tool's runner (the package's main export) rather than its command line, with
 * the same options the command line would pass (electronVersionOverride is -e, excludeFromScan
 * is -x): the command line writes its CSV header and rows with two concurrent writes, so the
 * header can truncate the rows away, and with an output file it drops the list of files it
 * could not parse, which would let an unparsed file pass unscanned. The runner returns both.
 *
 * The Electron version is the installed one (the devDependency in package.json), given
 * explicitly so the checks use its defaults. AvailableSecurityFixesGlobalCheck is left out:
 * it downloads Electron's release list on every run (the version option does not stop it),
 * and keeping Electron current is the lockfile's job, not a scan's. The tool still asks once
 * for updated translations of its messages (a request with a 1 s timeout that fails harmlessly
 * offline and prints "Could not retrieve updated translations"); it changes no finding.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const EXCLUDED_CHECKS = ['availablesecurityfixesglobalcheck'];
const SCANNED = ['package.json', 'src-main', 'src-renderer'];

function fail(status, sentence) {
  process.stderr.write(`electronegativity: ${sentence}\n`);
  process.exit(status);
}

function parseArgs(argv) {
  const options = { input: undefined, allow: path.join(root, 'scripts', 'electronegativity-allow.json') };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if ((name === '--input' || name === '--allow') && value !== undefined) {
      options[name.slice(2)] = path.resolve(value);
      i++;
    } else {
      fail(2, `unknown option ${JSON.stringify(name)}; usage: electronegativity.mjs [--input DIR] [--allow FILE]`);
    }
  }
  return options;
}

/** The allow-list: an array of { id, file, reason }, each reason a non-empty sentence. */
function readAllowList(file) {
  let entries;
  try {
    entries = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(2, `cannot read the allow-list ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(entries)) fail(2, `the allow-list ${file} must be a JSON array of { id, file, reason }`);
  entries.forEach((e, i) => {
    const ok = e && typeof e === 'object' && Object.keys(e).sort().join(',') === 'file,id,reason'
      && [e.id, e.file, e.reason].every((v) => typeof v === 'string' && v.trim() !== '');
    if (!ok) fail(2, `allow-list entry ${i} in ${file} must have exactly a non-empty id, file and reason`);
  });
  return entries;
}

function electronVersion() {
  const wanted = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies?.electron;
  if (!wanted) fail(2, 'package.json names no electron devDependency');
  try {
    return require('electron/package.json').version;
  } catch {
    fail(2, `electron (${wanted} in package.json) is not installed; run npm ci first`);
  }
}

/** A copy of just the app's code, so the scan sees no build output, tests or packages. */
function stageAppCode() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clear-electronegativity-'));
  for (const entry of SCANNED) {
    cpSync(path.join(root, entry), path.join(dir, entry), {
      recursive: true,
      filter: (source) => path.basename(source) !== 'node_modules',
    });
  }
  return dir;
}

const options = parseArgs(process.argv.slice(2));
const allowList = readAllowList(options.allow);
const version = electronVersion();
const input = options.input ?? stageAppCode();

let result;
let failure;
try {
  const runner = require('@doyensec/electronegativity');
  const run = typeof runner === 'function' ? runner : runner.default;
  result = await run({
    input,
    isRelative: true,
    electronVersionOverride: version,
    excludeFromScan: EXCLUDED_CHECKS,
    customScan: [],
    parserPlugins: [],
  });
} catch (err) {
  failure = err instanceof Error ? err.message : String(err);
} finally {
  if (!options.input) rmSync(input, { recursive: true, force: true });
}
if (failure !== undefined || !result || !Array.isArray(result.issues) || !Array.isArray(result.errors)) {
  fail(2, `the scan failed: ${failure ?? 'the tool returned no list of findings'}`);
}

const unparsed = result.errors.filter((e) => !e.tolerable);
if (unparsed.length > 0) {
  for (const e of unparsed) process.stderr.write(`  could not parse ${e.file}: ${e.message}\n`);
  fail(2, `${unparsed.length} file(s) could not be parsed, so they were not scanned`);
}

const key = (id, file) => `${id}\u0000${file.split(path.sep).join('/')}`;
const allowed = new Map(allowList.map((e) => [key(e.id, e.file), { entry: e, used: 0 }]));
const fresh = [];
for (const issue of result.issues) {
  const match = allowed.get(key(issue.id, issue.file));
  if (match) match.used++;
  else fresh.push(issue);
}
const stale = [...allowed.values()].filter((a) => a.used === 0).map((a) => a.entry);

const total = result.issues.length;
console.log(`electronegativity: ${total} findings, ${total - fresh.length} allowed, ${fresh.length} new`);
for (const issue of fresh) {
  const where = `${issue.file}:${issue.location?.line ?? 0}:${issue.location?.column ?? 0}`;
  console.log(`  new: ${issue.id} at ${where} (${issue.severity?.name}, ${issue.confidence?.name}): ${issue.description}`);
}
for (const e of stale) {
  console.log(`  stale allowance: ${e.id} in ${e.file} matched nothing; remove it from the allow-list`);
}
process.exit(fresh.length > 0 || stale.length > 0 ? 1 : 0);
