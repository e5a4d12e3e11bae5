/*
 * Fused CPU kernels for the wasm/cpu backends, compiled to WebAssembly with SIMD and a shared,
 * imported memory (scripts/build-wasm-kernels.sh). No libc, no static data, no stack use: every
 * buffer is laid out by the caller (src/ops/wasm/), either directly in the tfjs-wasm heap or in a
 * memory of our own. Every kernel takes (part, parts) last and computes only its share, so
 * several threads on the same memory run one call together (src/ops/wasm/thread-pool.ts).
 *
 * Multi-head attention works directly on the projection rows [B·T, D] (head h owns columns
 * h·e … h·e+e−1), so no transposes are needed around it:
 *   S = q·kᵀ·c (c = 1/√e),  P = softmax(S),  O = P·v               (forward, per (b, h))
 *   dV = Pᵀ·dO,  dP = dO·vᵀ (+ dW),  dS = c·P⊙(dP − rowsum(P⊙dP)),
 *   dQ = dS·k,  dK = dSᵀ·q                                          (backward)
 */
#include <wasm_simd128.h>

typedef float f32;
typedef v128_t v4;

#define EXPORT(name) __attribute__((export_name(#name)))

/* ---- small dense products ------------------------------------------------------------------ */

static inline v4 load4(const f32 *p) { return wasm_v128_load(p); }
static inline void store4(f32 *p, v4 v) { wasm_v128_store(p, v); }
static inline v4 madd(v4 acc, v4 a, v4 b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

/* C[M×N] = A[M×K]·B[K×N] (or C += … when accumulate); all row-major with leading dimensions. */
static void gemm_panel(int M, int N, int K, const f32 *A, int lda, const f32 *B, int ldb, f32 *C, int ldc, int accumulate) {
  int i = 0;
  for (; i + 4 <= M; i += 4) {
    const f32 *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    f32 *c0 = C + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
    int n = 0;
    for (; n + 8 <= N; n += 8) {
      v4 x00 = wasm_f32x4_splat(0), x01 = x00, x10 = x00, x11 = x00, x20 = x00, x21 = x00, x30 = x00, x31 = x00;
      const f32 *b = B + n;
      for (int k = 0; k < K; k++, b += ldb) {
        v4 b0 = load4(b), b1 = load4(b + 4);
        v4 s0 = wasm_f32x4_splat(a0[k]), s1 = wasm_f32x4_splat(a1[k]);
        v4 s2 = wasm_f32x4_splat(a2[k]), s3 = wasm_f32x4_splat(a3[k]);
        x00 = madd(x00, s0, b0); x01 = madd(x01, s0, b1);
        x10 = madd(x10, s1, b0); x11 = madd(x11, s1, b1);
        x20 = madd(x20, s2, b0); x21 = madd(x21, s2, b1);
        x30 = madd(x30, s3, b0); x31 = madd(x31, s3, b1);
      }
      if (accumulate) {
        x00 = wasm_f32x4_add(x00, load4(c0 + n)); x01 = wasm_f32x4_add(x01, load4(c0 + n + 4));
        x10 = wasm_f32x4_add(x10, load4(c1 + n)); x11 = wasm_f32x4_add(x11, load4(c1 + n + 4));
        x20 = wasm_f32x4_add(x20, load4(c2 + n)); x21 = wasm_f32x4_add(x21, load4(c2 + n + 4));
        x30 = wasm_f32x4_add(x30, load4(c3 + n)); x31 = wasm_f32x4_add(x31, load4(c3 + n + 4));
      }
      store4(c0 + n, x00); store4(c0 + n + 4, x01);
      store4(c1 + n, x10); store4(c1 + n + 4, x11);
      store4(c2 + n, x20); store4(c2 + n + 4, x21);
      store4(c3 + n, x30); store4(c3 + n + 4, x31);
    }
    for (; n + 4 <= N; n += 4) {
      v4 x0 = wasm_f32x4_splat(0), x1 = x0, x2 = x0, x3 = x0;
      const f32 *b = B + n;
      for (int k = 0; k < K; k++, b += ldb) {
        v4 b0 = load4(b);
        x0 = madd(x0, wasm_f32x4_splat(a0[k]), b0); x1 = madd(x1, wasm_f32x4_splat(a1[k]), b0);
        x2 = madd(x2, wasm_f32x4_splat(a2[k]), b0); x3 = madd(x3, wasm_f32x4_splat(a3[k]), b0);
      }
      if (accumulate) {
        x0 = wasm_f32x4_add(x0, load4(c0 + n)); x1 = wasm_f32x4_add(x1, load4(c1 + n));
        x2 = wasm_f32x4_add(x2, load4(c2 + n)); x3 = wasm_f32x4_add(x3, load4(c3 + n));
      }
      store4(c0 + n, x0); store4(c1 + n, x1); store4(c2 + n, x2); store4(c3 + n, x3);
    }
    for (; n < N; n++) {
      f32 x0 = 0, x1 = 0, x2 = 0, x3 = 0;
      for (int k = 0; k < K; k++) {
        f32 bk = B[k * ldb + n];
        x0 += a0[k] * bk; x1 += a1[k] * bk; x2 += a2[k] * bk; x3 += a3[k] * bk;
      }
      if (accumulate) { x0 += c0[n]; x1 += c1[n]; x2 += c2[n]; x3 += c3[n]; }
      c0[n] = x0; c1[n] = x1; c2[n] = x2; c3[n] = x3;
    }
  }
  for (; i < M; i++) {
    const f32 *a = A + i * lda;
    f32 *c = C + i * ldc;
    int n = 0;
    for (; n + 4 <= N; n += 4) {
      v4 x = wasm_f32x4_splat(0);
      const f32 *b = B + n;
      for (int k = 0; k < K; k++, b += ldb) x = madd(x, wasm_f32x4_splat(a[k]), load4(b));
      if (accumulate) x = wasm_f32x4_add(x, load4(c + n));
      store4(c + n, x);
    }
    for (; n < N; n++) {
      f32 x = 0;
      for (int k = 0; k < K; k++) x += a[k] * B[k * ldb + n];
      c[n] = accumulate ? c[n] + x : x;
    }
  }
}

/*
 * The same, a panel of PANEL columns at a time: the panel of B (K·PANEL floats) stays in the
 * core's cache while every row of A passes over it, instead of all of B streaming per 4 rows.
 */
#define PANEL 128
static void gemm(int M, int N, int K, const f32 *A, int lda, const f32 *B, int ldb, f32 *C, int ldc, int accumulate) {
  for (int n0 = 0; n0 < N; n0 += PANEL) {
    const int width = N - n0 < PANEL ? N - n0 : PANEL;
    gemm_panel(M, width, K, A, lda, B + n0, ldb, C + n0, ldc, accumulate);
  }
}

/* dst[c×r] = srcᵀ for src rows r × c with leading dimension lds. */
static void transpose(int r, int c, const f32 *src, int lds, f32 *dst) {
  for (int i = 0; i < r; i++)
    for (int j = 0; j < c; j++) dst[j * r + i] = src[i * lds + j];
}

/* ---- exp ----------------------------------------------------------------------------------- */

/* e^x for x ≤ 88: x = n·ln2 + r, |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial (rel. error ~2e-7). */
static inline v4 exp4(v4 x) {
  x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f));
  x = wasm_f32x4_min(x, wasm_f32x4_splat(88.0f));
  v4 n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)));
  v4 r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145752f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.42860677e-6f)));
  v4 p = wasm_f32x4_splat(1.0f / 720);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  v4 scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, scale);
}

