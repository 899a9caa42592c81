/** The wizard's steps, and when each is done or reachable, from the project alone. */
import type { ProjectFile, StepId } from '../../src-main/contract/project.js';

export interface StepInfo { id: StepId; label: string; hint: string }

export const STEPS: StepInfo[] = [
  { id: 'load', label: 'Load', hint: 'Choose the data and the model' },
  { id: 'train', label: 'Train', hint: 'Train a model here' },
  { id: 'scan', label: 'Scan', hint: 'Search for pockets' },
  { id: 'inspect', label: 'Inspect', hint: 'See what was found' },
  { id: 'repair', label: 'Repair', hint: 'Close the pockets' },
  { id: 'verify', label: 'Verify', hint: 'Before and after' },
  { id: 'export', label: 'Export', hint: 'Save model and report' },
];

export type StepStatus = 'done' | 'ready' | 'locked';

/** The steps that show a scan's results, locked while a new scan runs: what they show is about to be replaced. */
const SCAN_RESULT_STEPS: StepId[] = ['inspect', 'repair', 'verify', 'export'];

/**
 * Done: its result exists. Ready: what it needs exists. Locked: say what is missing.
 * `running` is the label of the task under way, if any ('Scanning' locks the scan's results).
 */
export function stepStatus(project: ProjectFile | null, id: StepId, running?: string | null): { status: StepStatus; why?: string } {
  if (!project) return id === 'load' ? { status: 'ready' } : { status: 'locked', why: 'Open or create a project first.' };
  if (running === 'Scanning' && SCAN_RESULT_STEPS.includes(id)) return { status: 'locked', why: 'A new scan is running; its results replace these when it finishes.' };
  const hasData = Boolean(project.dataset);
  const hasModel = Boolean(project.model);
  switch (id) {
    case 'load': return { status: hasData && hasModel ? 'done' : 'ready' };
    case 'train':
      if (!hasData) return { status: 'locked', why: 'Choose a dataset first.' };
      return { status: project.training && hasModel ? 'done' : 'ready' };
    case 'scan':
      if (!hasData || !hasModel) return { status: 'locked', why: 'Choose a dataset and a model first.' };
      return { status: project.scan ? 'done' : 'ready' };
    case 'inspect':
      return project.scan ? { status: 'done' } : { status: 'locked', why: 'Run a scan first.' };
    case 'repair':
      if (!project.scan) return { status: 'locked', why: 'Run a scan first.' };
      return { status: project.repair ? 'done' : 'ready' };
    case 'verify':
      return project.repair ? { status: 'done' } : { status: 'locked', why: 'Repair the model first.' };
    case 'export':
      if (!project.scan) return { status: 'locked', why: 'Run a scan first.' };
      return { status: project.exports.length ? 'done' : 'ready' };
  }
}
