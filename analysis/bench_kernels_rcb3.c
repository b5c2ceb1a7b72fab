/* analysis/bench_kernels.py's compiled reference: eval-mode ReLU -> 3-tap convolution ->
 * BatchNorm folded into the weights and a bias, fused in one pass over (L, B, C) float32
 * activations (the live trainer's layout). Register tiles: R rows x C/8 vectors of 8 floats;
 * gcc vector extensions, so no intrinsics; -ffp-contract=off keeps multiply and add
 * separate. Not part of nasbench_lab: it measures what fused compiled kernels could buy. */
#include <stddef.h>
typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define KERNEL(CI, CO, R)                                                                    \
static inline void tile_##CI##_##CO##_##R(const float* restrict x, const v8* restrict W,     \
    v8 const* restrict bias, float* restrict y, int l, int L, int B, int b) {                \
  enum { NV = CO / 8 };                                                                      \
  v8 acc[R][NV];                                                                             \
  _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                        \
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] = bias[v];               \
  for (int t = 0; t < 3; t++) {                                                              \
    int j = l + t - 1; if (j < 0 || j >= L) continue;                                        \
    const float* xr = x + ((size_t)j * B + b) * CI;                                          \
    for (int ci = 0; ci < CI; ci++) {                                                        \
      const v8* wr = W + (t * CI + ci) * NV;                                                 \
      _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                  \
        float s = xr[r * CI + ci]; s = s > 0.f ? s : 0.f;                                    \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[r][v] += s * wr[v]; } } }   \
  float* yr = y + ((size_t)l * B + b) * CO;                                                  \
  _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                        \
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                     \
      __builtin_memcpy(yr + r * CO + v * 8, &acc[r][v], 32);                                 \
}
#define DRIVER(C, R)                                                                         \
KERNEL(C, C, R) KERNEL(C, C, 1)                                                              \
void rcb3_##C(const float* x, const float* w, const float* bias, float* y, int L, int B) {  \
  for (int l = 0; l < L; l++) { int b = 0;                                                   \
    for (; b + R <= B; b += R) tile_##C##_##C##_##R(x, (const v8*)w, (const v8*)bias, y, l, L, B, b); \
    for (; b < B; b++) tile_##C##_##C##_1(x, (const v8*)w, (const v8*)bias, y, l, L, B, b); } }
DRIVER(8, 8)
DRIVER(16, 4)
DRIVER(32, 2)
