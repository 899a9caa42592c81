/** Maps contract job names to engine job functions. */
import type { JobName } from '../contract/jobs.js';
import type { JobContext } from '../engine/progress.js';
import { evalJob, infoJob, predictJob, repairJob, scanJob, trainJob } from '../engine/jobs.js';
import { uiHandlers } from '../engine/ui-jobs.js';
import { attackJob, benchJob } from '../engine/bench-jobs.js';

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
