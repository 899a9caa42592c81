/**
 * The engine's job table: contract job names to engine job functions. `JobHandlers` makes it
 * total and typed: every job has a handler, each handler takes that job's validated arguments
 * and resolves to the result type the contract declares for it.
 */
import type { JobHandlers } from '../../contract/jobs.js';
import type { JobContext } from '../progress.js';
import { evalJob, featuresJob, infoJob, predictJob, repairJob, scanJob, trainJob } from './clear.js';
import { datasetPreviewJob, pocketViewJob, sampleImagesJob } from './ui.js';
import { attackJob, benchJob } from './bench.js';
import { exportReportJob, scanReportJob } from './report.js';
import { exportModelFileJob } from './repair-file.js';

export const handlers: JobHandlers<JobContext> = {
  train: trainJob,
  eval: evalJob,
  predict: predictJob,
  info: infoJob,
  scan: scanJob,
  features: featuresJob,
  repair: repairJob,
  attack: attackJob,
  bench: benchJob,
  datasetPreview: datasetPreviewJob,
  sampleImages: sampleImagesJob,
  pocketView: pocketViewJob,
  exportReport: exportReportJob,
  exportModelFile: exportModelFileJob,
  scanReport: scanReportJob,
};
