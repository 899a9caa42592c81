/**
 * The wasm kernels registered by src-main/engine/backend/wasm-kernels.ts, checked
 * numerically against the pure-JS cpu backend, plus a short CNN training run on wasm.
 */
import * as tfl from '@tensorflow/tfjs-layers'; // also registers the gradients tf.grad needs
import {
  backend_util, Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput,
} from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import {
  setDepthwiseInputGradStrategy, setFilterGradStrategy, type DepthwiseInputGradStrategy, type FilterGradStrategy,
} from '../../src-main/engine/backend/wasm-kernels.js';
import { unfuseDilatedConv2Ds } from '../../src-main/engine/backend/gradients.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number;

let threads = 0;

beforeAll(async () => {
  const info = await initBackend('wasm', { threads: 2 });
  expect(info.name).toBe('wasm');
  threads = info.threads;
  expect(await tf.setBackend('cpu')).toBe(true);
  await tf.setBackend('wasm');
});

/** Seeded values, identical on both backends. */
function values(shape: number[], seed: number): Float32Array {
  let s = seed * 2654435761 % 4294967296 || 1;
  const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    out[i] = s / 4294967296 * 2 - 1;
  }
  return out;
}

/**
 * Runs `f` on the named backend and returns its outputs' values. Asserts that it leaves
 * no tensor behind in the engine and no data buffer behind in the backend (which catches
 * intermediates a kernel forgot to release).
 */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const tensors = tf.memory().numTensors;
  const buffers = tf.backend().numDataIds();
  const outs = tf.tidy(f);
  const vals = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(buffers);
  return vals;
}

async function onBoth(f: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  return { cpu: await on('cpu', f), wasm: await on('wasm', f) };
}

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst / scale).toBeLessThan(tol);
}

describe('wasm backend setup', () => {
  it('runs XNNPACK on the 2 threads asked for, in Node (wasm-setup.ts enables the threaded build)', () => {
    expect(threads).toBe(2);
  });

  it("removes the Emscripten glue's process listeners that rethrow (they would bypass the engine's handlers)", () => {
    const listeners = [...process.listeners('uncaughtException'), ...process.listeners('unhandledRejection')];
    expect(listeners.filter((l) => /throw (reason|ex)\b/.test(String(l)))).toEqual([]);
  });

  it('registers Conv2DBackpropFilter, which tfjs-backend-wasm lacks (tensorflow/tfjs#8474)', () => {
    expect(tf.getKernel(Conv2DBackpropFilter, 'wasm')).toBeDefined();
  });

  it('registers the depthwise convolution gradients, which tfjs-backend-wasm lacks', () => {
    expect(tf.getKernel(DepthwiseConv2dNativeBackpropInput, 'wasm')).toBeDefined();
    expect(tf.getKernel(DepthwiseConv2dNativeBackpropFilter, 'wasm')).toBeDefined();
  });
});

const convCases: { x: Shape4; f: Shape4; stride: number; pad: Pad }[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 2, pad: 'valid' },
  { x: [3, 9, 6, 2], f: [2, 3, 2, 5], stride: 2, pad: 'same' },
  { x: [1, 10, 7, 2], f: [5, 4, 2, 3], stride: 2, pad: 'valid' },
  { x: [2, 6, 6, 5], f: [3, 3, 5, 2], stride: 1, pad: 1 },
  { x: [4, 28, 28, 1], f: [3, 3, 1, 8], stride: 1, pad: 'same' },
  { x: [2, 14, 14, 16], f: [3, 3, 16, 8], stride: 1, pad: 'same' },
  { x: [2, 16, 16, 3], f: [3, 3, 3, 8], stride: 2, pad: 'same' },
];

