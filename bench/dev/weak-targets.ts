// Development helper: test digits a clean model gets right with the smallest margin over its
// runner-up class, the targets for which a few label-flip copies are most likely to succeed.
//   node .weakx.mjs MODEL_DIR [COUNT]
import { initBackend, tf } from '../../src-main/engine/backend/index.js';
import { loadDataset } from '../../src-main/engine/data/load.js';
import { loadModel } from '../../src-main/engine/model/io.js';
import { modelInput } from '../../src-main/engine/model/train.js';
import { pixelsInMemory } from '../../src-main/engine/data/dataset.js';
await initBackend('wasm');
const ds = await loadDataset('mnist');
const { model } = await loadModel(process.argv[2]);
const probs = tf.tidy(() => (model.predict(modelInput(model, tf.tensor4d(pixelsInMemory(ds.test.images), [ds.test.count, ...ds.shape]))) as tf.Tensor).arraySync() as number[][]);
const rows = probs.map((p, i) => {
  const order = p.map((v, c) => [v, c]).sort((a, b) => b[0] - a[0]);
  return { i, label: ds.test.labels[i], top: order[0][1], second: order[1][1], margin: order[0][0] - order[1][0] };
}).filter((r) => r.top === r.label).sort((a, b) => a.margin - b.margin);
console.log(rows.slice(0, Number(process.argv[3] ?? 15)));
