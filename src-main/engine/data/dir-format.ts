/**
 * The project's own dataset folder (`dir:DIR`), shared by the loader and saveDatasetDir:
 * a `dataset.json` description next to IDX files (u8 or float32 pixels, u8 or int32 labels)
 * and, for datasets written by an attack, a `manifest.json` the attack supplies.
 */
import { z } from 'zod';

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
});

export type DatasetDescription = z.infer<typeof DatasetDescription>;
