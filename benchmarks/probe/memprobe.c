// memprobe: the fastest this machine moves the memory traffic of an embedding lookup.
// Our own few lines, compiled by benchmarks/run.sh with `gcc -O3 -march=native`; the figures are
// the "limit" column of benchmarks/README.md. Prints one JSON object per line.
//
//   memprobe stream                         streaming read (1 GiB) and copy (512 MiB → 512 MiB)
//   memprobe gather ROWS DIMS IDS.bin T     random-row gather of the int32 ids in IDS.bin from a
//                                           ROWS × DIMS float32 table into a caller buffer, T threads;
//                                           rows copied with ordinary stores (memcpy) and with streaming
//                                           (non-temporal) stores, the faster of the two reported
//   memprobe update ROWS DIMS IDS.bin T S   one sparse optimizer step's least traffic: per id in batch order,
//                                           a gradient row read and the weight row and S state rows (0 SGD,
//                                           1 Adagrad, 2 Adam) read and written
//   memprobe bag ROWS DIMS IDS.bin T        the same ids summed in bags of 32 (embedding_bag's traffic:
//                                           random rows read, one small output row per bag), each bag's
//                                           sum held in eight registers (AVX-512: 128 columns, AVX2: 64)
//   memprobe qbag ROWS DIMS IDS.bin T L     a 4-bit, group-64 bag's least traffic: per id its DIMS/2 bytes of
//                                           codes and its DIMS/64 scales and biases read (summed, not
//                                           dequantized), bags of 32, one output row per bag. L = mlx: MLX's
//                                           three arrays (codes, scales, biases; what QuantizedTable holds);
//                                           L = fused: one record per row, codes then scales then biases
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <math.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *huge_alloc(size_t bytes) {
    size_t two_mib = (size_t)2 << 20;
    size_t size = (bytes + two_mib - 1) & ~(two_mib - 1);
    void *p = aligned_alloc(two_mib, size);
    if (!p) { fprintf(stderr, "memprobe: out of memory (%zu bytes)\n", size); exit(1); }
    madvise(p, size, MADV_HUGEPAGE);
    memset(p, 0, size);
    return p;
}

static float read_all(const float *a, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static void stream(void) {
    size_t bytes = (size_t)1 << 30, n = bytes / 4;
    float *a = huge_alloc(bytes);
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023);
    double best = 1e30; volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        double t = now(); sink += read_all(a, n); t = now() - t;
        if (t < best) best = t;
    }
    printf("{\"workload\":\"stream_read_1GiB\",\"bytes_per_second\":%.0f}\n", bytes / best);
    size_t half = bytes / 2;
    best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t = now(); memcpy((char *)a + half, a, half); t = now() - t;
        if (t < best) best = t;
    }
    // Copy moves each byte twice (read + write).
    printf("{\"workload\":\"stream_copy_512MiB\",\"bytes_per_second\":%.0f}\n", 2.0 * half / best);
    (void)sink;
    free(a);
}

typedef struct {
    const float *table; const int32_t *ids; float *out; size_t count, dims; int streaming;
    const float *grad; float *state1, *state2; int states; // update runs only
} job_t;

static void *gather_range(void *arg) {
    job_t *j = arg;
    size_t d = j->dims, row_bytes = d * 4;
    for (size_t i = 0; i < j->count; i++) {
        if (i + 8 < j->count) {
            const char *next = (const char *)(j->table + (size_t)j->ids[i + 8] * d);
            for (size_t off = 0; off < row_bytes && off < 2048; off += 64) _mm_prefetch(next + off, _MM_HINT_T0);
        }
        const float *src = j->table + (size_t)j->ids[i] * d;
        float *dst = j->out + i * d;
        if (j->streaming) {
            for (size_t k = 0; k < d; k += 8) _mm256_stream_ps(dst + k, _mm256_loadu_ps(src + k));
        } else {
            memcpy(dst, src, row_bytes);
        }
    }
    if (j->streaming) _mm_sfence();
    return NULL;
}

