/**
 * The wizard's state: the open project (the single source of truth, saved to project.json
 * after every change, so closing and reopening loses nothing), the running task, and the
 * views' caches. Components read getters and call methods; nothing else changes state.
 *
 * Large data (chart series, projections, results) is `$state.raw`: replaced, never mutated,
 * so Svelte does not wrap thousands of points in proxies.
 */
import { type AppInfo, type DialogPurpose, type RecentProject } from '../../src-main/contract/app-calls.js';
import { type MenuAction } from '../../src-main/contract/host-messages.js';
import { type HistoryEntry, type ProjectFile, type ProjectSettings, type StepId } from '../../src-main/contract/project.js';
import type { AttackName } from '../../src-main/contract/catalogue.js';
import type { JobInput, JobName } from '../../src-main/contract/jobs.js';
import { api, ApiError, type Progress } from './api.js';
import { joinPath } from './format.js';
import type { JobResults } from '../../src-main/contract/jobs.js';
import type { DatasetPreview, InfoResult, InputTransform, Pocket, PocketView, RepairAction, RepairPlan, RepairResult, SampleImages, ScanResult } from '../../src-main/contract/results.js';
import { applyProgress, type TaskProgress } from './progress.js';
import { STEPS, stepStatus } from './steps.js';

export interface Task extends TaskProgress {
  id: string;
  label: string;
  cancel(): void;
}

/** A question the page asks before it replaces work (the in-page confirmation dialog). */
export interface ConfirmRequest { title: string; message: string; confirm: string; resolve(ok: boolean): void }

export type MemberImage = SampleImages['samples'][number];
export type Neighbour = NonNullable<PocketView['pairs'][number]['neighbour']>;

/** Members per group shown beside their nearest clean neighbour in the repair review. */
export const REVIEW_NEIGHBOURS = 200;

/** The groups a repair acts on: the scan's backdoor pockets and poisoning attempts. */
export function reportedGroups(scan: ScanResult | undefined): Pocket[] {
  return scan?.pockets.filter((p) => p.confirmed || p.attempt) ?? [];
}

/**
 * One point of the training chart: the smoothed training loss and accuracy (the engine's moving
 * average over batches, across epochs) at a fractional epoch; at the end of an epoch also the
 * held-out validation loss and accuracy the engine measured then.
 */
export interface CurvePoint { epoch: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number }

export interface PathRequest { purpose: DialogPurpose; initial: string; resolve(path: string | null): void }

export interface DatasetChoice { spec: string; limit?: number; dataSeed?: number }

export interface AttackChoice { attack: AttackName; target: number; attackerClass: number; poisons: number; seed: number }

export class Wizard {
  #info = $state.raw<AppInfo | null>(null);
  #dir = $state<string | null>(null);
  #project = $state.raw<ProjectFile | null>(null);
  #warnings = $state.raw<string[]>([]);
  #recent = $state.raw<RecentProject[]>([]);
  #task = $state.raw<Task | null>(null);
  #curve = $state.raw<CurvePoint[]>([]);
  #preview = $state.raw<DatasetPreview | null>(null);
  #pocketViews = $state.raw<ReadonlyMap<number, PocketView>>(new Map());
  /** Pockets whose drawing failed (the error is shown above): their detail says so instead of waiting. */
  #failedViews = $state.raw<ReadonlySet<number>>(new Set());
  #selectedPocket = $state<number | null>(null);
  /** The current model's layers (the info job), read when the Scan step needs them; null until then. */
  #modelInfo = $state.raw<InfoResult | null>(null);
  /** The pair of classes the Inspect step's pocket list is narrowed to (a cell of the A-inside-B matrix), or null for all. */
  #pair = $state.raw<{ attackerClass: number; enclosingClass: number } | null>(null);
  /** One sentence saying what went wrong and what to do next. */
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** Set while the page asks for a typed path (browser mode has no native dialogs). */
  pathRequest = $state.raw<PathRequest | null>(null);
  /** Set while the page asks whether to replace work. */
  confirmRequest = $state.raw<ConfirmRequest | null>(null);
  #memberImages = $state.raw<ReadonlyMap<number, MemberImage>>(new Map());
  #neighbours = $state.raw<ReadonlyMap<number, Neighbour>>(new Map());
  #saving: Promise<unknown> = Promise.resolve();
  #fit = $state.raw<JobResults['eval'] | null>(null);
  /** The analyst has read the load warnings of the opened model and data (checkFit) and goes on. */
  fitAcknowledged = $state(true);

