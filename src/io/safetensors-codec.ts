/** Element types of the safetensors format and their conversion to float32. */

export const SAFETENSORS_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** Bytes per element. */
export const DTYPE_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value);
}

/** IEEE 754 half precision (bits in a u16) → number (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** number → IEEE 754 half precision bits, rounding to nearest even. */
export function floatToHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ∞
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let rounded = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && rounded & 1)) rounded += 1;
    return sign | rounded;
  }
  let bits = sign | (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && bits & 1)) bits += 1; // a carry into the exponent is correct
  return bits;
}

/** Decodes `count` little-endian elements of `dtype` into a new Float32Array. */
export function decodeToFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32' && bytes.byteOffset % 4 === 0) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = elementReader(dtype, view);
  for (let i = 0; i < count; i++) out[i] = read(i);
  return out;
}

function elementReader(dtype: SafetensorsDtype, view: DataView): (i: number) => number {
  switch (dtype) {
    case 'F64':
      return (i) => view.getFloat64(i * 8, true);
    case 'F32':
      return (i) => view.getFloat32(i * 4, true);
    case 'F16':
      return (i) => halfToFloat(view.getUint16(i * 2, true));
    case 'BF16': {
      const scratch = new DataView(new ArrayBuffer(4));
      return (i) => {
        scratch.setUint32(0, view.getUint16(i * 2, true) << 16);
        return scratch.getFloat32(0);
      };
    }
    case 'I64':
      return (i) => Number(view.getBigInt64(i * 8, true));
    case 'I32':
      return (i) => view.getInt32(i * 4, true);
    case 'I16':
      return (i) => view.getInt16(i * 2, true);
    case 'I8':
      return (i) => view.getInt8(i);
    case 'U8':
      return (i) => view.getUint8(i);
    case 'BOOL':
      return (i) => (view.getUint8(i) ? 1 : 0);
  }
}