static void *bag_range(void *arg) {
    job_t *j = arg;
    size_t d = j->dims, row_bytes = d * 4;
    for (size_t b = 0; b + 32 <= j->count; b += 32) {
        float *acc = j->out + (b / 32) * d;
        // Register accumulators over the whole bag: 128 columns (eight 16-float vectors) at a time with
        // AVX-512, then 64 (eight 8-float vectors) with AVX2.
        size_t c = 0;
#ifdef __AVX512F__
        for (; c + 128 <= d; c += 128) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (size_t i = b; i < b + 32; i++) {
                if (c == 0 && i + 32 < j->count) {
                    const char *next = (const char *)(j->table + (size_t)j->ids[i + 32] * d);
                    for (size_t off = 0; off < row_bytes && off < 2048; off += 64) _mm_prefetch(next + off, _MM_HINT_T0);
                }
                const float *row = j->table + (size_t)j->ids[i] * d + c;
                a0 = _mm512_add_ps(a0, _mm512_loadu_ps(row));      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(row + 16));
                a2 = _mm512_add_ps(a2, _mm512_loadu_ps(row + 32)); a3 = _mm512_add_ps(a3, _mm512_loadu_ps(row + 48));
                a4 = _mm512_add_ps(a4, _mm512_loadu_ps(row + 64)); a5 = _mm512_add_ps(a5, _mm512_loadu_ps(row + 80));
                a6 = _mm512_add_ps(a6, _mm512_loadu_ps(row + 96)); a7 = _mm512_add_ps(a7, _mm512_loadu_ps(row + 112));
            }
            _mm512_storeu_ps(acc + c, a0);      _mm512_storeu_ps(acc + c + 16, a1);
            _mm512_storeu_ps(acc + c + 32, a2); _mm512_storeu_ps(acc + c + 48, a3);
            _mm512_storeu_ps(acc + c + 64, a4); _mm512_storeu_ps(acc + c + 80, a5);
            _mm512_storeu_ps(acc + c + 96, a6); _mm512_storeu_ps(acc + c + 112, a7);
        }
#endif
        for (; c + 64 <= d; c += 64) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (size_t i = b; i < b + 32; i++) {
                if (c == 0 && i + 32 < j->count) {
                    const char *next = (const char *)(j->table + (size_t)j->ids[i + 32] * d);
                    for (size_t off = 0; off < row_bytes && off < 2048; off += 64) _mm_prefetch(next + off, _MM_HINT_T0);
                }
                const float *row = j->table + (size_t)j->ids[i] * d + c;
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
                a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16)); a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
                a4 = _mm256_add_ps(a4, _mm256_loadu_ps(row + 32)); a5 = _mm256_add_ps(a5, _mm256_loadu_ps(row + 40));
                a6 = _mm256_add_ps(a6, _mm256_loadu_ps(row + 48)); a7 = _mm256_add_ps(a7, _mm256_loadu_ps(row + 56));
            }
            _mm256_storeu_ps(acc + c, a0);      _mm256_storeu_ps(acc + c + 8, a1);
            _mm256_storeu_ps(acc + c + 16, a2); _mm256_storeu_ps(acc + c + 24, a3);
            _mm256_storeu_ps(acc + c + 32, a4); _mm256_storeu_ps(acc + c + 40, a5);
            _mm256_storeu_ps(acc + c + 48, a6); _mm256_storeu_ps(acc + c + 56, a7);
        }
        for (; c < d; c++) {
            float sum = 0;
            for (size_t i = b; i < b + 32; i++) sum += j->table[(size_t)j->ids[i] * d + c];
            acc[c] = sum;
        }
    }
    return NULL;
}

// 4-bit, group-64 rows (see the header): the codes are xor-ed into a register and the scales and biases added,
// so every byte a bag must read is read, with none of the work of dequantizing. Prefetch as the bag probe does.
typedef struct {
    const uint8_t *codes; const float *scales, *biases; size_t code_stride, scale_stride; // stride: bytes per row
    const int32_t *ids; float *out; size_t count, dims;
} qjob_t;

