// Inputs the fuzz suites found failing (kept under test/fixtures/fuzz/<parser>/), each a
// regular test: the parser must now refuse it cleanly, in one sentence that says what is wrong.
import { describe, expect, it } from 'vitest';
import { parseCall } from '../../../src-main/contract/host-messages.js';
import { parseJobRequest } from '../../../src-main/contract/jobs.js';
import { toJobError } from '../../../src-main/contract/messages.js';
import { parseRepair, parseScan } from '../../../src-main/engine/clear/evidence.js';
import { UserError } from '../../../src-main/engine/errors.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../../src-main/engine/backend/index.js';
import { loadModel } from '../../../src-main/engine/model/io.js';
import { sizeTopology } from '../../../src-main/engine/model/topology.js';
import { fixturePath } from './fixtures.js';
import { fixtureJson } from './fixtures.js';

describe('contract messages', () => {
  it('call: a call name that JSON cannot write (a bigint) is refused as an unknown call instead of throwing', () => {
    const { call, args } = fixtureJson<{ call: unknown; args: unknown }>('call', 'bigint-call-name.json');
    expect(typeof call).toBe('bigint');
    const parsed = parseCall(call, args);
    expect(parsed).toMatchObject({ ok: false });
    expect((parsed as { error: string }).error).toMatch(/^Unknown call a value of type bigint; the calls are /);
  });

  it('job-request: a job name inherited from Object.prototype (hasOwnProperty) is an unknown job, not a TypeError in the worker', () => {
    const { job, args } = fixtureJson<{ job: unknown; args: unknown }>('job-request', 'inherited-job-name.json');
    expect(job).toBe('hasOwnProperty');
    const parsed = parseJobRequest(job, args);
    expect(parsed).toMatchObject({ ok: false });
    expect((parsed as { error: string }).error).toMatch(/^Unknown job "hasOwnProperty"; the jobs are train, /);
    for (const name of ['toString', 'constructor', '__proto__', 'valueOf']) expect(parseJobRequest(name, {}).ok).toBe(false);
  });

  it('job-error: a thrown object without a prototype becomes an internal job error instead of a TypeError', () => {
    const { thrown } = fixtureJson<{ thrown: unknown }>('job-error', 'null-prototype-object.json');
    expect(Object.getPrototypeOf(thrown)).toBeNull();
    expect(toJobError(thrown)).toEqual({ kind: 'internal', message: 'Internal error: a thrown object' });
  });
});

/** The UserError `run` throws, checked to be one sentence. */
function userError(run: () => unknown): string {
  let caught: unknown;
  try { run(); } catch (err) { caught = err; }
  expect(caught).toBeInstanceOf(UserError);
  const message = (caught as Error).message;
  expect(message).toMatch(/\.$/);
  expect(message).not.toMatch(/\n/);
  return message;
}

describe('evidence given as values (structured cloning carries cycles and bigints)', () => {
  it('scan-value: a scan with a cyclic field is refused naming the field, instead of a TypeError from JSON.stringify', () => {
    const value = fixtureJson<{ settings: { featureLayer: unknown } }>('scan-value', 'cyclic-field.json');
    expect(value.settings.featureLayer).toBe(value.settings);
    expect(userError(() => parseScan(value, 'The scan given')))
      .toBe('The scan given is not a CLEAR scan result (expected schema clear-scan/2; settings.featureLayer: Expected string, received object).');
  });

  it('repair: a repair report with a bigint field is refused naming the field, instead of a TypeError from JSON.stringify', () => {
    const value = fixtureJson<{ seconds: unknown }>('repair', 'bigint-field.json');
    expect(typeof value.seconds).toBe('bigint');
    expect(userError(() => parseRepair(value, 'The repair report given')))
      .toMatch(/^The repair report given is not a CLEAR repair report \(expected schema clear-repair\/1; seconds: .*\)\.$/);
  });
});

// tfjs builds a functional model by passing over its layers until every call is made; a graph
// where no pass makes a call spins for ever (synchronously: no timeout or cancel stops it). The
// topology walk must refuse such a model.json before tfjs sees it. sizeTopology is checked
// first, so a regression fails on its expectation instead of hanging in loadModel.
describe('model.json graphs that tfjs would build for ever', () => {
  for (const [name, fragment] of [
    ['unnamed-layer-entry', 'gives layer "input1" (InputLayer) in the model no name; a layer of a functional model has the same name in both'],
    ['shared-layer-waits', 'so that tfjs can never make the calls of "L"'],
  ] as const) {
    it(`model: ${name} is refused before tfjs builds it`, async () => {
      const dir = fixturePath('model', name);
      const file = path.join(dir, 'model.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: unknown };
      expect(userError(() => sizeTopology(json.modelTopology, file))).toContain(fragment);
      await initBackend('cpu');
      const err = await loadModel(dir).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toContain(fragment);
    });
  }
});
