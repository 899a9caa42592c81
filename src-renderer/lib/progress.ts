/**
 * A running task's progress, from the engine's events: what the task shows now, and an ETA
 * only when it means something. Pure functions, so the rules are tested without a page.
 */
import { seconds } from './format.js';

export interface ProgressEvent { stage: string; fraction: number; message?: string; metrics?: Record<string, number> }

export interface TaskProgress {
  stage: string;
  fraction: number;
  message?: string;
  metrics?: Record<string, number>;
  /** Latest fraction seen per stage, for step-by-step progress (scan: embed → pocket-test). */
  stages: Record<string, number>;
}

/**
 * The task after one event. The event's message and figures replace the previous ones rather
 * than add to them: a stage that reports no ETA must not show the ETA an earlier stage left.
 */
export function applyProgress<T extends TaskProgress>(task: T, event: ProgressEvent): T {
  return {
    ...task, stage: event.stage, fraction: event.fraction, message: event.message, metrics: event.metrics,
    stages: { ...task.stages, [event.stage]: event.fraction },
  };
}

/** What the stages that report an ETA are, in words. */
const STAGE_NAMES: Record<string, string> = { train: 'training', 'clean-victim': 'clean victim', repair: 'fine-tuning' };

/** Below this share of a stage done, its rate (and so its ETA) is still mostly start-up cost. */
export const ETA_MIN_FRACTION = 0.05;

/**
 * The time left in the current stage, named, or null while no estimate is meaningful: before
 * the stage is ETA_MIN_FRACTION done, when under a second is left (the stage is ending, and the
 * job may have more after it), or when the stage reports none.
 */
export function etaText(task: Pick<TaskProgress, 'stage' | 'fraction' | 'metrics'>): string | null {
  const eta = task.metrics?.etaSeconds;
  if (eta === undefined || !Number.isFinite(eta) || eta < 1 || task.fraction < ETA_MIN_FRACTION) return null;
  return `${STAGE_NAMES[task.stage] ?? task.stage}: about ${seconds(eta)} left`;
}