describe.each(['auto', 'im2col', 'conv'] as FilterGradStrategy[])('conv2d gradients on wasm (%s filter gradient)', (strategy) => {
  it.each(convCases)('match cpu for x $x, filter $f, stride $stride, pad $pad', async ({ x, f, stride, pad }) => {
    setFilterGradStrategy(strategy);
    try {
      const xv = values(x, 1);
      const fv = values(f, 2);
      const { cpu, wasm } = await onBoth(() => {
        const xt = tf.tensor4d(xv, x);
        const ft = tf.tensor4d(fv, f);
        // A non-uniform upstream gradient, so that every output position matters.
        const loss = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        };
        return tf.grads(loss)([xt, ft]);
      });
      expectClose(wasm[0], cpu[0]); // dx: Conv2DBackpropInput
      expectClose(wasm[1], cpu[1]); // dW: Conv2DBackpropFilter
    } finally {
      setFilterGradStrategy('auto');
    }
  });
});

describe('Conv2DBackpropFilter called as a kernel', () => {
  it('matches cpu with explicit padding and unequal strides', async () => {
    const x: Shape4 = [2, 9, 8, 3];
    const filterShape: Shape4 = [3, 2, 3, 4];
    const pad = [[0, 0], [1, 2], [0, 1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const xv = values(x, 3);
    const dyShape: Shape4 = [2, 5, 4, 4]; // (9+3-3)/2+1 = 5, (8+1-2)/2+1 = 4
    const dyv = values(dyShape, 4);
    const { cpu, wasm } = await onBoth(() => [
      tf.engine().runKernel(Conv2DBackpropFilter, { x: tf.tensor4d(xv, x), dy: tf.tensor4d(dyv, dyShape) }, {
        strides: [2, 2], pad, dataFormat: 'NHWC', filterShape,
      }) as tf.Tensor,
    ]);
    expectClose(wasm[0], cpu[0]);
  });
});

type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];
type DepthwisePad = 'same' | 'valid' | number | ExplicitPad;
type Pair = [number, number];

/** Depthwise filters are [KH, KW, C, M]: `f` gives KH, KW and M, the channel multiplier. */
const depthwiseCases: { x: Shape4; f: [number, number, number]; strides: Pair; pad: DepthwisePad }[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 1], strides: [1, 1], pad: 'same' },
  { x: [2, 7, 7, 3], f: [3, 3, 1], strides: [2, 2], pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 1], strides: [1, 1], pad: 'valid' },
  { x: [2, 8, 8, 3], f: [3, 3, 2], strides: [2, 2], pad: 'valid' },
  { x: [2, 7, 7, 3], f: [3, 3, 2], strides: [1, 1], pad: 'same' },
  { x: [3, 9, 6, 2], f: [2, 3, 3], strides: [2, 2], pad: 'same' },
  { x: [1, 10, 7, 4], f: [5, 4, 2], strides: [2, 2], pad: 'valid' },
  { x: [2, 9, 8, 2], f: [3, 2, 1], strides: [2, 1], pad: 'same' },
  { x: [2, 6, 6, 5], f: [3, 3, 3], strides: [1, 1], pad: 1 },
  { x: [2, 9, 8, 3], f: [3, 2, 2], strides: [2, 2], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  // Padding wider than the filter: the input gradient's 'conv' form cannot express it.
  { x: [2, 6, 7, 2], f: [3, 3, 2], strides: [1, 1], pad: [[0, 0], [3, 1], [0, 4], [0, 0]] },
  { x: [2, 6, 6, 4], f: [1, 1, 2], strides: [1, 1], pad: 'valid' },
  { x: [4, 28, 28, 1], f: [3, 3, 8], strides: [1, 1], pad: 'same' },
  { x: [2, 14, 14, 16], f: [3, 3, 1], strides: [2, 2], pad: 'same' },
];

function depthwiseShapes(x: Shape4, f: [number, number, number], strides: Pair, pad: DepthwisePad, dilations: Pair = [1, 1]) {
  const filter: Shape4 = [f[0], f[1], x[3], f[2]];
  const info = backend_util.computeConv2DInfo(x, filter, strides, dilations, pad, undefined, true);
  return { filter, dy: info.outShape as Shape4 };
}

