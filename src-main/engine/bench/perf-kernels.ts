/**
 * Throughput of the compute backend on the built-in CNN, and a timing comparison of the
 * two Conv2DBackpropFilter strategies in backend/wasm-kernels.ts.
 *
 * The network is the built-in `cnn` (model/architectures.ts) written out
 * here so that bench/peers/torch_cnn.py can mirror it layer for layer:
 * Conv2D(32,3×3,relu,same) → MaxPool(2) → Conv2D(64,3×3,relu,same) → MaxPool(2) → Flatten →
 * Dense(128,relu) → Dropout(0.2) → Dense(10,softmax); Adam(1e-3); categorical cross-entropy.
 * (The Dropout costs next to nothing, so it does not matter whether a given version of
 * architectures.ts has it.)
 * Timed is one optimiser step per batch (trainOnBatch), as in the PyTorch loop; data is
 * random and MNIST-shaped, generated once before timing.
 *
 * The backend must already be initialised (backend/index.ts initBackend); callers report
 * its name and thread count with the numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setFilterGradStrategy } from '../backend/wasm-kernels.js';

export interface CnnThroughput {
  backend: string;
  samplesPerSecond: number;
  /**
   * Samples per second of process CPU time, all threads together. On a shared machine
   * this moves much less than wall-clock throughput; with one thread it approximates the
   * throughput the machine would give the job alone.
   */
  samplesPerCpuSecond: number;
  batchSize: number;
  batches: number;
  inputShape: [number, number, number];
  /** Mean loss of the first and last timed batch (a sanity check that it trains). */
  firstLoss: number;
  lastLoss: number;
}

export function buildBenchCnn(inputShape: [number, number, number], numClasses = 10): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 128, activation: 'relu', name: 'features' }));
  m.add(tfl.layers.dropout({ rate: 0.2 }));
  m.add(tfl.layers.dense({ units: numClasses, activation: 'softmax' }));
  // Passed as an object, the optimizer is not disposed with the model: callers dispose
  // `model.optimizer` themselves (measureCnnTraining does).
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return m;
}

/** Trains the CNN for `warmup` untimed then `batches` timed steps on the current backend. */
export async function measureCnnTraining(options: {
  batchSize?: number;
  batches?: number;
  warmup?: number;
  inputShape?: [number, number, number];
} = {}): Promise<CnnThroughput> {
  const batchSize = options.batchSize ?? 64;
  const batches = options.batches ?? 20;
  const warmup = options.warmup ?? 3;
  const inputShape = options.inputShape ?? [28, 28, 1];
  const model = buildBenchCnn(inputShape);
  const xs: tf.Tensor[] = [];
  const ys: tf.Tensor[] = [];
  for (let i = 0; i < Math.min(batches + warmup, 8); i++) {
    xs.push(tf.randomUniform([batchSize, ...inputShape], 0, 1, 'float32', i));
    ys.push(tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 1000 + i) as tf.Tensor1D, 10)));
  }
  const step = async (i: number): Promise<number> => {
    const r = await model.trainOnBatch(xs[i % xs.length], ys[i % ys.length]);
    return Array.isArray(r) ? r[0] : r;
  };
  try {
    for (let i = 0; i < warmup; i++) await step(i);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let firstLoss = NaN;
    let lastLoss = NaN;
    for (let i = 0; i < batches; i++) {
      lastLoss = await step(i);
      if (i === 0) firstLoss = lastLoss;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      backend: tf.getBackend(),
      samplesPerSecond: (batches * batchSize) / seconds,
      samplesPerCpuSecond: (batches * batchSize) / cpuSeconds,
      batchSize, batches, inputShape, firstLoss, lastLoss,
    };
  } finally {
    model.optimizer.dispose();
    model.dispose();
    tf.dispose([...xs, ...ys]);
  }
}

export interface FilterGradTiming {
  xShape: number[];
  filterShape: number[];
  stride: number;
  /** Fastest call per strategy, in ms (best-of, as the machine may be shared). */
  ms: Record<'conv' | 'im2col', number>;
}

/**
 * Times Conv2DBackpropFilter for the built-in CNN's layers (batch 64) with each strategy,
 * alternating strategies call by call so that background load hits both alike. Requires
 * the wasm backend to be current.
 */
export async function compareFilterGradStrategies(reps = 10): Promise<FilterGradTiming[]> {
  if (tf.getBackend() !== 'wasm') throw new Error('compareFilterGradStrategies needs the wasm backend');
  const layers: [[number, number, number, number], [number, number, number, number], number][] = [
    [[64, 28, 28, 1], [3, 3, 1, 32], 1],
    [[64, 14, 14, 32], [3, 3, 32, 64], 1],
    [[64, 32, 32, 3], [3, 3, 3, 32], 1],
    [[64, 16, 16, 32], [3, 3, 32, 64], 1],
    [[64, 28, 28, 32], [3, 3, 32, 64], 2],
  ];
  const strategies: ('conv' | 'im2col')[] = ['conv', 'im2col'];
  const out: FilterGradTiming[] = [];
  try {
    for (const [xShape, filterShape, stride] of layers) {
      const x = tf.randomNormal(xShape) as tf.Tensor4D;
      const [n, h, w] = xShape;
      const dy0 = tf.randomNormal([n, Math.ceil(h / stride), Math.ceil(w / stride), filterShape[3]]);
      const ms = { conv: Infinity, im2col: Infinity };
      for (let i = 0; i <= reps; i++) {
        for (const s of strategies) {
          setFilterGradStrategy(s);
          // A new dy each call, as in training: XNNPACK caches packed weights per tensor.
          const dy = tf.add(dy0, 0);
          dy.dataSync();
          const t0 = performance.now();
          // The op is not public in tfjs-core; run the kernel the conv2d gradient runs.
          const g = tf.engine().runKernel(Conv2DBackpropFilter, { x, dy }, {
            strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', filterShape,
          }) as tf.Tensor;
          g.dataSync();
          if (i > 0) ms[s] = Math.min(ms[s], performance.now() - t0); // i = 0 warms up
          tf.dispose([g, dy]);
        }
      }
      out.push({ xShape, filterShape, stride, ms });
      tf.dispose([x, dy0]);
    }
  } finally {
    setFilterGradStrategy('auto');
  }
  return out;
}
