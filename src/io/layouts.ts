/** Conversions between PyTorch weight layouts and ours, on host arrays (row-major). */

/** [rows, cols] row-major → [cols, rows] row-major. */
export function transposeValues(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** PyTorch conv weight [D, C, p, p] → our patch matrix [p·p·C, D], rows ordered (py, px, c). */
export function convToPatchMatrix(values: Float32Array, d: number, c: number, p: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let o = 0; o < d; o++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < p; y++)
        for (let x = 0; x < p; x++) {
          out[((y * p + x) * c + ch) * d + o] = values[((o * c + ch) * p + y) * p + x];
        }
  return out;
}

/** Inverse of convToPatchMatrix. */
export function patchMatrixToConv(values: Float32Array, d: number, c: number, p: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let o = 0; o < d; o++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < p; y++)
        for (let x = 0; x < p; x++) {
          out[((o * c + ch) * p + y) * p + x] = values[((y * p + x) * c + ch) * d + o];
        }
  return out;
}

/** The size×size identity matrix. */
export function identity(size: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = 1;
  return out;
}