static f32 exp1(f32 x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

/* Row i of S [rows × n] ← softmax(c·S_i), in place. */
static void softmax_rows(int rows, int n, f32 *s, f32 c) {
  for (int i = 0; i < rows; i++, s += n) {
    f32 m = s[0];
    for (int j = 1; j < n; j++) m = s[j] > m ? s[j] : m;
    v4 cm = wasm_f32x4_splat(c * m), cv = wasm_f32x4_splat(c), total = wasm_f32x4_splat(0);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      v4 e = exp4(wasm_f32x4_sub(wasm_f32x4_mul(load4(s + j), cv), cm));
      store4(s + j, e);
      total = wasm_f32x4_add(total, e);
    }
    f32 sum = wasm_f32x4_extract_lane(total, 0) + wasm_f32x4_extract_lane(total, 1) +
              wasm_f32x4_extract_lane(total, 2) + wasm_f32x4_extract_lane(total, 3);
    for (; j < n; j++) { s[j] = exp1(c * s[j] - c * m); sum += s[j]; }
    f32 inv = 1.0f / sum;
    v4 iv = wasm_f32x4_splat(inv);
    for (j = 0; j + 4 <= n; j += 4) store4(s + j, wasm_f32x4_mul(load4(s + j), iv));
    for (; j < n; j++) s[j] *= inv;
  }
}

