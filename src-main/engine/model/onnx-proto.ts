/**
 * The few ONNX protobuf messages a classifier needs (onnx/onnx.proto: ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto and the type and shape messages they
 * hold), read from and written to the protobuf wire format directly.
 *
 * Why not a generated reader: the file may come from an attacker, and this reader never
 * allocates more than the bytes it was given (a tensor's declared element count is returned,
 * not allocated, so the caller checks it against the limits first), and writing a repaired
 * head back must leave every other byte of the file as it was: a message is kept as the byte
 * ranges of its fields, and only the replaced initializers are encoded anew.
 *
 * Wire format (protobuf encoding guide): a field is a varint key (number << 3 | wire type)
 * followed by a varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4
 * bytes (5). Packed and unpacked repeated scalars are both accepted.
 */

/** A malformed message; the caller turns it into a sentence naming the file. */
export class ProtoError extends Error {}

export interface Field {
  no: number;
  wire: number;
  /** The whole field, key included. */
  start: number;
  end: number;
  /** The value: a varint, or the byte range of a length-delimited or fixed field. */
  varint: bigint;
  from: number;
  to: number;
}

function readVarint(buf: Uint8Array, at: number, end: number): { value: bigint; next: number } {
  let value = 0n; let shift = 0n;
  for (let i = at; i < end && i < at + 10; i++) {
    const b = buf[i];
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { value, next: i + 1 };
    shift += 7n;
  }
  throw new ProtoError(`a number at byte ${at} runs past the end of its message`);
}

/** The fields of the message in buf[start, end), in order. */
export function fieldsOf(buf: Uint8Array, start = 0, end = buf.length): Field[] {
  const out: Field[] = [];
  let at = start;
  while (at < end) {
    const key = readVarint(buf, at, end);
    const no = Number(key.value >> 3n); const wire = Number(key.value & 7n);
    if (no < 1) throw new ProtoError(`byte ${at} starts a field numbered 0`);
    let from = key.next; let to = from; let varint = 0n;
    if (wire === 0) { const v = readVarint(buf, from, end); varint = v.value; to = v.next; }
    else if (wire === 1) to = from + 8;
    else if (wire === 5) to = from + 4;
    else if (wire === 2) {
      const len = readVarint(buf, from, end);
      from = len.next;
      if (len.value > BigInt(end - from)) throw new ProtoError(`a field at byte ${at} declares ${len.value} bytes, more than its message holds`);
      to = from + Number(len.value);
    } else throw new ProtoError(`byte ${at} starts a field of wire type ${wire}, which ONNX does not use`);
    if (to > end) throw new ProtoError(`a field at byte ${at} runs past the end of its message`);
    out.push({ no, wire, start: at, end: to, varint, from, to });
    at = to;
  }
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: false });
function text(buf: Uint8Array, f: Field): string {
  if (f.wire !== 2) throw new ProtoError(`field ${f.no} at byte ${f.start} should be text`);
  return decoder.decode(buf.subarray(f.from, f.to));
}

/** Repeated int64 (packed or not). */
function int64s(buf: Uint8Array, fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === 0) out.push(Number(BigInt.asIntN(64, f.varint)));
    else if (f.wire === 2) {
      for (let at = f.from; at < f.to;) { const v = readVarint(buf, at, f.to); out.push(Number(BigInt.asIntN(64, v.value))); at = v.next; }
    } else throw new ProtoError(`field ${no} at byte ${f.start} should hold integers`);
  }
  return out;
}

/** Repeated float (packed or not). */
function floats(buf: Uint8Array, fields: Field[], no: number): number[] {
  const out: number[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === 5) out.push(view.getFloat32(f.from, true));
    else if (f.wire === 2 && (f.to - f.from) % 4 === 0) for (let at = f.from; at < f.to; at += 4) out.push(view.getFloat32(at, true));
    else throw new ProtoError(`field ${no} at byte ${f.start} should hold 32-bit floats`);
  }
  return out;
}