describe.each(['auto', 'loop'] as DepthwiseInputGradStrategy[])('depthwise convolution gradient kernels on wasm (%s input gradient)', (strategy) => {
  beforeAll(() => setDepthwiseInputGradStrategy(strategy));
  afterAll(() => setDepthwiseInputGradStrategy('auto'));

  it.each(depthwiseCases)('match cpu for x $x, filter $f (KH, KW, multiplier), strides $strides, pad $pad', async ({ x, f, strides, pad }) => {
    const { filter, dy } = depthwiseShapes(x, f, strides, pad);
    const xv = values(x, 11);
    const fv = values(filter, 12);
    const dyv = values(dy, 13);
    const attrs = { strides, pad, dilations: [1, 1] };
    const { cpu, wasm } = await onBoth(() => [
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor4d(dyv, dy), filter: tf.tensor4d(fv, filter) }, { ...attrs, inputShape: x }) as tf.Tensor,
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor4d(xv, x), dy: tf.tensor4d(dyv, dy) }, { ...attrs, filterShape: filter }) as tf.Tensor,
    ]);
    expect(wasm[0].length).toBe(x.reduce((p, d) => p * d, 1));
    expect(wasm[1].length).toBe(filter.reduce((p, d) => p * d, 1));
    expectClose(wasm[0], cpu[0]);
    expectClose(wasm[1], cpu[1]);
  });

  // tfjs-core's gradient of depthwiseConv2d refuses dilations above 1, and the cpu kernels
  // ignore them (their loops step the filter by 1), so a dilated filter is checked here as
  // the undilated filter of size (K−1)·d+1 with zeros between its taps, on cpu.
  it.each([
    { x: [2, 9, 9, 3] as Shape4, f: [3, 3, 1] as [number, number, number], d: [2, 2] as Pair, pad: 'same' as const },
    { x: [1, 10, 8, 2] as Shape4, f: [3, 2, 2] as [number, number, number], d: [2, 3] as Pair, pad: 'valid' as const },
  ])('honour dilations $d (x $x, filter $f, pad $pad) as a zero-spread filter on cpu', async ({ x, f, d, pad }) => {
    const { filter, dy } = depthwiseShapes(x, f, [1, 1], pad, d);
    const spread: Shape4 = [(f[0] - 1) * d[0] + 1, (f[1] - 1) * d[1] + 1, x[3], f[2]];
    expect(depthwiseShapes(x, [spread[0], spread[1], f[2]], [1, 1], pad).dy).toEqual(dy);
    const xv = values(x, 14);
    const fv = values(filter, 15);
    const dyv = values(dy, 16);
    const tap = x[3] * f[2];
    const fSpread = new Float32Array(spread.reduce((p, v) => p * v, 1));
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) fSpread.set(fv.subarray((i * f[1] + j) * tap, (i * f[1] + j + 1) * tap), (i * d[0] * spread[1] + j * d[1]) * tap);
    }
    const [dxWasm, dwWasm] = await on('wasm', () => [
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor4d(dyv, dy), filter: tf.tensor4d(fv, filter) }, { strides: 1, pad, dilations: d, inputShape: x }) as tf.Tensor,
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor4d(xv, x), dy: tf.tensor4d(dyv, dy) }, { strides: 1, pad, dilations: d, filterShape: filter }) as tf.Tensor,
    ]);
    const [dxCpu, dwSpread] = await on('cpu', () => [
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropInput, { dy: tf.tensor4d(dyv, dy), filter: tf.tensor4d(fSpread, spread) }, { strides: 1, pad, dilations: 1, inputShape: x }) as tf.Tensor,
      tf.engine().runKernel(DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor4d(xv, x), dy: tf.tensor4d(dyv, dy) }, { strides: 1, pad, dilations: 1, filterShape: spread }) as tf.Tensor,
    ]);
    const dwCpu = new Float32Array(dwWasm.length);
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) dwCpu.set(dwSpread.subarray((i * d[0] * spread[1] + j * d[1]) * tap, (i * d[0] * spread[1] + j * d[1] + 1) * tap), (i * f[1] + j) * tap);
    }
    expectClose(dxWasm, dxCpu);
    expectClose(dwWasm, dwCpu);
  });
});

