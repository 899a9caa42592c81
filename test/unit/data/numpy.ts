/** Test helpers that write NumPy .npy files and .npz archives (zip, stored or deflated), as numpy.save and numpy.savez do. */
import { crc32, deflateRawSync } from 'node:zlib';

export type Descr = '|u1' | '<u1' | '|i1' | '<i2' | '<u2' | '<i4' | '<u4' | '<i8' | '<u8' | '<f4' | '<f8' | '>f4' | '>f8' | '>i4';

const SIZES: Record<string, number> = { u1: 1, i1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, f4: 4, f8: 8 };

export interface NpyOptions {
  /** Format version 1 (2-byte header length, the default) or 2 (4-byte). */
  version?: 1 | 2;
  fortranOrder?: boolean;
  /** The header text itself, instead of the one built from descr and shape. */
  header?: string;
}

/** A .npy file of `values` (row-major) with the given value type and shape. */
export function npyBytes(descr: Descr, shape: number[], values: ArrayLike<number>, options: NpyOptions = {}): Buffer {
  const version = options.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = options.header ?? `{'descr': '${descr}', 'fortran_order': ${options.fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  // numpy pads the header with spaces so the values start on a 64-byte boundary, and ends it with a newline.
  header += ' '.repeat(63 - ((prefix + header.length) % 64)) + '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(head);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(header.length, 8); else head.writeUInt32LE(header.length, 8);
  const type = descr.slice(1);
  const size = SIZES[type];
  const little = descr[0] !== '>';
  const body = Buffer.alloc(values.length * size);
  const writers: Record<string, (v: number, at: number) => unknown> = {
    u1: (v, at) => body.writeUInt8(v, at),
    i1: (v, at) => body.writeInt8(v, at),
    i2: (v, at) => (little ? body.writeInt16LE(v, at) : body.writeInt16BE(v, at)),
    u2: (v, at) => (little ? body.writeUInt16LE(v, at) : body.writeUInt16BE(v, at)),
    i4: (v, at) => (little ? body.writeInt32LE(v, at) : body.writeInt32BE(v, at)),
    u4: (v, at) => (little ? body.writeUInt32LE(v, at) : body.writeUInt32BE(v, at)),
    i8: (v, at) => (little ? body.writeBigInt64LE(BigInt(v), at) : body.writeBigInt64BE(BigInt(v), at)),
    u8: (v, at) => (little ? body.writeBigUInt64LE(BigInt(v), at) : body.writeBigUInt64BE(BigInt(v), at)),
    f4: (v, at) => (little ? body.writeFloatLE(v, at) : body.writeFloatBE(v, at)),
    f8: (v, at) => (little ? body.writeDoubleLE(v, at) : body.writeDoubleBE(v, at)),
  };
  for (let i = 0; i < values.length; i++) writers[type](values[i], i * size);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export interface ZipMember {
  name: string;
  data: Uint8Array;
  /** Deflate it (numpy.savez_compressed) instead of storing it (numpy.savez). */
  deflate?: boolean;
  /** Override what the central directory declares. */
  declaredSize?: number;
  crc?: number;
}

export interface ZipOptions {
  /** Write the Zip64 end records (and Zip64 sizes in the central directory), as numpy does for large arrays. */
  zip64?: boolean;
}

/** A zip archive of the members, as numpy.savez writes an .npz file (with its Zip64 local extra field). */
export function zipBytes(members: ZipMember[], options: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const data = m.deflate ? deflateRawSync(m.data) : Buffer.from(m.data);
    const method = m.deflate ? 8 : 0;
    const crc = m.crc ?? crc32(m.data);
    const size = m.declaredSize ?? m.data.length;
    // numpy opens every member with force_zip64, so its local header carries a Zip64 extra field.
    const localExtra = Buffer.alloc(20);
    localExtra.writeUInt16LE(1, 0);
    localExtra.writeUInt16LE(16, 2);
    localExtra.writeBigUInt64LE(BigInt(size), 4);
    localExtra.writeBigUInt64LE(BigInt(data.length), 12);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    parts.push(local, name, localExtra, data);
    const cdExtra = options.zip64 ? Buffer.alloc(28) : Buffer.alloc(0);
    if (options.zip64) {
      cdExtra.writeUInt16LE(1, 0);
      cdExtra.writeUInt16LE(24, 2);
      cdExtra.writeBigUInt64LE(BigInt(size), 4);
      cdExtra.writeBigUInt64LE(BigInt(data.length), 12);
      cdExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(options.zip64 ? 0xffffffff : data.length, 20);
    cd.writeUInt32LE(options.zip64 ? 0xffffffff : size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(cdExtra.length, 30);
    cd.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    central.push(cd, name, cdExtra);
    offset += local.length + name.length + localExtra.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(members.length), 24);
    record.writeBigUInt64LE(BigInt(members.length), 32);
    record.writeBigUInt64LE(BigInt(cdBytes.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cdBytes.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : members.length, 8);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : members.length, 10);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : cdBytes.length, 12);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cdBytes, ...tail, eocd]);
}

/** An .npz archive of named arrays (each a .npy file). */
export function npzBytes(arrays: Record<string, Buffer>, options: ZipOptions & { deflate?: boolean } = {}): Buffer {
  return zipBytes(Object.entries(arrays).map(([name, data]) => ({ name: `${name}.npy`, data, deflate: options.deflate })), options);
}