const one = (fields: Field[], no: number) => { let last: Field | undefined; for (const f of fields) if (f.no === no) last = f; return last; };
const all = (fields: Field[], no: number) => fields.filter((f) => f.no === no);

/** TensorProto.DataType values read here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 11: 8 };

export interface TensorRef {
  name: string;
  dims: number[];
  dataType: number;
  /** Product of dims (1 for a scalar). */
  count: number;
  /** Where the tensor lies in the file (its TensorProto). */
  from: number;
  to: number;
  external: boolean;
}

export function readTensorRef(buf: Uint8Array, from: number, to: number): TensorRef {
  const fields = fieldsOf(buf, from, to);
  const dims = int64s(buf, fields, 1);
  const nameField = one(fields, 8);
  const dataType = Number(one(fields, 2)?.varint ?? 0n);
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ProtoError(`a tensor at byte ${from} declares a dimension of ${d}`);
    count *= d;
  }
  return {
    name: nameField ? text(buf, nameField) : '', dims, dataType, count, from, to,
    external: Number(one(fields, 14)?.varint ?? 0n) === 1 || all(fields, 13).length > 0,
  };
}

/**
 * A tensor's values as float32 (floats, doubles and integers), or as integers for shape-like
 * int64/int32 tensors. Call only after its count has been checked against the limits.
 */
export function readTensorValues(buf: Uint8Array, t: TensorRef): Float32Array | number[] {
  const fields = fieldsOf(buf, t.from, t.to);
  const raw = one(fields, 9);
  const size = ELEMENT_BYTES[t.dataType];
  if (!size) throw new ProtoError(`the tensor "${t.name}" has data type ${t.dataType}, which is not read (float, double, int8, uint8, int32 and int64 are)`);
  if (t.external) throw new ProtoError(`the tensor "${t.name}" keeps its values in an external file, which is not read`);
  const intType = t.dataType === DataType.INT64 || t.dataType === DataType.INT32;
  if (raw) {
    if (raw.to - raw.from !== t.count * size) throw new ProtoError(`the tensor "${t.name}" declares ${t.count} values but holds ${raw.to - raw.from} bytes`);
    const view = new DataView(buf.buffer, buf.byteOffset + raw.from, raw.to - raw.from);
    if (intType) {
      const out: number[] = [];
      for (let k = 0; k < t.count; k++) out.push(t.dataType === DataType.INT64 ? Number(view.getBigInt64(k * 8, true)) : view.getInt32(k * 4, true));
      return out;
    }
    const out = new Float32Array(t.count);
    for (let k = 0; k < t.count; k++) {
      out[k] = t.dataType === DataType.FLOAT ? view.getFloat32(k * 4, true) : t.dataType === DataType.DOUBLE ? view.getFloat64(k * 8, true)
        : t.dataType === DataType.INT8 ? view.getInt8(k) : view.getUint8(k);
    }
    return out;
  }
  let values: number[];
  if (t.dataType === DataType.FLOAT) values = floats(buf, fields, 4);
  else if (t.dataType === DataType.INT64) values = int64s(buf, fields, 7);
  else if (t.dataType === DataType.DOUBLE) {
    values = [];
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (const f of all(fields, 10)) {
      if (f.wire === 1) values.push(view.getFloat64(f.from, true));
      else if (f.wire === 2 && (f.to - f.from) % 8 === 0) for (let at = f.from; at < f.to; at += 8) values.push(view.getFloat64(at, true));
      else throw new ProtoError(`the tensor "${t.name}" has malformed double values`);
    }
  } else values = int64s(buf, fields, 5); // int32, int8 and uint8 live in int32_data
  if (values.length !== t.count) throw new ProtoError(`the tensor "${t.name}" declares ${t.count} values but holds ${values.length}`);
  return intType ? values : Float32Array.from(values);
}

export interface Attribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: TensorRef;
  floats: number[];
  ints: number[];
  /** A subgraph attribute (If, Loop, Scan): present, never read. */
  graph: boolean;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** Each dimension's size, or null for a named or unknown one (a batch axis). */
  shape: (number | null)[] | null;
}