describe('gradients of depthwiseConv2d and separableConv2d through tf.grads, wasm against cpu', () => {
  it.each(depthwiseCases.filter((c) => !Array.isArray(c.pad)))('match for x $x, filter $f (KH, KW, multiplier), strides $strides, pad $pad', async ({ x, f, strides, pad }) => {
    const { filter } = depthwiseShapes(x, f, strides, pad);
    const xv = values(x, 17);
    const fv = values(filter, 18);
    const { cpu, wasm } = await onBoth(() => {
      const loss = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const y = tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad as 'same' | 'valid' | number);
        return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
      };
      return tf.grads(loss)([tf.tensor4d(xv, x), tf.tensor4d(fv, filter)]);
    });
    expectClose(wasm[0], cpu[0]); // dx: DepthwiseConv2dNativeBackpropInput
    expectClose(wasm[1], cpu[1]); // dW: DepthwiseConv2dNativeBackpropFilter
  });

  it('match for a separable convolution (depthwise, multiplier 2, then pointwise)', async () => {
    const x: Shape4 = [2, 10, 10, 3];
    const depthwise: Shape4 = [3, 3, 3, 2];
    const pointwise: Shape4 = [1, 1, 6, 5];
    const [xv, dv, pv] = [values(x, 19), values(depthwise, 20), values(pointwise, 21)];
    const { cpu, wasm } = await onBoth(() => {
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor => {
        const y = tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 2, 'same');
        return tf.sum(tf.mul(y, tf.cos(tf.reshape(tf.range(0, y.size), y.shape))));
      };
      return tf.grads(loss)([tf.tensor4d(xv, x), tf.tensor4d(dv, depthwise), tf.tensor4d(pv, pointwise)]);
    });
    for (let k = 0; k < 3; k++) expectClose(wasm[k], cpu[k]);
  });

  // tfjs-core's own gradient refuses dilations above 1; the engine's (gradients.ts) asks the
  // wasm kernels for it. Checked against cpu with the undilated zero-spread filter.
  it.each([
    { x: [2, 11, 11, 3] as Shape4, f: [3, 3, 1] as [number, number, number], d: [2, 2] as Pair, pad: 'same' as const, separable: false },
    { x: [1, 12, 10, 2] as Shape4, f: [3, 2, 2] as [number, number, number], d: [2, 3] as Pair, pad: 'valid' as const, separable: false },
    { x: [2, 10, 10, 3] as Shape4, f: [3, 3, 2] as [number, number, number], d: [2, 2] as Pair, pad: 'same' as const, separable: true },
  ])('match through a dilated convolution, dilations $d (x $x, filter $f, pad $pad, separable $separable)', async ({ x, f, d, pad, separable }) => {
    const { filter } = depthwiseShapes(x, f, [1, 1], pad, d);
    const spread: Shape4 = [(f[0] - 1) * d[0] + 1, (f[1] - 1) * d[1] + 1, x[3], f[2]];
    const pointwise: Shape4 = [1, 1, x[3] * f[2], 4];
    const [xv, fv, pv] = [values(x, 22), values(filter, 23), values(pointwise, 24)];
    const tap = x[3] * f[2];
    const fSpread = new Float32Array(spread.reduce((p, v) => p * v, 1));
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) fSpread.set(fv.subarray((i * f[1] + j) * tap, (i * f[1] + j + 1) * tap), (i * d[0] * spread[1] + j * d[1]) * tap);
    }
    const grads = (fValues: Float32Array, fShape: Shape4, dilation: Pair) => () => {
      const loss = (a: tf.Tensor, b: tf.Tensor, c?: tf.Tensor): tf.Tensor => {
        const y = c
          ? tf.separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, 1, pad, dilation)
          : tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad, 'NHWC', dilation);
        return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
      };
      const inputs = [tf.tensor4d(xv, x), tf.tensor4d(fValues, fShape)];
      return tf.grads(loss)(separable ? [...inputs, tf.tensor4d(pv, pointwise)] : inputs);
    };
    const wasm = await on('wasm', grads(fv, filter, d));
    const cpu = await on('cpu', grads(fSpread, spread, [1, 1]));
    expectClose(wasm[0], cpu[0]); // dx
    const dwCpu = new Float32Array(wasm[1].length);
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) dwCpu.set(cpu[1].subarray((i * d[0] * spread[1] + j * d[1]) * tap, (i * d[0] * spread[1] + j * d[1] + 1) * tap), (i * f[1] + j) * tap);
    }
    expectClose(wasm[1], dwCpu); // dW at the dilated taps
    if (separable) expectClose(wasm[2], cpu[2]);
  });

  it('refuse a dilated depthwise convolution on cpu, whose kernels ignore dilations, with a sentence that says so', async () => {
    await tf.setBackend('cpu');
    try {
      const x = tf.tensor4d(values([1, 7, 7, 2], 25), [1, 7, 7, 2]);
      const w = tf.tensor4d(values([3, 3, 2, 1], 26), [3, 3, 2, 1]);
      expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, w, 1, 'same', 'NHWC', 2)))(x))
        .toThrow('Training through a depthwise convolution with dilation 2×2 needs the wasm backend; the cpu backend');
      tf.dispose([x, w]);
    } finally {
      await tf.setBackend('wasm');
    }
  });
});

