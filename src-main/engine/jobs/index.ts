/** Maps contract job names to engine job functions. */
import type { JobName } from '../../contract/jobs.js';
import type { JobContext } from '../progress.js';
import { evalJob, infoJob, predictJob, repairJob, scanJob, trainJob } from './clear.js';
import { uiHandlers } from './ui.js';
import { attackJob, benchJob } from './bench.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (args: any, ctx: JobContext) => Promise<unknown>;

export const handlers: Partial<Record<JobName, Handler>> = {
  train: trainJob,
  eval: evalJob,
  predict: predictJob,
  info: infoJob,
  scan: scanJob,
  repair: repairJob,
  attack: attackJob,
  bench: benchJob,
  ...uiHandlers,
};