static void *qbag_range(void *arg) {
    qjob_t *j = arg;
    size_t code_bytes = j->dims / 2, groups = j->dims / 64;
    for (size_t b = 0; b + 32 <= j->count; b += 32) {
        __m256i x = _mm256_setzero_si256();
        float sum = 0;
        for (size_t i = b; i < b + 32; i++) {
            if (i + 16 < j->count) {
                size_t ahead = (size_t)j->ids[i + 16];
                const char *c = (const char *)j->codes + ahead * j->code_stride;
                for (size_t off = 0; off < code_bytes && off < 2048; off += 64) _mm_prefetch(c + off, _MM_HINT_T0);
                _mm_prefetch((const char *)j->scales + ahead * j->scale_stride, _MM_HINT_T0);
                _mm_prefetch((const char *)j->biases + ahead * j->scale_stride, _MM_HINT_T0);
            }
            size_t row = (size_t)j->ids[i];
            const uint8_t *c = j->codes + row * j->code_stride;
            for (size_t off = 0; off + 32 <= code_bytes; off += 32) x = _mm256_xor_si256(x, _mm256_loadu_si256((const __m256i *)(c + off)));
            const float *s = (const float *)((const char *)j->scales + row * j->scale_stride);
            const float *o = (const float *)((const char *)j->biases + row * j->scale_stride);
            for (size_t g = 0; g < groups; g++) sum += s[g] + o[g];
        }
        float *acc = j->out + (b / 32) * j->dims;
        _mm256_storeu_si256((__m256i *)acc, x);
        acc[8] = sum;
    }
    return NULL;
}

// One sparse optimizer step's traffic in position order, the least a step can move: the gradient rows read in
// sequence, each id's weight row (and 1 or 2 state rows) read and written, with SGD's, Adagrad's or Adam's
// arithmetic. No sorting, no merging of repeated ids, no checks.
static void *update_range(void *arg) {
    job_t *j = arg;
    size_t d = j->dims, row_bytes = d * 4;
    float *table = (float *)j->table;
    for (size_t i = 0; i < j->count; i++) {
        if (i + 8 < j->count) {
            size_t ahead = (size_t)j->ids[i + 8] * d;
            for (size_t off = 0; off < row_bytes && off < 2048; off += 64) {
                _mm_prefetch((const char *)(table + ahead) + off, _MM_HINT_T0);
                if (j->states > 0) _mm_prefetch((const char *)(j->state1 + ahead) + off, _MM_HINT_T0);
                if (j->states > 1) _mm_prefetch((const char *)(j->state2 + ahead) + off, _MM_HINT_T0);
            }
        }
        size_t row = (size_t)j->ids[i] * d;
        float *w = table + row;
        const float *g = j->grad + i * d;
        if (j->states == 0) {
            for (size_t k = 0; k < d; k++) w[k] -= 0.01f * g[k];
        } else if (j->states == 1) {
            float *s1 = j->state1 + row;
            for (size_t k = 0; k < d; k++) { s1[k] += g[k] * g[k]; w[k] -= 0.01f * g[k] / (sqrtf(s1[k]) + 1e-10f); }
        } else {
            float *m = j->state1 + row, *v = j->state2 + row;
            for (size_t k = 0; k < d; k++) {
                m[k] = 0.9f * m[k] + 0.1f * g[k];
                v[k] = 0.999f * v[k] + 0.001f * g[k] * g[k];
                w[k] -= 1e-3f * m[k] / (sqrtf(v[k]) + 1e-8f);
            }
        }
    }
    return NULL;
}

typedef struct {
    int threads, reps;
    void *(*fn)(void *);
    job_t jobs[64];
    int arrived, phase; // spin barrier: threads that arrived, and how many times it opened
    double start, best;
    int best_streaming;
    qjob_t *qjobs; // qbag runs: fn takes these instead of jobs
} runner_t;
typedef struct { runner_t *run; int k; } run_args_t;

// A spinning barrier: a sleeping thread takes tens of microseconds to wake, too long to time a bag run.
static void spin_barrier(runner_t *run) {
    int phase = __atomic_load_n(&run->phase, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&run->arrived, 1, __ATOMIC_ACQ_REL) == run->threads) {
        __atomic_store_n(&run->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&run->phase, phase + 1, __ATOMIC_RELEASE);
    } else {
        while (__atomic_load_n(&run->phase, __ATOMIC_ACQUIRE) == phase) _mm_pause();
    }
}