// tfjs-core's gradient of conv2d refuses dilations above 1; the engine's (gradients.ts) builds
// both gradients from forward convolutions, on any backend. Checked against cpu's gradient of
// the undilated zero-spread filter.
describe('gradients of a dilated conv2d through tf.grads', () => {
  it.each([
    { x: [2, 11, 11, 3] as Shape4, f: [3, 3, 4] as [number, number, number], d: [2, 2] as Pair, pad: 'same' as Pad },
    { x: [1, 12, 10, 2] as Shape4, f: [3, 2, 3] as [number, number, number], d: [2, 3] as Pair, pad: 'valid' as Pad },
    { x: [2, 9, 9, 2] as Shape4, f: [2, 3, 2] as [number, number, number], d: [3, 2] as Pair, pad: 'same' as Pad },
    { x: [1, 10, 10, 2] as Shape4, f: [3, 3, 2] as [number, number, number], d: [2, 2] as Pair, pad: 1 as Pad },
    // Padding wider than the dilated filter: dy is cropped, not padded, before the convolution.
    // (A numeric padding only with a square filter: tfjs sizes its output by the filter's height
    // in both directions, and the stock wasm convolution then writes past its output.)
    { x: [1, 8, 7, 2] as Shape4, f: [3, 3, 2] as [number, number, number], d: [2, 2] as Pair, pad: 5 as Pad },
  ])('match the zero-spread filter on wasm and cpu for x $x, filter $f, dilations $d, pad $pad', async ({ x, f, d, pad }) => {
    const filter: Shape4 = [f[0], f[1], x[3], f[2]];
    const spread: Shape4 = [(f[0] - 1) * d[0] + 1, (f[1] - 1) * d[1] + 1, x[3], f[2]];
    const [xv, fv] = [values(x, 27), values(filter, 28)];
    const tap = x[3] * f[2];
    const fSpread = new Float32Array(spread.reduce((p, v) => p * v, 1));
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) fSpread.set(fv.subarray((i * f[1] + j) * tap, (i * f[1] + j + 1) * tap), (i * d[0] * spread[1] + j * d[1]) * tap);
    }
    const grads = (fValues: Float32Array, fShape: Shape4, dilation: Pair) => () => {
      const loss = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad as 'same', 'NHWC', dilation);
        return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
      };
      return tf.grads(loss)([tf.tensor4d(xv, x), tf.tensor4d(fValues, fShape)]);
    };
    const reference = await on('cpu', grads(fSpread, spread, [1, 1]));
    const dwReference = new Float32Array(fv.length);
    for (let i = 0; i < f[0]; i++) {
      for (let j = 0; j < f[1]; j++) dwReference.set(reference[1].subarray((i * d[0] * spread[1] + j * d[1]) * tap, (i * d[0] * spread[1] + j * d[1] + 1) * tap), (i * f[1] + j) * tap);
    }
    for (const backend of ['wasm', 'cpu'] as const) {
      const dilated = await on(backend, grads(fv, filter, d));
      expectClose(dilated[0], reference[0]); // dx
      expectClose(dilated[1], dwReference); // dW at the dilated taps
    }
    await tf.setBackend('wasm');
  });

  it('train a dilated Conv2D layer with a relu (tfjs-layers runs it unfused) on wasm', async () => {
    await tf.setBackend('wasm');
    const model = tfl.sequential();
    model.add(tfl.layers.conv2d({ inputShape: [10, 10, 1], filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }));
    model.add(tfl.layers.flatten());
    model.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }));
    const optimizer = tf.train.adam(0.02);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const n = 16;
    const img = new Float32Array(n * 100);
    const noise = values([n * 100], 29);
    const labels = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      labels[i * 2 + (i % 2)] = 1;
      for (let p = 0; p < 100; p++) img[i * 100 + p] = ((p % 10 < 5) === (i % 2 === 1) ? 0.8 : 0.1) + 0.1 * noise[i * 100 + p];
    }
    const xs = tf.tensor4d(img, [n, 10, 10, 1]);
    const ys = tf.tensor2d(labels, [n, 2]);
    const before = model.getWeights()[0].dataSync().slice();
    const losses: number[] = [];
    for (let step = 0; step < 10; step++) losses.push(await model.trainOnBatch(xs, ys) as number);
    const after = model.getWeights()[0].dataSync();
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(after.some((v, i) => Math.abs(v - before[i]) > 1e-4)).toBe(true);
    model.dispose(); optimizer.dispose(); tf.dispose([xs, ys]);
  });

  // tfjs-layers runs a Conv2D whose activation it does not fuse as relu or elu through
  // tfjs-core's fused convolution even in training, and that gradient refuses dilations;
  // unfuseDilatedConv2Ds runs it as convolution, bias, activation. One SGD step must move the
  // dilated layer's taps, its bias and the dense layer exactly as the undilated zero-spread
  // filter's model moves them.
  it.each(['linear', 'tanh'] as const)('train a dilated Conv2D layer with a %s activation once unfused, as the zero-spread filter trains', async (activation) => {
    await tf.setBackend('wasm');
    const [n, size, ci, co, k, d] = [6, 9, 2, 3, 3, 2];
    const span = (k - 1) * d + 1;
    const build = (kernel: number, dilation: number): tfl.LayersModel => {
      const m = tfl.sequential();
      m.add(tfl.layers.conv2d({ inputShape: [size, size, ci], filters: co, kernelSize: kernel, dilationRate: dilation, padding: 'same', activation, name: 'conv' }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 4, name: 'dense' }));
      return m;
    };
    const kv = values([k, k, ci, co], 31);
    const spread = new Float32Array(span * span * ci * co);
    const tap = ci * co;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) spread.set(kv.subarray((i * k + j) * tap, (i * k + j + 1) * tap), (i * d * span + j * d) * tap);
    const bias = values([co], 32);
    const dense = values([size * size * co, 4], 33).map((v) => v * 0.1);
    const denseBias = values([4], 34);
    const dilated = build(k, d);
    const reference = build(span, 1);
    dilated.setWeights([tf.tensor4d(kv, [k, k, ci, co]), tf.tensor1d(bias), tf.tensor2d(dense, [size * size * co, 4]), tf.tensor1d(denseBias)]);
    reference.setWeights([tf.tensor4d(spread, [span, span, ci, co]), tf.tensor1d(bias), tf.tensor2d(dense, [size * size * co, 4]), tf.tensor1d(denseBias)]);
    const xs = tf.tensor4d(values([n, size, size, ci], 35), [n, size, size, ci]);
    const ys = tf.tensor2d(values([n, 4], 36), [n, 4]);
    const optimizers = [tf.train.sgd(0.1), tf.train.sgd(0.1)];
    dilated.compile({ optimizer: optimizers[0], loss: 'meanSquaredError' });
    reference.compile({ optimizer: optimizers[1], loss: 'meanSquaredError' });
    // Without the engine's help the fused convolution's gradient stops training.
    await expect(dilated.trainOnBatch(xs, ys)).rejects.toThrow(/[Dd]ilation/);
    const restore = unfuseDilatedConv2Ds(dilated);
    const lossDilated = await dilated.trainOnBatch(xs, ys) as number;
    restore();
    const lossReference = await reference.trainOnBatch(xs, ys) as number;
    expect(Math.abs(lossDilated - lossReference)).toBeLessThan(1e-4 * Math.max(1, lossReference));
    const [kd, bd, wd, cd] = dilated.getWeights().map((w) => w.dataSync() as Float32Array);
    const [ks, bs, ws, cs] = reference.getWeights().map((w) => w.dataSync() as Float32Array);
    const taps = new Float32Array(kv.length);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) taps.set(ks.subarray((i * d * span + j * d) * tap, (i * d * span + j * d + 1) * tap), (i * k + j) * tap);
    expect(kd.some((v, i) => Math.abs(v - kv[i]) > 1e-4), 'the dilated kernel moved').toBe(true);
    expectClose(kd, taps);
    expectClose(bd, bs);
    expectClose(wd, ws);
    expectClose(cd, cs);
    // Restored: the layer is tfjs-layers' own again (its training refuses the dilation once more).
    expect(Object.prototype.hasOwnProperty.call(dilated.getLayer('conv'), 'call')).toBe(false);
    dilated.dispose(); reference.dispose(); optimizers.forEach((o) => o.dispose()); tf.dispose([xs, ys]);
  });
});

