import { describe, expect, it } from 'vitest';
import { caseParams, PUBLISHED_SETTINGS, VARIANT_ATTACKS } from '../../../src-main/engine/attacks/presets.js';

describe('bench attack settings', () => {
  it('run the published settings by default and stronger ones only as named variants', () => {
    expect(caseParams('fc', 'transfer')).toEqual({ baseChoice: 'random', placement: 'replace' });
    expect(caseParams('fc', 'e2e')).toEqual({ baseChoice: 'random', placement: 'replace', watermark: 0.3 });
    expect(caseParams('cp', 'transfer')).toEqual({ baseChoice: 'random', placement: 'replace' });
    expect(caseParams('bp', 'transfer', 'nearest')).toEqual({ baseChoice: 'nearest', placement: 'replace' });
    expect(caseParams('bp', 'transfer', 'strong')).toEqual({ baseChoice: 'nearest', placement: 'replace', epsilon: 0.2 });
    expect(caseParams('fc', 'transfer', 'strong')).toEqual({ baseChoice: 'nearest', placement: 'replace', watermark: 0.3 });
    expect(caseParams('label-flip', 'e2e')).toEqual({});
    expect(caseParams('label-flip', 'e2e', 'augmented')).toEqual({ maxShift: 2, noiseStd: 0.05 });
    expect(VARIANT_ATTACKS['two-targets']).toEqual(['label-flip']);
  });

  it('name each paper\'s settings and the departures from them', () => {
    expect(PUBLISHED_SETTINGS.fc.settings.beta0).toBe(0.25);
    expect(PUBLISHED_SETTINGS.cp.settings.poisons).toBe(5);
    expect(PUBLISHED_SETTINGS.bp.settings.epsilon).toMatch(/8\/255/);
    for (const a of ['cp', 'bp'] as const) expect(PUBLISHED_SETTINGS[a].departures.join(' ')).toMatch(/25 poisons instead of 5/);
  });
});
