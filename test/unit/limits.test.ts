import { afterEach, describe, expect, it } from 'vitest';
import { applyLimitsFromEnv, checkLimit, DEFAULT_LIMITS, limits, parseLimits, resetLimits, setLimits } from '../../src-main/engine/limits.js';

afterEach(() => resetLimits());

describe('input budgets', () => {
  it('refuses a declared size above its limit, naming the file, the size and how to raise it', () => {
    expect(() => checkLimit('samples', 10_000_000, 'labels.idx', 'declares 10000000 labels')).toThrow(
      /^labels\.idx declares 10000000 labels, above the limit of 1000000 samples; .*CLEAR_LIMITS=samples=N/,
    );
    expect(() => checkLimit('layerUnits', Number.NaN, 'model.json', 'declares a layer of NaN units')).toThrow(/model\.json/);
    expect(() => checkLimit('samples', DEFAULT_LIMITS.samples, 'ok.idx', 'declares the limit')).not.toThrow();
  });

  it('is raised from CLEAR_LIMITS and rejects unknown names and bad values', () => {
    applyLimitsFromEnv({ CLEAR_LIMITS: 'samples=2000000, classes=20' });
    expect(limits().samples).toBe(2_000_000);
    expect(limits().classes).toBe(20);
    expect(() => checkLimit('samples', 1_500_000, 'big.idx', 'declares 1500000 labels')).not.toThrow();
    expect(() => parseLimits('sample=3')).toThrow(/Unknown limit "sample"/);
    expect(() => parseLimits('samples')).toThrow(/name=value/);
    expect(() => setLimits({ samples: -1 })).toThrow(/positive/);
    resetLimits();
    expect(limits().samples).toBe(DEFAULT_LIMITS.samples);
  });
});