describe('BatchMatMul on wasm', () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [5, 3], b: [5, 4], ta: true, tb: false },
    { a: [3, 5], b: [4, 5], ta: false, tb: true },
    { a: [5, 3], b: [4, 5], ta: true, tb: true },
    { a: [1, 6, 3], b: [1, 6, 7], ta: true, tb: false },
    { a: [64, 300], b: [64, 32], ta: true, tb: false },
    // Shaped like a Dense layer's input gradient: computed as (W·dyᵀ)ᵀ.
    { a: [4, 8], b: [100, 8], ta: false, tb: true },
    { a: [8, 4], b: [100, 8], ta: true, tb: true },
    { a: [1, 4, 8], b: [1, 100, 8], ta: false, tb: true },
    { a: [2, 3, 5], b: [2, 4, 5], ta: false, tb: true }, // batch > 1: stock kernel
    { a: [3, 5], b: [5, 4], ta: false, tb: false },
  ];
  it.each(cases)('matches cpu for $a × $b, transposeA $ta, transposeB $tb', async ({ a, b, ta, tb }) => {
    const av = values(a, 5);
    const bv = values(b, 6);
    const { cpu, wasm } = await onBoth(() => {
      const c = tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb);
      return [c, tf.tensor1d(c.shape)];
    });
    expect(Array.from(wasm[1])).toEqual(Array.from(cpu[1]));
    expectClose(wasm[0], cpu[0], 1e-5);
  });
});