  get info() { return this.#info; }
  get dir() { return this.#dir; }
  get project() { return this.#project; }
  get warnings() { return this.#warnings; }
  get recent() { return this.#recent; }
  get task() { return this.#task; }
  get curve() { return this.#curve; }
  get preview() { return this.#preview; }
  /** The opened model's accuracy, confusion matrix and warnings on the project's data (checkFit). */
  get fit() { return this.#fit; }
  get pocketViews() { return this.#pocketViews; }
  get failedViews() { return this.#failedViews; }
  get selectedPocket() { return this.#selectedPocket; }
  get pair() { return this.#pair; }
  /** The current model's layers, once read for its fingerprint. */
  get modelInfo() { return this.#modelInfo?.fingerprint === this.#project?.model?.fingerprint ? this.#modelInfo : null; }

  /**
   * The layers a scan can split the current model at: those that output a flat vector, except
   * the output layer (the engine refuses the others, features/split.ts), in the model's order.
   */
  get featureLayers(): { name: string; type: string; width: number }[] {
    const info = this.modelInfo;
    if (!info) return [];
    const flat = info.layers.slice(0, -1).flatMap((l) => {
      let shape: unknown;
      try { shape = JSON.parse(l.outputShape); } catch { return []; }
      return Array.isArray(shape) && shape.length === 2 && typeof shape[1] === 'number' ? [{ name: l.name, type: l.type, width: shape[1] }] : [];
    });
    return flat;
  }

  /** The feature layer the next scan uses: the one chosen in the Scan step if the current model has it, else the model's default. */
  get featureLayer(): string | null {
    const chosen = this.#project?.settings.scan.featureLayer;
    if (chosen && this.featureLayers.some((l) => l.name === chosen)) return chosen;
    return this.modelInfo?.featureLayer ?? null;
  }

  /** Reads the current model's layers for the Scan step's feature-layer choice (quietly: a failure leaves the default). */
  async loadModelInfo(): Promise<void> {
    const model = this.#project?.model;
    if (!model || this.#modelInfo?.fingerprint === model.fingerprint) return;
    try {
      const info = await api.job('info', { model: model.dir }).result;
      if (this.#project?.model?.fingerprint === info.fingerprint) this.#modelInfo = info;
    } catch { /* the scan then uses the model's default feature layer */ }
  }
  /** Thumbnails, labels and sources of the reported groups' members, by training index (the repair review). */
  get memberImages() { return this.#memberImages; }
  /** Each reviewed member's nearest training sample of its group's enclosing class (in feature space), by member index. */
  get neighbours() { return this.#neighbours; }

  step: StepId = $derived(this.#project?.step ?? 'load');
  steps = $derived(STEPS.map((s) => ({ ...s, ...stepStatus(this.#project, s.id, this.#task?.label) })));
  settings: ProjectSettings | null = $derived(this.#project?.settings ?? null);
  scan = $derived(this.#project?.scan?.result as ScanResult | undefined);
  repair = $derived(this.#project?.repair?.result as RepairResult | undefined);
  history: HistoryEntry[] = $derived(this.#project?.history ?? []);
  /** The repair plan under review for the current scan: every reported group, with the analyst's choices (relabel, all members, by default). */
  plan: RepairPlan = $derived.by(() => {
    const saved = this.#project?.repairPlan;
    const mine = saved && saved.scan === this.#project?.scan?.file ? saved.plan : null;
    return { pockets: reportedGroups(this.scan).map((p) => mine?.pockets.find((e) => e.id === p.id) ?? { id: p.id, action: 'relabel' as const, exclude: [] }) };
  });
  classNames: string[] = $derived(this.#project?.dataset?.classNames ?? []);

  // -------------------------------------------------------------------------------------
  // Start, projects, navigation

  async start(): Promise<void> {
    this.#info = await this.#guard('Connecting to the engine', () => api.call('app.info', {}));
    api.onMenu((action, dir) => void this.onMenu(action, dir));
    this.#recent = (await this.#guard('Reading the recent projects', () => api.call('project.recent', {}))) ?? [];
    // Reopen where the user left off: the project named at start, else the last one.
    const reopen = this.#info?.startupProject ?? this.#recent[0]?.dir;
    if (reopen) await this.openProject(reopen);
  }

  async openProject(dir: string): Promise<void> {
    const opened = await this.#guard('Opening the project', () => api.call('project.open', { dir }));
    if (opened) this.#adopt(opened.dir, opened.project, opened.warnings);
  }

  async createProject(dir: string): Promise<void> {
    const created = await this.#guard('Creating the project', () => api.call('project.create', { dir }));
    if (created) this.#adopt(created.dir, created.project, created.warnings);
  }

  #adopt(dir: string, project: ProjectFile, warnings: string[]): void {
    this.#dir = dir;
    this.#project = project;
    this.#memberImages = new Map();
    this.#neighbours = new Map();
    this.#neighboursAsked.clear();
    this.#imagesAsked.clear();
    // A project saved before histories were kept: its current scan and repair start the history.
    if (!project.history.length && project.scan) {
      const entries = [this.#scanEntry(project.scan.file, project.scan.result as ScanResult)];
      if (project.repair) entries.push(this.#repairEntry(project, project.repair.result as RepairResult));
      this.#update({ history: entries });
    }
    this.#warnings = warnings;
    this.#preview = null;
    this.#fit = null;
    this.fitAcknowledged = true;
    this.#pocketViews = new Map();
    this.#failedViews = new Set();
    this.#viewsAsked.clear();
    const pockets = (project.scan?.result as ScanResult | undefined)?.pockets ?? [];
    this.#selectedPocket = (pockets.find((p) => p.confirmed) ?? pockets[0])?.id ?? null;
    this.#pair = null;
    this.#curve = (project.training?.history ?? []).map((h) => ({
      epoch: h.epoch, loss: h.loss, accuracy: h.accuracy,
      ...(h.valLoss !== undefined && h.valAccuracy !== undefined ? { valLoss: h.valLoss, valAccuracy: h.valAccuracy } : {}),
    }));
    void api.call('project.recent', {}).then((r) => { this.#recent = r; }, () => {});
    if (project.dataset) void this.refreshPreview();
  }

  go(step: StepId): void {
    const status = stepStatus(this.#project, step, this.#task?.label);
    if (status.status === 'locked') { this.notice = status.why ?? null; return; }
    // A notice is about the step it was given on.
    if (this.#project && this.#project.step !== step) { this.notice = null; this.#update({ step }); }
  }

  /** Asks in the page before work is replaced; resolves true to go ahead. */
  confirm(title: string, message: string, confirm: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.confirmRequest = { title, message, confirm, resolve: (ok) => { this.confirmRequest = null; resolve(ok); } };
    });
  }

  /**
   * Before an action that sets the current repair aside: asks, when there is one. The repair
   * stays in the history either way (its model folder is never deleted).
   */
  async #mayReplaceRepair(action: string): Promise<boolean> {
    const repair = this.#project?.repair;
    if (!repair) return true;
    return this.confirm(`${action}?`,
      `${action} replaces the current scan's results, and the repair and verification made after it are set aside. The repaired model stays on disk at ${repair.model.dir} and is listed in the project's history.`,
      action);
  }

  #scanEntry(file: string, scan: ScanResult): HistoryEntry {
    return {
      kind: 'scan', at: scan.createdAt, model: { dir: scan.model.dir, fingerprint: scan.model.fingerprint },
      data: { name: scan.dataset.name, fingerprint: scan.dataset.fingerprint }, scan: file, summary: scan.verdict.headline,
    };
  }

  #repairEntry(project: ProjectFile, repair: RepairResult): HistoryEntry {
    const scan = project.scan!;
    return {
      kind: 'repair', at: repair.createdAt, model: { dir: repair.model.from, fingerprint: repair.model.fromFingerprint },
      data: { name: (scan.result as ScanResult).dataset.name, fingerprint: (scan.result as ScanResult).dataset.fingerprint }, scan: scan.file,
      repaired: { dir: repair.model.out, fingerprint: repair.model.fingerprint },
      summary: `open pockets ${repair.before.openPockets} → ${repair.after.openPockets}; ${repair.relabelled.length} relabelled, ${repair.removed?.length ?? 0} removed`,
      ...(repair.plan ? { plan: repair.plan } : {}),
    };
  }

  /** Applies a change and saves project.json (saves run one after another, in order). */
  #update(patch: Partial<ProjectFile>): void {
    if (!this.#project || !this.#dir) return;
    const project = { ...this.#project, ...patch };
    this.#project = project;
    const dir = this.#dir;
    this.#saving = this.#saving.then(() => api.call('project.save', { dir, project })).catch((err: unknown) => {
      this.error = `The project could not be saved: ${(err as Error).message}`;
    });
  }

  updateSettings<K extends keyof ProjectSettings>(part: K, values: Partial<ProjectSettings[K]>): void {
    if (!this.#project) return;
    this.#update({ settings: { ...this.#project.settings, [part]: { ...this.#project.settings[part], ...values } } });
  }

  /** Waits for pending saves (tests and the export step use it). */
  flush(): Promise<unknown> { return this.#saving; }

  /** A path from a native dialog, or typed into the page where the host has none. */
  async pickPath(purpose: DialogPurpose): Promise<string | null> {
    const result = await this.#guard('Opening the dialog', () => api.call('dialog.open', { purpose }));
    if (!result) return null;
    if ('path' in result) return result.path;
    return new Promise((resolve) => {
      this.pathRequest = { purpose, initial: this.#dir ?? '~', resolve: (p) => { this.pathRequest = null; resolve(p); } };
    });
  }

  async onMenu(action: MenuAction, dir?: string): Promise<void> {
    if (action === 'export') { this.go('export'); return; }
    // File › Open Recent: the project the host's recent list names (opened, never created).
    if (action === 'open-recent') { if (dir) await this.openProject(dir); return; }
    this.go('load');
    const purpose = action === 'open-project' ? 'project' : action === 'open-model' ? 'model' : 'dataset-folder';
    const picked = await this.pickPath(purpose);
    if (!picked) return;
    if (action === 'open-project') await this.openOrCreateProject(picked);
    else if (action === 'open-model') await this.openModel(picked);
    else await this.openDatasetFolder(picked);
  }

  /** A folder the app saved (dataset.json inside: `dir:`) or one sub-folder of images per class (`folder:`). */
  async openDatasetFolder(dir: string): Promise<void> {
    const info = await this.#guard('Reading the folder', () => api.call('path.inspect', { path: dir }));
    if (!info) return;
    const saved = info.entries?.some((e) => e.name === 'dataset.json');
    await this.useDataset({ spec: `${saved ? 'dir' : 'folder'}:${info.path}` });
  }

  async openOrCreateProject(dir: string): Promise<void> {
    const info = await this.#guard('Checking the folder', () => api.call('path.inspect', { path: dir }));
    if (info?.holds === 'project') await this.openProject(info.path);
    else if (info) await this.createProject(info.path);
  }

  // -------------------------------------------------------------------------------------
  // Jobs

  /** Runs one engine job as the current task; errors become `error`, cancels a notice. */
  async #run<N extends JobName>(label: string, job: N, args: JobInput<N>, onProgress?: (e: Progress) => void): Promise<JobResults[N] | null> {
    if (this.#task) { this.error = `${this.#task.label} is still running; wait for it or cancel it first.`; return null; }
    this.error = null; this.notice = null;
    const running = api.job(job, args, (event) => {
      const t = this.#task;
      if (t?.id !== running.id) return;
      this.#task = applyProgress(t, event);
      onProgress?.(event);
    });
    this.#task = { id: running.id, label, stage: 'starting', fraction: 0, stages: {}, cancel: () => running.cancel() };
    try {
      return await running.result;
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'cancelled') this.notice = `${label} was cancelled; nothing was changed.`;
      else this.error = `${label} failed: ${(err as Error).message}${this.#logHint(err)}`;
      return null;
    } finally {
      this.#task = null;
    }
  }

  /** For an internal error (a bug, not the user's input): where its stack trace was logged. */
  #logHint(err: unknown): string {
    const file = this.#info?.logFile;
    return err instanceof ApiError && err.kind === 'internal' && file ? ` The details are in the log file ${file}.` : '';
  }

  async #guard<T>(label: string, f: () => Promise<T>): Promise<T | null> {
    try { return await f(); } catch (err) {
      this.error = `${label} failed: ${(err as Error).message}`;
      return null;
    }
  }

  #dataArgs() {
    const d = this.#project!.dataset!;
    return { data: d.spec, ...(d.limit ? { limit: d.limit } : {}), ...(d.dataSeed !== undefined ? { dataSeed: d.dataSeed } : {}) };
  }

  async #allocate(kind: 'model' | 'data' | 'scan' | 'repair'): Promise<string | null> {
    const dir = this.#dir;
    if (!dir) { this.error = 'Open or create a project first; its folder holds what the wizard writes.'; return null; }
    return (await this.#guard('Choosing an output folder', () => api.call('project.allocate', { dir, kind })))?.path ?? null;
  }

  async refreshPreview(): Promise<void> {
    if (!this.#project?.dataset) return;
    const preview = await this.#run('Reading the dataset', 'datasetPreview', { ...this.#dataArgs(), samplesPerClass: 3 });
    if (preview) this.#preview = preview;
  }

  /** Reads a dataset and makes it the project's; scan and repair results of other data are cleared. */
  async useDataset(choice: DatasetChoice, keepAttack = false): Promise<boolean> {
    const preview = await this.#run('Reading the dataset', 'datasetPreview', { data: choice.spec, limit: choice.limit, dataSeed: choice.dataSeed, samplesPerClass: 3 });
    if (!preview) return false;
    this.#preview = preview;
    const same = this.#project?.dataset?.fingerprint === preview.fingerprint;
    if (!same) { this.#memberImages = new Map(); this.#imagesAsked.clear(); this.#neighbours = new Map(); this.#neighboursAsked.clear(); }
    this.#update({
      dataset: {
        spec: choice.spec, ...(choice.limit ? { limit: choice.limit } : {}), ...(choice.dataSeed !== undefined ? { dataSeed: choice.dataSeed } : {}),
        name: preview.name, fingerprint: preview.fingerprint, classNames: preview.classNames,
        trainCount: preview.trainCount, testCount: preview.testCount,
      },
      ...(keepAttack ? {} : { attack: null }),
      ...(same ? {} : { scan: null, repair: null }),
    });
    // An opened model is checked against the new data at once; a model trained here is trained on it.
    const model = this.#project?.model;
    if (!same && model?.origin === 'opened') await this.checkFit(model.dir, model.input);
    return true;
  }

  /** Poisons the current (clean) data, then uses the poisoned copy: the first-time user's demo. */
  async simulateAttack(choice: AttackChoice): Promise<void> {
    const project = this.#project;
    if (!project?.dataset) { this.error = 'Choose a dataset first; the attack poisons a copy of it.'; return; }
    const source = project.attack?.source ?? { spec: project.dataset.spec, ...(project.dataset.limit ? { limit: project.dataset.limit } : {}) };
    const out = await this.#allocate('data');
    if (!out) return;
    const result = await this.#run('Simulating the attack', 'attack', { data: source.spec, limit: source.limit, ...choice, out });
    if (!result) return;
    const data = result.data;
    // The model trained or opened on the data before any poisoning, to compare the target's prediction with.
    const before = project.attack ? project.attack.before : project.model ?? undefined;
    if (!(await this.useDataset({ spec: data }, true))) return;
    this.#update({
      attack: { ...choice, source, data, result: { ...result }, ...(before ? { before } : {}) },
      // A model trained on the clean data is not the one the attack targets: train on the poisoned data next.
      ...(this.#project?.model?.origin === 'trained' ? { model: null, training: null } : {}),
    });
  }

  /**
   * The opened model on the project's data, before any scan: accuracy, confusion matrix and
   * the warnings the engine finds (class names or order, accuracy far below chance-adjusted).
   * Warnings must be acknowledged before a scan; a wrong input shape or class count is an error
   * here, at Load, and the model is not taken.
   */
  async checkFit(model: string, input?: InputTransform): Promise<JobResults['eval'] | null> {
    const d = this.#project?.dataset;
    if (!d) return null;
    const fit = await this.#run('Checking the model on the data', 'eval', { ...this.#dataArgs(), model, ...(input ? { input } : {}), split: d.testCount > 0 ? 'test' : 'train' });
    this.#fit = fit;
    this.fitAcknowledged = !fit?.warnings.length;
    return fit;
  }

  /** Opens a model file or folder; `input` says how it is fed when not the pixels as read (0–1). */
  async openModel(dir: string, input?: InputTransform): Promise<void> {
    const info = await this.#run('Reading the model', 'info', { model: dir });
    if (!info) return;
    if (this.#project?.dataset && !(await this.checkFit(info.model, input))) return;
    if (!(await this.#mayReplaceRepair('Open another model'))) return;
    this.#update({
      model: { dir: info.model, fingerprint: info.fingerprint, origin: 'opened', ...(info.metadata.architecture ? { architecture: info.metadata.architecture } : {}), ...(input ? { input } : {}) },
      training: null, scan: null, repair: null,
    });
  }

  async train(): Promise<void> {
    const project = this.#project;
    if (!project?.dataset) return;
    if (!(await this.#mayReplaceRepair('Train a new model'))) return;
    const out = await this.#allocate('model');
    if (!out) return;
    const s = project.settings.train;
    // On a simulated attack's data: compare the target's prediction with a clean victim, or else with the model from before the poisoning.
    const before = project.attack?.before;
    const compare = project.attack && !s.cleanVictim && before ? { compareWith: before.dir } : {};
    const previous = this.#curve;
    this.#curve = [];
    const result = await this.#run('Training', 'train', { ...this.#dataArgs(), ...s, cleanVictim: Boolean(project.attack) && s.cleanVictim, ...compare, out }, (e) => {
      const m = e.metrics;
      if (e.stage !== 'train') return;
      if (!m || m.loss === undefined || m.epoch === undefined || m.batch === undefined || !m.batches) return;
      if (m.valLoss !== undefined && m.valAccuracy !== undefined) {
        // The end of an epoch: its validation point, on the training line's last values.
        const last = this.#curve.at(-1);
        this.#curve = [...this.#curve, { epoch: m.epoch, loss: last?.loss ?? m.loss, accuracy: last?.accuracy ?? m.accuracy, valLoss: m.valLoss, valAccuracy: m.valAccuracy }];
        return;
      }
      this.#curve = [...this.#curve, { epoch: m.epoch - 1 + m.batch / m.batches, loss: m.smoothLoss ?? m.loss, accuracy: m.smoothAccuracy ?? m.accuracy }];
    });
    // A cancelled or failed run leaves the current model, so its curve comes back.
    if (!result) { this.#curve = previous; return; }
    this.#update({
      model: { dir: result.model, fingerprint: result.fingerprint, origin: 'trained', architecture: result.architecture },
      training: {
        arch: s.arch, accuracy: result.accuracy, samplesPerSecond: result.samplesPerSecond, trainSeconds: result.trainSeconds,
        backend: result.backend, history: this.#curve.map((p) => ({ ...p })), epochs: s.epochs,
        ...(result.attackOutcome ? { attackOutcome: result.attackOutcome } : {}),
      },
      scan: null, repair: null, repairPlan: null,
    });
  }

  async runScan(): Promise<void> {
    const project = this.#project;
    if (!project?.dataset || !project.model) return;
    if (!this.fitAcknowledged) { this.error = 'The model and the data may not belong together (see the warnings on the Load step); acknowledge them there before scanning.'; return; }
    if (!(await this.#mayReplaceRepair('Scan again'))) return;
    const out = await this.#allocate('scan');
    if (!out) return;
    const s = project.settings.scan;
    const featureLayer = s.featureLayer && this.featureLayers.some((l) => l.name === s.featureLayer) ? { featureLayer: s.featureLayer } : {};
    const result = await this.#run('Scanning', 'scan', { ...this.#dataArgs(), model: project.model.dir, ...(project.model.input ? { input: project.model.input } : {}), ...featureLayer, falseAlarm: s.falseAlarm, ...(s.neighbours ? { neighbours: s.neighbours } : {}), ...(s.useTestAsReference ? { reference: 'test' } : {}), out });
    if (!result) return;
    this.#pocketViews = new Map();
    this.#failedViews = new Set();
    this.#viewsAsked.clear();
    this.#selectedPocket = result.pockets.find((p) => p.confirmed)?.id ?? result.pockets[0]?.id ?? null;
    this.#pair = null;
    this.#memberImages = new Map();
    this.#imagesAsked.clear();
    this.#neighbours = new Map();
    this.#neighboursAsked.clear();
    this.#update({ scan: { file: out, result }, repair: null, repairPlan: null, history: [...this.history, this.#scanEntry(out, result)] });
  }

  /** Pockets whose view was asked for: drawn automatically once, again only when the user asks. */
  #viewsAsked = new Set<number>();

  /**
   * Narrows the pocket list to the groups of `attackerClass` inside `enclosingClass` and selects
   * the pair's first (a reported one, else the best scored); null shows every group again.
   */
  async selectPair(pair: { attackerClass: number; enclosingClass: number } | null): Promise<void> {
    this.#pair = pair;
    const scan = this.#project?.scan?.result;
    if (!pair || !scan) return;
    const ofPair = scan.pockets.filter((p) => p.attackerClass === pair.attackerClass && p.enclosingClass === pair.enclosingClass);
    const first = ofPair.find((p) => p.confirmed || p.attempt) ?? ofPair[0];
    if (first && !ofPair.some((p) => p.id === this.#selectedPocket)) await this.selectPocket(first.id);
  }

  async selectPocket(id: number, userAsked = true): Promise<void> {
    this.#selectedPocket = id;
    const project = this.#project;
    if (this.#pocketViews.has(id) || !project?.scan || !project.model) return;
    if (!userAsked && this.#viewsAsked.has(id)) return;
    this.#viewsAsked.add(id);
    this.#failedViews = new Set([...this.#failedViews].filter((f) => f !== id));
    const view = await this.#run('Drawing the pocket', 'pocketView', { ...this.#dataArgs(), model: project.model.dir, scan: project.scan.file, pocketId: id });
    if (view) this.#pocketViews = new Map([...this.#pocketViews, [id, view]]);
    else this.#failedViews = new Set([...this.#failedViews, id]);
  }

  async runRepair(): Promise<void> {
    const project = this.#project;
    if (!project?.dataset || !project.model || !project.scan) return;
    const out = await this.#allocate('repair');
    if (!out) return;
    const s = project.settings.repair;
    const plan = this.plan;
    const result = await this.#run('Repairing', 'repair', { ...this.#dataArgs(), model: project.model.dir, scan: project.scan.file, out, plan, ...s });
    if (!result) return;
    const current = this.#project!;
    this.#update({
      repair: { model: { dir: out, fingerprint: result.model.fingerprint, origin: 'repaired' }, result },
      history: [...current.history, this.#repairEntry(current, result)],
    });
  }

  // -------------------------------------------------------------------------------------
  // Repair review

  #savePlan(edit: (plan: RepairPlan) => RepairPlan): void {
    const scan = this.#project?.scan;
    if (!scan) return;
    this.#update({ repairPlan: { scan: scan.file, plan: edit(this.plan) } });
  }

  setPocketAction(id: number, action: RepairAction): void {
    this.#savePlan((plan) => ({ pockets: plan.pockets.map((e) => (e.id === id ? { ...e, action } : e)) }));
  }

  /** Includes a member in its group's repair, or leaves it out (it keeps its label and stays in the data). */
  setMemberIncluded(id: number, index: number, included: boolean): void {
    this.#savePlan((plan) => ({
      pockets: plan.pockets.map((e) => e.id !== id ? e : {
        ...e, exclude: included ? e.exclude.filter((i) => i !== index) : [...new Set([...e.exclude, index])].sort((a, b) => a - b),
      }),
    }));
  }

  #imagesAsked = new Set<number>();

  /** Reads the thumbnails of the reported groups' members and of the crafted samples not read yet. */
  async loadMemberImages(): Promise<void> {
    const project = this.#project;
    if (!project?.dataset || this.#task) return;
    const members = [...reportedGroups(this.scan).flatMap((p) => p.members), ...(this.scan?.crafted ?? []).flatMap((g) => g.members)];
    const wanted = [...new Set(members)].filter((i) => !this.#memberImages.has(i) && !this.#imagesAsked.has(i));
    if (!wanted.length) return;
    // Asked once: a failure says so in the error line rather than asking again on every redraw.
    for (const i of wanted) this.#imagesAsked.add(i);
    const images = await this.#run('Reading the members', 'sampleImages', { ...this.#dataArgs(), split: 'train', indices: wanted.slice(0, 2000) });
    if (images) this.#memberImages = new Map([...this.#memberImages, ...images.samples.map((m) => [m.index, m] as const)]);
  }

  #neighboursAsked = new Set<number>();

  /** Finds, for the reported groups' members, their nearest clean neighbours (one group per call; the engine keeps the features). */
  async loadNeighbours(): Promise<void> {
    const project = this.#project;
    if (!project?.dataset || !project.model || !project.scan || this.#task) return;
    const pocket = reportedGroups(this.scan).find((p) => !this.#neighboursAsked.has(p.id));
    if (!pocket) return;
    this.#neighboursAsked.add(pocket.id);
    const view = await this.#run('Finding the nearest clean samples', 'pocketView', {
      ...this.#dataArgs(), model: project.model.dir, scan: project.scan.file, pocketId: pocket.id, nearby: 0, pairs: Math.min(REVIEW_NEIGHBOURS, pocket.members.length),
    });
    if (!view) return;
    this.#neighbours = new Map([...this.#neighbours, ...view.pairs.flatMap((p) => (p.neighbour ? [[p.member.index, p.neighbour] as const] : []))]);
  }

  /** Copies the repaired model and writes the report into `dest`; never overwrites anything there. */
  /**
   * The format the repaired model is exported in by default: the one the model came in (a
   * .h5, .keras or .onnx file), else the folder.
   */
  get exportFormatDefault(): ModelExportFormat {
    const from = (this.#project?.repair?.result.model.from ?? this.#project?.model?.dir ?? '').toLowerCase();
    return from.endsWith('.h5') ? 'h5' : from.endsWith('.keras') ? 'keras' : from.endsWith('.onnx') ? 'onnx' : 'folder';
  }

  /**
   * The formats the repaired model can be exported in, as far as the wizard knows the model: an
   * ONNX model's head-only repair exists only as ONNX, a Keras or TensorFlow.js model's never
   * does. A folder whose kind the name does not tell offers all (the engine refuses a wrong one).
   */
  get exportFormats(): ModelExportFormat[] {
    const from = this.exportFormatDefault;
    if (from === 'onnx') return ['folder', 'onnx'];
    if (from === 'h5' || from === 'keras' || this.#project?.model?.origin === 'trained') return ['folder', 'h5', 'keras'];
    return ['folder', 'h5', 'keras', 'onnx'];
  }

  /**
   * Exports the repaired model (as a folder, or as one `format` file) and the report into
   * `dest`, under names nothing there has.
   */
  async exportTo(dest: string, format: ModelExportFormat = 'folder'): Promise<void> {
    const project = this.#project;
    if (!project?.scan) return;
    const files: string[] = [];
    const listing = await this.#guard('Reading the export folder', () => api.call('path.inspect', { path: dest }));
    if (!listing) return;
    if (listing.exists && listing.kind !== 'folder') { this.error = `The export destination ${listing.path} is a file; choose a folder.`; return; }
    dest = listing.path;
    if (project.repair) {
      const taken = new Set((listing.entries ?? []).map((e) => e.name));
      const ext = format === 'folder' ? '' : `.${format}`;
      let name = `repaired-model${ext}`;
      for (let k = 2; taken.has(name); k++) name = `repaired-model-${k}${ext}`;
      const to = joinPath(listing.path, name);
      if (format === 'folder') {
        const model = await this.#guard('Exporting the model', () => api.call('export.model', { from: project.repair!.model.dir, to }));
        if (!model) return;
        files.push(model.dir);
      } else {
        const model = await this.#run('Writing the model file', 'exportModelFile', { model: project.repair.model.dir, out: to });
        if (!model) return;
        files.push(model.file);
      }
    }
    const report = await this.#run('Writing the report', 'exportReport', {
      scan: project.scan.file, ...(project.repair ? { repair: project.repair.result } : {}), out: dest, title: `CLEAR report: ${project.name}`,
      // The data for the members' thumbnails and pictures; the model is the one the scan names.
      ...(project.dataset ? this.#dataArgs() : {}), ...(this.#dir ? { project: this.#dir } : {}),
    });
    if (!report) return;
    files.push(report.html, ...(report.pdf ? [report.pdf] : []), report.json);
    this.#update({ exports: [...project.exports, { at: new Date().toISOString(), dir: report.dir, files }] });
    this.notice = `Exported ${files.length} item${files.length === 1 ? '' : 's'} to ${report.dir}.`;
  }
}

/** How the Export step writes the repaired model: its folder, or one Keras or ONNX file. */
export type ModelExportFormat = 'folder' | 'h5' | 'keras' | 'onnx';

export const wizard = new Wizard();
