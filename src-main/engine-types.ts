/**
 * Result types of engine jobs, re-exported for the layers above the worker (CLI, app,
 * renderer). Type-only: importing this file loads no engine code.
 */
export type { Pocket, ScanResult, RepairResult, ClassStatistics, PairStatistics, ScanSettings } from './contract/results.js';
