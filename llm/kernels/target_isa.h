// The instruction sets the SIMD kernels are compiled for, one function at a time (the rest of the
// program keeps to the baseline); the kernels are handed out only when the CPU reports them
// (vec_dot_avx2.cpp's and vec_dot_neon.cpp's checks). One place, so every kernel file agrees.
#pragma once

#if defined(__x86_64__)
#define ROCKLLM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define ROCKLLM_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))
#endif

#if defined(__aarch64__)
#define ROCKLLM_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