describe('MaxPoolGrad on wasm', () => {
  const cases: { x: Shape4; size: number; stride: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], size: 2, stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], size: 3, stride: 2, pad: 'same' },
    { x: [1, 9, 9, 4], size: 3, stride: 1, pad: 'same' },
    { x: [2, 6, 5, 2], size: 2, stride: 1, pad: 'valid' },
    { x: [2, 5, 5, 2], size: 2, stride: 2, pad: 'same' },
    // Channels in fours: the SIMD kernel (simd-kernels.ts), an odd last row and column included.
    { x: [2, 8, 8, 8], size: 2, stride: 2, pad: 'valid' },
    { x: [3, 7, 9, 12], size: 2, stride: 2, pad: 'valid' },
    { x: [1, 6, 6, 4], size: 2, stride: 2, pad: 'same' },
  ];
  it.each(cases)('matches cpu, ties included, for x $x, pool $size, stride $stride, pad $pad', async ({ x, size, stride, pad }) => {
    const xv = values(x, 7);
    const { cpu, wasm } = await onBoth(() => {
      // relu leaves whole windows of zeros: ties must go where the cpu backend sends them.
      const xt = tf.relu(tf.tensor4d(xv, x));
      const grad = tf.grad((a: tf.Tensor) => {
        const y = tf.maxPool(a as tf.Tensor4D, size, stride, pad);
        return tf.sum(tf.mul(y, tf.reshape(tf.range(1, y.size + 1), y.shape)));
      });
      return [grad(xt)];
    });
    expectClose(wasm[0], cpu[0], 1e-6);
  });
});

