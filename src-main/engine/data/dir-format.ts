/**
 * The project's own dataset folder (`dir:DIR`), shared by the loader and saveDatasetDir:
 * a `dataset.json` description next to IDX files (u8 or float32 pixels, u8 or int32 labels)
 * and, for datasets written by an attack, a `manifest.json` the attack supplies. Where the
 * samples came from (sources.ts) is kept when it was known: the places listed in dataset.json,
 * and per split an int32 [N, 2] IDX file of each sample's place and number. Older folders
 * without it still load; their samples' sources are then their items in the folder's IDX files.
 */
import { z } from 'zod';
import { SOURCE_NUMBERINGS } from './sources.js';

export const DATASET_FORMAT = 'clear-dataset';
export const DATASET_VERSION = 1;
export const DESCRIPTION_FILE = 'dataset.json';
export const MANIFEST_FILE = 'manifest.json';

const fileName = z.string().min(1);

export const DatasetDescription = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.number().int(),
  name: z.string(),
  shape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  classNames: z.array(z.string()).min(1),
  files: z.object({
    trainImages: fileName,
    trainLabels: fileName,
    testImages: fileName,
    testLabels: fileName,
    /** Present when the dataset was written with a manifest (poisoned datasets). */
    manifest: fileName.optional(),
  }),
  /** Where the samples came from, when it was known (saved since sources were kept). */
  sources: z.object({
    places: z.array(z.string().max(4096)),
    numbering: z.array(z.enum(SOURCE_NUMBERINGS)),
    train: fileName,
    test: fileName,
  }).optional(),
});

export type DatasetDescription = z.infer<typeof DatasetDescription>;