// One thread of a repeated run: repetition r uses streaming stores when r is odd (gathers only; see gather()).
static void *run_worker(void *arg) {
    run_args_t *a = arg;
    runner_t *run = a->run;
    if (a->k == 0) run->best = 1e30;
    for (int r = 0; r < run->reps; r++) {
        spin_barrier(run);
        if (a->k == 0) run->start = now();
        job_t job = run->jobs[a->k];
        job.streaming = run->reps > 20 && (r & 1);
        spin_barrier(run);
        run->fn(run->qjobs ? (void *)&run->qjobs[a->k] : (void *)&job);
        spin_barrier(run);
        if (a->k == 0) {
            double t = now() - run->start;
            if (t < run->best) { run->best = t; run->best_streaming = job.streaming; }
        }
    }
    return NULL;
}

// The int32 ids of IDS.bin, each checked against the table's rows.
static int32_t *read_ids(const char *ids_path, size_t rows, size_t *count) {
    FILE *f = fopen(ids_path, "rb");
    if (!f) { fprintf(stderr, "memprobe: cannot open %s\n", ids_path); exit(1); }
    fseek(f, 0, SEEK_END); long len = ftell(f); fseek(f, 0, SEEK_SET);
    size_t n = (size_t)len / 4;
    int32_t *ids = malloc(n * 4 + 4);
    if (!ids || fread(ids, 4, n, f) != n) { fprintf(stderr, "memprobe: short read\n"); exit(1); }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= rows) { fprintf(stderr, "memprobe: id out of range\n"); exit(1); }
    *count = n;
    return ids;
}

// Starts threads-1 workers and runs as the first: each meets the others at a spinning barrier before and after
// every repetition, so thread start-up and wake-up (tens of microseconds, a large part of a sub-millisecond
// bag run) are not timed.
static void run_all(runner_t *run) {
    pthread_t th[64];
    run_args_t args[64];
    for (int k = 1; k < run->threads; k++) {
        args[k] = (run_args_t){run, k};
        pthread_create(&th[k], NULL, run_worker, &args[k]);
    }
    args[0] = (run_args_t){run, 0};
    run_worker(&args[0]);
    for (int k = 1; k < run->threads; k++) pthread_join(th[k], NULL);
}

static void gather(size_t rows, size_t dims, const char *ids_path, int threads, int bags, int states) {
    size_t n;
    int32_t *ids = read_ids(ids_path, rows, &n);
    float *table = huge_alloc(rows * dims * 4);
    for (size_t i = 0; i < rows * dims; i++) table[i] = (float)(i % 97);
    int update = states >= 0;
    float *out = huge_alloc((update ? 1 : n) * dims * 4);
    float *grad = NULL, *state1 = NULL, *state2 = NULL;
    if (update) {
        grad = huge_alloc(n * dims * 4);
        for (size_t i = 0; i < n * dims; i++) grad[i] = (float)(i % 13) * 1e-3f;
        if (states > 0) state1 = huge_alloc(rows * dims * 4);
        if (states > 1) state2 = huge_alloc(rows * dims * 4);
    }
    // Streaming stores need 32-byte aligned rows: out is 2 MiB aligned, so dims must be a multiple of 8.
    int modes = !bags && !update && dims % 8 == 0 ? 2 : 1;
    size_t per = (n + threads - 1) / threads;
    per = (per + 31) / 32 * 32; // whole bags per thread
    runner_t run = {.threads = threads, .reps = 20 * modes, .fn = update ? update_range : bags ? bag_range : gather_range};
    for (int k = 0; k < threads; k++) {
        size_t start = k * per, count = start >= n ? 0 : (n - start < per ? n - start : per);
        run.jobs[k] = (job_t){table, ids + start, update ? out : out + (bags ? start / 32 : start) * dims, count, dims, 0,
                              update ? grad + start * dims : NULL, state1, state2, states};
    }
    run_all(&run);
    double best = run.best;
    int best_streaming = run.best_streaming;
    if (update)
        printf("{\"workload\":\"update\",\"rows\":%zu,\"dims\":%zu,\"ids\":%zu,\"threads\":%d,\"states\":%d,\"seconds\":%.9f,\"ids_per_second\":%.0f}\n",
               rows, dims, n, threads, states, best, n / best);
    else if (bags)
        printf("{\"workload\":\"bag\",\"rows\":%zu,\"dims\":%zu,\"ids\":%zu,\"threads\":%d,\"seconds\":%.9f,\"ids_per_second\":%.0f}\n",
               rows, dims, n, threads, best, n / best);
    else
        printf("{\"workload\":\"gather\",\"rows\":%zu,\"dims\":%zu,\"ids\":%zu,\"threads\":%d,\"seconds\":%.9f,\"bytes_per_second\":%.0f,\"stores\":\"%s\"}\n",
               rows, dims, n, threads, best, n * dims * 4.0 / best, best_streaming ? "streaming" : "ordinary");
    free(table); free(out); free(ids); free(grad); free(state1); free(state2);
}