export interface OnnxModel {
  irVersion: number;
  producer: string;
  opsets: Map<string, number>;
  nodes: OnnxNode[];
  initializers: Map<string, TensorRef>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** The model's metadata_props (key → value), as the file holds them. */
  metadata: Map<string, string>;
  /** Where the graph lies in the file. */
  graphFrom: number;
  graphTo: number;
}

function readAttribute(buf: Uint8Array, from: number, to: number): Attribute {
  const fields = fieldsOf(buf, from, to);
  const get = (no: number) => one(fields, no);
  const f = get(2); const i = get(3); const s = get(4); const t = get(5);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    name: get(1) ? text(buf, get(1)!) : '',
    f: f && f.wire === 5 ? view.getFloat32(f.from, true) : undefined,
    i: i && i.wire === 0 ? Number(BigInt.asIntN(64, i.varint)) : undefined,
    s: s ? text(buf, s) : undefined,
    t: t ? readTensorRef(buf, t.from, t.to) : undefined,
    floats: floats(buf, fields, 7),
    ints: int64s(buf, fields, 8),
    graph: all(fields, 6).length > 0 || all(fields, 11).length > 0,
  };
}

function readNode(buf: Uint8Array, from: number, to: number): OnnxNode {
  const fields = fieldsOf(buf, from, to);
  const attributes = new Map<string, Attribute>();
  for (const a of all(fields, 5)) { const attr = readAttribute(buf, a.from, a.to); attributes.set(attr.name, attr); }
  return {
    name: one(fields, 3) ? text(buf, one(fields, 3)!) : '',
    opType: one(fields, 4) ? text(buf, one(fields, 4)!) : '',
    domain: one(fields, 7) ? text(buf, one(fields, 7)!) : '',
    inputs: all(fields, 1).map((f) => text(buf, f)),
    outputs: all(fields, 2).map((f) => text(buf, f)),
    attributes,
  };
}

function readValueInfo(buf: Uint8Array, from: number, to: number): ValueInfo {
  const fields = fieldsOf(buf, from, to);
  const name = one(fields, 1) ? text(buf, one(fields, 1)!) : '';
  const type = one(fields, 2);
  let elemType = 0; let shape: (number | null)[] | null = null;
  const tensor = type ? one(fieldsOf(buf, type.from, type.to), 1) : undefined;
  if (tensor) {
    const tf = fieldsOf(buf, tensor.from, tensor.to);
    elemType = Number(one(tf, 1)?.varint ?? 0n);
    const s = one(tf, 2);
    if (s) {
      shape = all(fieldsOf(buf, s.from, s.to), 1).map((d) => {
        const v = one(fieldsOf(buf, d.from, d.to), 1);
        return v && v.wire === 0 ? Number(BigInt.asIntN(64, v.varint)) : null;
      });
    }
  }
  return { name, elemType, shape };
}

