/**
 * Where each sample came from, kept compactly: a short list of places (a file, an array in an
 * archive, a class of the built-in digits) and, per sample, which place and which position in
 * it, as two Int32Arrays. A sample's source is written out only when asked for (`sourceText`),
 * so a million samples cost 8 MB, not a million strings.
 *
 * How a place numbers its samples decides how a source is written:
 * - 'item': the sample is item N of the place, counted from 0 as NumPy and IDX readers count:
 *   `train-images.idx3-ubyte[12]`, `data.npz[x_train][12]`, `data_batch_1.bin[12]`, `mnist[3][17]`;
 * - 'line': the sample is line N of a text file, counted from 1 as editors count: `data.csv:14`;
 * - 'whole': the place is the sample's own file: `cat/001.png`.
 *
 * Free of Node built-ins, like dataset.ts, which imports it.
 */

export const SOURCE_NUMBERINGS = ['item', 'line', 'whole'] as const;
export type SourceNumbering = (typeof SOURCE_NUMBERINGS)[number];

export interface SampleSources {
  /** Where samples came from (file paths as the spec or the dataset folder names them). */
  places: string[];
  /** How each place numbers its samples; as long as `places`. */
  numbering: SourceNumbering[];
  /** Per sample: its place, an index into `places`. */
  place: Int32Array;
  /** Per sample: its number in that place (0 for a 'whole' place). */
  at: Int32Array;
}

/** `count` consecutive items of one place, numbered from `first`. */
export function itemSources(place: string, count: number, first = 0, numbering: SourceNumbering = 'item'): SampleSources {
  return {
    places: [place], numbering: [numbering],
    place: new Int32Array(count),
    at: Int32Array.from({ length: count }, (_, i) => first + i),
  };
}

/** Samples that are items of one place at the given positions (lines of a text file, records). */
export function numberedSources(place: string, positions: Int32Array, numbering: SourceNumbering): SampleSources {
  return { places: [place], numbering: [numbering], place: new Int32Array(positions.length), at: positions.slice() };
}

/** One sample per file: sample i is the file `files[i]`. */
export function fileSources(files: string[]): SampleSources {
  return {
    places: files.slice(), numbering: files.map(() => 'whole' as const),
    place: Int32Array.from({ length: files.length }, (_, i) => i),
    at: new Int32Array(files.length),
  };
}

/** How sample `i` is written (see the top of this file). */
export function sourceText(sources: SampleSources, i: number): string {
  const p = sources.place[i];
  const place = sources.places[p];
  switch (sources.numbering[p]) {
    case 'whole': return place;
    case 'line': return `${place}:${sources.at[i]}`;
    default: return `${place}[${sources.at[i]}]`;
  }
}

/** The sources of the chosen samples, in the order given (as selectSamples picks them). */
export function pickSources(sources: SampleSources, indices: ArrayLike<number>): SampleSources {
  const place = new Int32Array(indices.length);
  const at = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    place[i] = sources.place[indices[i]];
    at[i] = sources.at[indices[i]];
  }
  return { places: sources.places, numbering: sources.numbering, place, at };
}

/** The sources of `a`'s samples followed by `b`'s; a place both name (with the same numbering) is listed once. */
export function joinSources(a: SampleSources, b: SampleSources): SampleSources {
  const places = a.places.slice();
  const numbering = a.numbering.slice();
  const known = new Map(places.map((name, k) => [`${numbering[k]}\u0000${name}`, k]));
  const remap = b.places.map((name, k) => {
    const key = `${b.numbering[k]}\u0000${name}`;
    let to = known.get(key);
    if (to === undefined) {
      to = places.length;
      places.push(name);
      numbering.push(b.numbering[k]);
      known.set(key, to);
    }
    return to;
  });
  const n = a.place.length;
  const place = new Int32Array(n + b.place.length);
  const at = new Int32Array(n + b.at.length);
  place.set(a.place);
  at.set(a.at);
  for (let i = 0; i < b.place.length; i++) {
    place[n + i] = remap[b.place[i]];
    at[n + i] = b.at[i];
  }
  return { places, numbering, place, at };
}

/**
 * Whether a sources record fits a split of `count` samples: one place and number per sample,
 * every place index among the places, numbers whole and not negative (lines from 1). A record
 * read from a file is checked with this before it is used.
 */
export function sourcesProblem(sources: SampleSources, count: number): string | undefined {
  if (sources.numbering.length !== sources.places.length) return `it numbers ${sources.numbering.length} places but names ${sources.places.length}`;
  if (sources.place.length !== count || sources.at.length !== count) return `it describes ${sources.place.length} samples but the split holds ${count}`;
  for (let i = 0; i < count; i++) {
    const p = sources.place[i];
    if (p < 0 || p >= sources.places.length) return `sample ${i} names place ${p}, but there are ${sources.places.length} places`;
    const min = sources.numbering[p] === 'line' ? 1 : 0;
    if (sources.at[i] < min) return `sample ${i} is numbered ${sources.at[i]}, below ${min}`;
  }
  return undefined;
}