static void qbag(size_t rows, size_t dims, const char *ids_path, int threads, int fused) {
    size_t n;
    int32_t *ids = read_ids(ids_path, rows, &n);
    size_t code_bytes = dims / 2, groups = dims / 64, record = code_bytes + 2 * groups * 4;
    uint8_t *codes = huge_alloc(rows * record); // either layout holds the same bytes
    for (size_t i = 0; i < rows * code_bytes; i++) codes[i] = (uint8_t)(i * 37);
    const float *scales, *biases;
    size_t code_stride, scale_stride;
    if (fused) {
        code_stride = scale_stride = record;
        scales = (const float *)(codes + code_bytes);
        biases = scales + groups;
    } else {
        code_stride = code_bytes;
        scale_stride = groups * 4;
        scales = (const float *)(codes + rows * code_bytes); // three arrays, one allocation: each starts on its own lines
        biases = scales + rows * groups;
    }
    float *out = huge_alloc((n / 32 + 1) * dims * 4);
    size_t per = (n + threads - 1) / threads;
    per = (per + 31) / 32 * 32;
    qjob_t jobs[64];
    runner_t run = {.threads = threads, .reps = 20, .fn = qbag_range, .qjobs = jobs};
    for (int k = 0; k < threads; k++) {
        size_t start = k * per, count = start >= n ? 0 : (n - start < per ? n - start : per);
        jobs[k] = (qjob_t){codes, scales, biases, code_stride, scale_stride, ids + start, out + start / 32 * dims, count, dims};
    }
    run_all(&run);
    printf("{\"workload\":\"qbag_%s\",\"rows\":%zu,\"dims\":%zu,\"ids\":%zu,\"threads\":%d,\"seconds\":%.9f,\"ids_per_second\":%.0f}\n",
           fused ? "fused" : "mlx", rows, dims, n, threads, run.best, n / run.best);
    free(codes); free(out); free(ids);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "stream") == 0) { stream(); return 0; }
    if (argc >= 6 && (strcmp(argv[1], "gather") == 0 || strcmp(argv[1], "bag") == 0)) {
        int threads = atoi(argv[5]);
        if (threads < 1 || threads > 64) { fprintf(stderr, "memprobe: threads must be 1..64\n"); return 2; }
        gather(strtoull(argv[2], 0, 10), strtoull(argv[3], 0, 10), argv[4], threads, strcmp(argv[1], "bag") == 0, -1);
        return 0;
    }
    if (argc >= 7 && strcmp(argv[1], "update") == 0) {
        int threads = atoi(argv[5]), states = atoi(argv[6]);
        if (threads < 1 || threads > 64 || states < 0 || states > 2) { fprintf(stderr, "memprobe: threads 1..64, states 0..2\n"); return 2; }
        gather(strtoull(argv[2], 0, 10), strtoull(argv[3], 0, 10), argv[4], threads, 0, states);
        return 0;
    }
    if (argc >= 7 && strcmp(argv[1], "qbag") == 0) {
        int threads = atoi(argv[5]);
        int fused = strcmp(argv[6], "fused") == 0;
        size_t dims = strtoull(argv[3], 0, 10);
        if (threads < 1 || threads > 64 || (!fused && strcmp(argv[6], "mlx") != 0) || dims == 0 || dims % 64 != 0) {
            fprintf(stderr, "memprobe: qbag needs threads 1..64, DIMS a multiple of 64, layout mlx or fused\n");
            return 2;
        }
        qbag(strtoull(argv[2], 0, 10), dims, argv[4], threads, fused);
        return 0;
    }
    fprintf(stderr, "usage: memprobe stream | memprobe gather|bag ROWS DIMS IDS.bin THREADS | memprobe update ROWS DIMS IDS.bin THREADS STATES | memprobe qbag ROWS DIMS IDS.bin THREADS mlx|fused\n");
    return 2;
}