/** Reads the model's structure; tensor values are read later, on demand (readTensorValues). */
export function readOnnxModel(buf: Uint8Array, limits: { nodes: number }): OnnxModel {
  const top = fieldsOf(buf);
  const graph = one(top, 7);
  if (!graph || graph.wire !== 2) throw new ProtoError('it holds no graph');
  const opsets = new Map<string, number>();
  for (const o of all(top, 8)) {
    const f = fieldsOf(buf, o.from, o.to);
    opsets.set(one(f, 1) ? text(buf, one(f, 1)!) : '', Number(one(f, 2)?.varint ?? 0n));
  }
  const g = fieldsOf(buf, graph.from, graph.to);
  const nodeFields = all(g, 1);
  if (nodeFields.length > limits.nodes) throw new ProtoError(`its graph has ${nodeFields.length} nodes, more than the ${limits.nodes} read`);
  const initializers = new Map<string, TensorRef>();
  for (const f of all(g, 5)) { const t = readTensorRef(buf, f.from, f.to); initializers.set(t.name, t); }
  if (all(g, 15).length) throw new ProtoError('it holds sparse initializers, which are not read');
  const metadata = new Map<string, string>();
  for (const m of all(top, 14)) {
    const f = fieldsOf(buf, m.from, m.to);
    const key = one(f, 1); const value = one(f, 2);
    if (key) metadata.set(text(buf, key), value ? text(buf, value) : '');
  }
  return {
    irVersion: Number(one(top, 1)?.varint ?? 0n),
    producer: one(top, 2) ? text(buf, one(top, 2)!) : '',
    opsets,
    nodes: nodeFields.map((f) => readNode(buf, f.from, f.to)),
    initializers,
    inputs: all(g, 11).map((f) => readValueInfo(buf, f.from, f.to)),
    outputs: all(g, 12).map((f) => readValueInfo(buf, f.from, f.to)),
    metadata,
    graphFrom: graph.from,
    graphTo: graph.to,
  };
}

// --- writing ----------------------------------------------------------------------------------

function varintBytes(v: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  do { let b = Number(x & 0x7fn); x >>= 7n; if (x > 0n) b |= 0x80; out.push(b); } while (x > 0n);
  return out;
}

function lengthDelimited(no: number, body: Uint8Array): Uint8Array[] {
  return [Uint8Array.from([...varintBytes((no << 3) | 2), ...varintBytes(body.length)]), body];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/**
 * The file with some float initializers given new values of the same shape: each replaced
 * TensorProto keeps its other fields (name, dims, doc string) and holds the values as float32
 * raw_data; every other byte of the file is copied as it was.
 */
export function replaceInitializers(buf: Uint8Array, model: OnnxModel, values: Map<string, Float32Array>): Uint8Array {
  for (const [name, v] of values) {
    const t = model.initializers.get(name);
    if (!t || t.count !== v.length) throw new ProtoError(`the initializer "${name}" cannot take ${v.length} values`);
  }
  const graphParts: Uint8Array[] = [];
  for (const f of fieldsOf(buf, model.graphFrom, model.graphTo)) {
    const t = f.no === 5 ? readTensorRef(buf, f.from, f.to) : undefined;
    const v = t && values.get(t.name);
    if (!t || !v) { graphParts.push(buf.subarray(f.start, f.end)); continue; }
    const kept = fieldsOf(buf, f.from, f.to).filter((g) => ![2, 4, 5, 7, 9, 10, 11, 13, 14].includes(g.no)).map((g) => buf.subarray(g.start, g.end));
    const raw = new Uint8Array(v.length * 4);
    const view = new DataView(raw.buffer);
    v.forEach((x, k) => view.setFloat32(k * 4, x, true));
    graphParts.push(...lengthDelimited(5, concat([...kept, Uint8Array.from([2 << 3, DataType.FLOAT]), ...lengthDelimited(9, raw)])));
  }
  const graph = concat(graphParts);
  const parts: Uint8Array[] = [];
  for (const f of fieldsOf(buf)) {
    if (f.no === 7) parts.push(...lengthDelimited(7, graph));
    else parts.push(buf.subarray(f.start, f.end));
  }
  return concat(parts);
}

/** The file with one more graph output (a float tensor the graph computes), so a runtime returns it too. */
export function addGraphOutput(buf: Uint8Array, model: OnnxModel, name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const tensorType = concat(lengthDelimited(1, Uint8Array.from([1 << 3, DataType.FLOAT])));
  const valueInfo = concat([...lengthDelimited(1, nameBytes), ...lengthDelimited(2, tensorType)]);
  const graph = concat([buf.subarray(model.graphFrom, model.graphTo), ...lengthDelimited(12, valueInfo)]);
  const parts: Uint8Array[] = [];
  for (const f of fieldsOf(buf)) parts.push(...(f.no === 7 ? lengthDelimited(7, graph) : [buf.subarray(f.start, f.end)]));
  return concat(parts);
}
