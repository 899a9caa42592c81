/**
 * The seeded random number generator every engine module uses (data splits, `--limit`
 * subsets, attacks, training shuffles), so a run with the same seed gives the same result on
 * every machine. Never use Math.random() in the engine.
 *
 * The generator is mulberry32: 32 bits of state, fast, and good enough for shuffling and
 * sampling (it is not cryptographic). Its sequence depends only on integer arithmetic, so it
 * is identical on every platform and JS engine.
 */

export interface Rng {
  /** A uniform number in [0, 1), with 32 bits of resolution. */
  next(): number;
  /** A uniform integer in [0, n); n must be a positive integer no larger than 2^32. */
  int(n: number): number;
  /** A standard normal number (mean 0, standard deviation 1), by the Box–Muller transform. */
  normal(): number;
  /** Shuffles the array in place (Fisher–Yates) and returns it. Works on typed arrays too. */
  shuffle<A extends { length: number; [index: number]: unknown }>(array: A): A;
}

const TWO_POW_32 = 4294967296;

/**
 * Creates a generator. The seed is truncated to an integer and taken modulo 2^32, so every
 * finite number is a valid seed; seeds that differ give unrelated sequences.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`The random seed must be a finite number, not ${seed}.`);
  let state = Math.trunc(seed) >>> 0;
  // Box–Muller yields normals in pairs; keeping the second one halves the cost of normal().
  let spareNormal: number | undefined;

  function nextUint32(): number {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  const rng: Rng = {
    next: () => nextUint32() / TWO_POW_32,

    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
        throw new RangeError(`Rng.int needs a positive integer no larger than 2^32, not ${n}.`);
      }
      return Math.floor(rng.next() * n);
    },

    normal(): number {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      // 1 - next() lies in (0, 1], so the logarithm is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
      const angle = 2 * Math.PI * rng.next();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },

    shuffle<A extends { length: number; [index: number]: unknown }>(array: A): A {
      for (let i = array.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
  };
  return rng;
}