/* Claims the next chunk of a call's work: threads share chunks out as they come free. */
static inline int next_chunk(int *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

/* ---- attention ----------------------------------------------------------------------------- */

/*
 * q [B·Tq, D], k, v [B·T, D] → out [B·Tq, D] and P [B, H, Tq, T]. Threads take (b, h) pairs
 * through `counter` (zero at the start). scratch: e·T floats per part.
 */
EXPORT(attention_forward)
void attention_forward(int B, int Tq, int T, int H, int e, const f32 *q, const f32 *k, const f32 *v,
                       f32 *out, f32 *P, f32 *scratch, int *counter, int part, int parts) {
  const int D = H * e;
  const f32 c = 1.0f / __builtin_sqrtf((f32)e);
  scratch += part * e * T;
  for (int bh; (bh = next_chunk(counter)) < B * H;) {
    const int b = bh / H, h = bh % H;
    {
      const f32 *qb = q + b * Tq * D + h * e, *kb = k + b * T * D + h * e, *vb = v + b * T * D + h * e;
      f32 *p = P + (b * H + h) * Tq * T;
      transpose(T, e, kb, D, scratch); /* kᵀ [e × T] */
      gemm(Tq, T, e, qb, D, scratch, T, p, T, 0);
      softmax_rows(Tq, T, p, c);
      gemm(Tq, e, T, p, T, vb, D, out + b * Tq * D + h * e, D, 0);
    }
  }
}

/*
 * Gradients of attention_forward: dout [B·Tq, D] and, when dW is non-null, the gradient of the
 * returned P [B, H, Tq, T]. Writes dq [B·Tq, D], dk, dv [B·T, D].
 * scratch: e·T + 2·Tq·T floats per part.
 */
EXPORT(attention_backward)
void attention_backward(int B, int Tq, int T, int H, int e, const f32 *q, const f32 *k, const f32 *v,
                        const f32 *P, const f32 *dout, const f32 *dW, f32 *dq, f32 *dk, f32 *dv, f32 *scratch,
                        int *counter, int part, int parts) {
  const int D = H * e;
  const f32 c = 1.0f / __builtin_sqrtf((f32)e);
  f32 *vt = scratch + part * (e * T + 2 * Tq * T), *ds = vt + e * T, *tr = ds + Tq * T;
  for (int bh; (bh = next_chunk(counter)) < B * H;) {
    const int b = bh / H, h = bh % H;
    {
      const int qo = b * Tq * D + h * e, ko = b * T * D + h * e;
      const f32 *p = P + (b * H + h) * Tq * T;
      /* dP = dO·vᵀ (+ dW) */
      transpose(T, e, v + ko, D, vt);
      gemm(Tq, T, e, dout + qo, D, vt, T, ds, T, 0);
      if (dW) {
        const f32 *w = dW + (b * H + h) * Tq * T;
        for (int i = 0; i < Tq * T; i++) ds[i] += w[i];
      }
      /* dS = c·P⊙(dP − rowsum(P⊙dP)) */
      for (int i = 0; i < Tq; i++) {
        const f32 *pi = p + i * T;
        f32 *di = ds + i * T;
        f32 dot = 0;
        for (int j = 0; j < T; j++) dot += pi[j] * di[j];
        for (int j = 0; j < T; j++) di[j] = c * pi[j] * (di[j] - dot);
      }
      /* dV = Pᵀ·dO */
      transpose(Tq, T, p, T, tr);
      gemm(T, e, Tq, tr, Tq, dout + qo, D, dv + ko, D, 0);
      /* dQ = dS·k */
      gemm(Tq, e, T, ds, T, k + ko, D, dq + qo, D, 0);
      /* dK = dSᵀ·q */
      transpose(Tq, T, ds, T, tr);
      gemm(T, e, Tq, tr, Tq, q + qo, D, dk + ko, D, 0);
    }
  }
}

/* ---- dense products ------------------------------------------------------------------------ */

/* Rows per chunk of a product: about 16 chunks whatever the thread count, a multiple of 4 (the micro-kernel's rows). */
static int chunk_rows(int M) {
  const int rows = (M / 16 + 3) & ~3;
  return rows < 4 ? 4 : rows;
}

/*
 * C [M×N] = op(A)·op(B) (+ bias [N] on every row, if non-null); op(X) = Xᵀ when its flag is set:
 * A is stored [M×K] or, transposed, [K×M]; B [K×N] or [N×K]. Threads take chunks of rows of C
 * through `counter` (zero at the start), packing what they read transposed into their own
 * scratch: (transB ? K·N : 0) + (transA ? chunk_rows(M)·K : 0) floats per part.
 */
EXPORT(matmul)
void matmul(int M, int N, int K, const f32 *A, int transA, const f32 *B, int transB, const f32 *bias, f32 *C,
            f32 *scratch, int *counter, int part, int parts) {
  const int rows = chunk_rows(M);
  f32 *own = scratch + part * ((transB ? K * N : 0) + (transA ? rows * K : 0));
  const f32 *b = B;
  if (transB) { transpose(N, K, B, K, own); b = own; own += K * N; }
  for (int chunk; (chunk = next_chunk(counter)) * rows < M;) {
    const int r0 = chunk * rows, r1 = r0 + rows < M ? r0 + rows : M;
    const f32 *a = A + r0 * K;
    if (transA) { /* rows r0…r1 of Aᵀ are columns r0…r1 of the stored [K×M] */
      for (int k = 0; k < K; k++)
        for (int i = r0; i < r1; i++) own[(i - r0) * K + k] = A[k * M + i];
      a = own;
    }
    gemm(r1 - r0, N, K, a, K, b, N, C + r0 * N, N, 0);
    if (bias) {
      for (int i = r0; i < r1; i++) {
        f32 *c = C + i * N;
        int n = 0;
        for (; n + 4 <= N; n += 4) store4(c + n, wasm_f32x4_add(load4(c + n), load4(bias + n)));
        for (; n < N; n++) c[n] += bias[n];
      }
    }
  }
}

/* ---- layer normalisation ------------------------------------------------------------------- */

/* Range [*r0, *r1) of n items that part `part` of `parts` handles. */
static void share(int n, int part, int parts, int *r0, int *r1) {
  *r0 = (int)((long long)n * part / parts);
  *r1 = (int)((long long)n * (part + 1) / parts);
}

static inline f32 hsum(v4 v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

/* μ and r = 1/√(σ² + ε) of one row of D values. */
static void row_moments(int D, const f32 *x, f32 eps, f32 *mean, f32 *rstd) {
  v4 s = wasm_f32x4_splat(0);
  int j = 0;
  for (; j + 4 <= D; j += 4) s = wasm_f32x4_add(s, load4(x + j));
  f32 sum = hsum(s);
  for (; j < D; j++) sum += x[j];
  const f32 mu = sum / D;
  v4 m = wasm_f32x4_splat(mu), q = wasm_f32x4_splat(0);
  for (j = 0; j + 4 <= D; j += 4) { v4 c = wasm_f32x4_sub(load4(x + j), m); q = madd(q, c, c); }
  f32 sq = hsum(q);
  for (; j < D; j++) sq += (x[j] - mu) * (x[j] - mu);
  *mean = mu;
  *rstd = 1.0f / __builtin_sqrtf(sq / D + eps);
}

/* y = (x − μ)·r·γ + β per row; x, y [M, D]. */
EXPORT(layernorm_forward)
void layernorm_forward(int M, int D, const f32 *x, const f32 *gamma, const f32 *beta, f32 eps, f32 *y, int part, int parts) {
  int r0, r1;
  share(M, part, parts, &r0, &r1);
  for (int i = r0; i < r1; i++) {
    const f32 *xi = x + i * D;
    f32 *yi = y + i * D;
    f32 mu, r;
    row_moments(D, xi, eps, &mu, &r);
    v4 m = wasm_f32x4_splat(mu), rv = wasm_f32x4_splat(r);
    int j = 0;
    for (; j + 4 <= D; j += 4)
      store4(yi + j, madd(load4(beta + j), wasm_f32x4_mul(wasm_f32x4_sub(load4(xi + j), m), rv), load4(gamma + j)));
    for (; j < D; j++) yi[j] = (xi[j] - mu) * r * gamma[j] + beta[j];
  }
}

/* dx = r·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, x̂ = (x − μ)·r (μ, r recomputed from x). */
EXPORT(layernorm_backward)
void layernorm_backward(int M, int D, const f32 *x, const f32 *gamma, const f32 *dy, f32 eps, f32 *dx, int part, int parts) {
  int r0, r1;
  share(M, part, parts, &r0, &r1);
  for (int i = r0; i < r1; i++) {
    const f32 *xi = x + i * D, *di = dy + i * D;
    f32 *oi = dx + i * D;
    f32 mu, r;
    row_moments(D, xi, eps, &mu, &r);
    v4 m = wasm_f32x4_splat(mu), rv = wasm_f32x4_splat(r), sg = wasm_f32x4_splat(0), sgx = sg;
    int j = 0;
    for (; j + 4 <= D; j += 4) {
      v4 g = wasm_f32x4_mul(load4(di + j), load4(gamma + j));
      v4 xh = wasm_f32x4_mul(wasm_f32x4_sub(load4(xi + j), m), rv);
      sg = wasm_f32x4_add(sg, g);
      sgx = madd(sgx, g, xh);
    }
    f32 sumG = hsum(sg), sumGX = hsum(sgx);
    for (; j < D; j++) { f32 g = di[j] * gamma[j]; sumG += g; sumGX += g * (xi[j] - mu) * r; }
    const f32 meanG = sumG / D, meanGX = sumGX / D;
    v4 mg = wasm_f32x4_splat(meanG), mgx = wasm_f32x4_splat(meanGX);
    for (j = 0; j + 4 <= D; j += 4) {
      v4 g = wasm_f32x4_mul(load4(di + j), load4(gamma + j));
      v4 xh = wasm_f32x4_mul(wasm_f32x4_sub(load4(xi + j), m), rv);
      store4(oi + j, wasm_f32x4_mul(rv, wasm_f32x4_sub(wasm_f32x4_sub(g, mg), wasm_f32x4_mul(xh, mgx))));
    }
    for (; j < D; j++) { f32 g = di[j] * gamma[j]; oi[j] = r * (g - meanG - (xi[j] - mu) * r * meanGX); }
  }
}

/* ---- QuickGELU ----------------------------------------------------------------------------- */

/* σ(1.702·x) for four values. */
static inline v4 gelu_gate(v4 x) {
  v4 e = exp4(wasm_f32x4_mul(x, wasm_f32x4_splat(-1.702f)));
  return wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), e));
}

