/**
 * The product's catalogue: every named choice a user, a job or a test can make, listed once.
 * The job schemas, the CLI's options and help, the wizard's menus and the engine read these
 * lists, so adding an attack or an architecture is one edit here plus its implementation.
 * Imports nothing: every process can load it.
 */

/** Attacks the red-team tools craft: one dirty-label, three clean-label (ALGORITHM.md). */
export const ATTACK_NAMES = ['label-flip', 'fc', 'cp', 'bp'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

/**
 * Poisons each attack crafts when the user gives no count: 20 label-flip copies, and 25 for the
 * clean-label attacks, the count their papers' transfer-learning success rates are reported for.
 */
export const ATTACK_DEFAULT_POISONS: Readonly<Record<AttackName, number>> = { 'label-flip': 20, fc: 25, cp: 25, bp: 25 };

/** Named attack variants the benchmark runs beside the published settings (engine/attacks/presets.ts says what each changes). */
export const ATTACK_VARIANTS = ['strong', 'nearest', 'augmented', 'two-targets'] as const;
export type AttackVariant = (typeof ATTACK_VARIANTS)[number];

/** Built-in architectures (engine/model/architectures.ts builds them). */
export const ARCHITECTURES = ['mlp', 'cnn'] as const;
export type ArchitectureName = (typeof ARCHITECTURES)[number];

/** How a victim is trained: end to end, or a head on a frozen feature extractor. */
export const SCENARIOS = ['e2e', 'transfer'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Compute backends the engine can run on. */
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoiceName = (typeof BACKENDS)[number];

/** Formats `clearwb report` writes (engine/jobs/report.ts): the flagged samples as CSV, or the whole report as HTML, PDF or JSON. */
export const SCAN_REPORT_FORMATS = ['csv', 'html', 'pdf', 'json'] as const;
export type ScanReportFormat = (typeof SCAN_REPORT_FORMATS)[number];

/** The data-spec grammar: each form, and what it loads (engine/data/load.ts parses it). */
export const DATA_SPEC_FORMS: readonly { form: string; means: string }[] = [
  { form: 'mnist', means: 'the built-in MNIST digits' },
  { form: 'mnist:rotated', means: 'the built-in digits rotated' },
  { form: 'mnist:inverted', means: 'the built-in digits inverted' },
  { form: 'mnist:downsampled', means: 'the built-in digits downsampled' },
  { form: 'idx:TRAIN_IMAGES,TRAIN_LABELS[,TEST_IMAGES,TEST_LABELS]', means: 'IDX files, plain or gzipped' },
  { form: 'folder:DIR', means: 'one sub-folder of PNG or JPEG images per class' },
  { form: 'csv:FILE', means: 'one sample per row: a label column and pixel or feature columns' },
  { form: 'npz:FILE', means: 'a NumPy .npz archive of x_train, y_train (and x_test, y_test), as Keras datasets name them' },
  { form: 'npy:X_FILE,Y_FILE[,X_TEST,Y_TEST]', means: 'NumPy .npy files of images (uint8 or float, NHWC or NCHW) and labels' },
  { form: 'cifar:DIR', means: 'the CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin, batches.meta.txt)' },
  { form: 'dir:DIR', means: 'a folder written by the product (clearwb attack, exports)' },
];

/** "mnist, mnist:rotated, … or dir:DIR": the forms for an error message. */
export const DATA_SPEC_LIST = `${DATA_SPEC_FORMS.slice(0, -1).map((f) => f.form).join(', ')} or ${DATA_SPEC_FORMS.at(-1)!.form}`;
/** "mnist | mnist:rotated | … | dir:DIR": the forms for an option's help. */
export const DATA_SPEC_CHOICES = DATA_SPEC_FORMS.map((f) => f.form).join(' | ');

/** The scan's stages, in order: the progress events' `stage` and what the wizard calls each. */
export const SCAN_STAGES = [
  { id: 'embed', label: 'Embed the training data in feature space' },
  { id: 'neighbours', label: 'Find every sample\'s nearest neighbours' },
  { id: 'hulls', label: 'Search tight hulls around seed groups' },
  { id: 'pocket-test', label: 'Test each pocket against the model' },
] as const;
export type ScanStage = (typeof SCAN_STAGES)[number]['id'];
