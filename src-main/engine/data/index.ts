/** The data layer's public API: load a dataset from a spec, save one as a `dir:` folder. */
export {
  sampleSize, numClasses, sampleView, selectSamples,
  type Dataset, type Split, type SplitName,
} from './dataset.js';
export { datasetFingerprint } from './fingerprint.js';
export { loadDataset, SPEC_FORMS, type LoadOptions } from './load.js';
export { saveDatasetDir, type SaveExtra } from './save.js';
export { loadDatasetManifest } from './from-dir.js';
export { SPLIT_SEED, TRAIN_FRACTION } from './split.js';
export { decodeIdx, encodeIdx, type IdxArray, type IdxType } from './idx.js';