/* y = x·σ(1.702x) over n values (a multiple of 4 is not required). */
EXPORT(quick_gelu_forward)
void quick_gelu_forward(int n, const f32 *x, f32 *y, int part, int parts) {
  int r0, r1;
  share((n + 3) / 4, part, parts, &r0, &r1);
  for (int i = r0 * 4; i < r1 * 4; i += 4) {
    if (i + 4 <= n) {
      v4 v = load4(x + i);
      store4(y + i, wasm_f32x4_mul(v, gelu_gate(v)));
    } else {
      for (int j = i; j < n; j++) {
        f32 s = wasm_f32x4_extract_lane(gelu_gate(wasm_f32x4_splat(x[j])), 0);
        y[j] = x[j] * s;
      }
    }
  }
}

/* dx = dy·s·(1 + u·(1 − s)), u = 1.702x, s = σ(u). */
EXPORT(quick_gelu_backward)
void quick_gelu_backward(int n, const f32 *x, const f32 *dy, f32 *dx, int part, int parts) {
  int r0, r1;
  share((n + 3) / 4, part, parts, &r0, &r1);
  const v4 one = wasm_f32x4_splat(1.0f), a = wasm_f32x4_splat(1.702f);
  for (int i = r0 * 4; i < r1 * 4; i += 4) {
    if (i + 4 <= n) {
      v4 v = load4(x + i), s = gelu_gate(v), u = wasm_f32x4_mul(v, a);
      store4(dx + i, wasm_f32x4_mul(load4(dy + i), wasm_f32x4_mul(s, madd(one, u, wasm_f32x4_sub(one, s)))));
    } else {
      for (int j = i; j < n; j++) {
        f32 s = wasm_f32x4_extract_lane(gelu_gate(wasm_f32x4_splat(x[j])), 0), u = 1.702f * x[j];
        dx[j] = dy[j] * s * (1 + u * (1 - s));
      }
    }
  }
}
