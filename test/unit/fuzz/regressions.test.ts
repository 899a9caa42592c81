// Inputs the fuzz suites found failing (kept under test/fixtures/fuzz/<parser>/), each a
// regular test: the parser must now refuse it cleanly, in one sentence that says what is wrong.
import { describe, expect, it } from 'vitest';
import { parseCall } from '../../../src-main/contract/host-messages.js';
import { toJobError } from '../../../src-main/contract/messages.js';
import { fixtureJson } from './fixtures.js';

describe('contract messages', () => {
  it('call: a call name that JSON cannot write (a bigint) is refused as an unknown call instead of throwing', () => {
    const { call, args } = fixtureJson<{ call: unknown; args: unknown }>('call', 'bigint-call-name.json');
    expect(typeof call).toBe('bigint');
    const parsed = parseCall(call, args);
    expect(parsed).toMatchObject({ ok: false });
    expect((parsed as { error: string }).error).toMatch(/^Unknown call a value of type bigint; the calls are /);
  });

  it('job-error: a thrown object without a prototype becomes an internal job error instead of a TypeError', () => {
    const { thrown } = fixtureJson<{ thrown: unknown }>('job-error', 'null-prototype-object.json');
    expect(Object.getPrototypeOf(thrown)).toBeNull();
    expect(toJobError(thrown)).toEqual({ kind: 'internal', message: 'Internal error: a thrown object' });
  });
});