describe('Sum on wasm', () => {
  const cases: { shape: number[]; axis: number | number[] }[] = [
    { shape: [16, 5, 5, 8], axis: [0, 1, 2] },
    { shape: [20, 6], axis: 0 },
    { shape: [10, 4, 5], axis: [1, 0] },
    { shape: [13, 3, 5], axis: [0, 1] },
    { shape: [10, 4], axis: 1 },
    { shape: [3, 4], axis: 0 },
  ];
  it.each(cases)('matches cpu for shape $shape, axis $axis', async ({ shape, axis }) => {
    const xv = values(shape, 8);
    const { cpu, wasm } = await onBoth(() => {
      const x = tf.tensor(xv, shape);
      return [tf.sum(x, axis), tf.sum(x, axis, true)];
    });
    expectClose(wasm[0], cpu[0], 1e-5);
    expectClose(wasm[1], cpu[1], 1e-5);
  });
});

describe('Identity on wasm', () => {
  it('shares data by reference count, and clones outlive their source and later assigns', async () => {
    await tf.setBackend('wasm');
    const buffers = tf.backend().numDataIds();
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    expect(tf.backend().numDataIds()).toBe(buffers + 1);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const v = tf.variable(b);
    const c = v.clone();
    const next = tf.tensor1d([7, 8, 9]);
    v.assign(next);
    next.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    tf.dispose([b, c, v]);
    expect(tf.backend().numDataIds()).toBe(buffers);
  });
});

describe('training a small CNN on wasm', () => {
  it('lowers the loss and leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();

    // Same layer kinds as the built-in cnn, plus a strided 'valid' convolution.
    const model = tfl.sequential();
    model.add(tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
    model.add(tfl.layers.flatten());
    model.add(tfl.layers.dense({ units: 16, activation: 'relu', name: 'features', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
    model.add(tfl.layers.dropout({ rate: 0.1, seed: 4 }));
    model.add(tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) }));
    const optimizer = tf.train.adam(0.01);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });

    // Class 1 images are bright in the top half, class 0 in the bottom half.
    const n = 32;
    const img = new Float32Array(n * 12 * 12);
    const labels = new Float32Array(n * 2);
    const noise = values([n * 144], 9);
    for (let i = 0; i < n; i++) {
      const cls = i % 2;
      labels[i * 2 + cls] = 1;
      for (let p = 0; p < 144; p++) {
        const top = p < 72;
        img[i * 144 + p] = (top === (cls === 1) ? 0.8 : 0.1) + 0.1 * noise[i * 144 + p];
      }
    }
    const xs = tf.tensor4d(img, [n, 12, 12, 1]);
    const ys = tf.tensor2d(labels, [n, 2]);

    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = await model.trainOnBatch(xs, ys);
      losses.push(Array.isArray(loss) ? loss[0] : loss);
    }
    const fitted = await model.fit(xs, ys, { batchSize: 16, epochs: 1, verbose: 0 });
    expect(fitted.history.loss[0]).toBeLessThan(losses[0]);

    model.dispose();
    optimizer.dispose();
    tf.dispose([xs, ys]);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(buffers);
  });
});
