// A peer for DynamicTable's lookup (issue 23, s23peer): the field's general-purpose hash map, absl::flat_hash_map
// (a Swiss table: 1-byte control bytes probed 16 at a time with SSE2, slots of key + value), used to map 1M random
// int64 keys to row indexes of a dense 1M x 128 fp32 table, against the dense gather of the same rows in the same
// process. The batches are StoreBench's: .NET's seeded Random(42) is replayed draw for draw (the row fill, the
// permutation behind the Zipf ranks, 64 uniform then 64 Zipf(1.05) batches of 4,096 ids), and the FNV-1a checksum
// of the ids printed here equals the one StoreBench prints. Key k of row r is a random int64 (splitmix64: StoreBench
// draws its keys with Random.NextInt64, the values differ, the distribution does not); key_r maps to row r, so a
// lookup copies exactly the rows the dense gather copies.
//
// Candidates (each a whole 4,096-id batch per call, T threads each taking batches t, t+T, ...; ns per id = wall
// time / ids; least of the rounds, rounds interleaved; ratio = dense ns / candidate ns, the least-of-rounds ratio
// and the median of per-round ratios):
//   dense           memcpy of each 512-byte row by index, the row 8 ids ahead prefetched (8 lines), as core does
//   absl 2-pass     per 512-id range: find every id (map.prefetch 32 ids ahead), then the dense copy over the found
//                   rows; also with the prefetch 16 or 64 ahead, and with the whole 4,096-id batch found first
//   absl fused      one pass: map.prefetch 16 ahead, find 8 ahead (row prefetched as soon as it is known), copy
//   absl plain      find + memcpy per id, no prefetch (how most code calls a map)
//   std::unordered_map  find + memcpy per id (node-based: the naive baseline)
//   (bound)         not a hash map: dense ids through a 4 MiB int32 remap array, then the copy
// absl runs with the default allocator and with a huge-page allocator (2 MiB aligned, madvise(MADV_HUGEPAGE),
// as the dense table and DynamicTable's map are).
//
// Build (one line): g++ -std=c++17 -O2 -march=native -o /tmp/peer-hashmap benchmarks/stores/peer-hashmap.cc
//          -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set -lpthread
// Run:   flock /tmp/embedsharp-bench.lock /tmp/peer-hashmap [rounds=7] [reps=4]
#include <absl/container/flat_hash_map.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <immintrin.h>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unordered_map>
#include <vector>

static constexpr int kRows = 1000000, kDims = 128, kBatch = 4096, kBatches = 64, kRowBytes = kDims * 4;

// .NET's Random(int seed) (the Net5CompatSeedImpl a seeded Random uses: Knuth's subtractive generator).
struct DotNetRandom {
  int seed[56];
  int inext = 0, inextp = 21;
  explicit DotNetRandom(int s) {
    int subtraction = s == INT32_MIN ? INT32_MAX : std::abs(s);
    int mj = 161803398 - subtraction;
    seed[55] = mj;
    int mk = 1, ii = 0;
    for (int i = 1; i < 55; i++) {
      if ((ii += 21) >= 55) ii -= 55;
      seed[ii] = mk;
      mk = mj - mk;
      if (mk < 0) mk += INT32_MAX;
      mj = seed[ii];
    }
    for (int k = 1; k < 5; k++)
      for (int i = 1; i < 56; i++) {
        int n = i + 30;
        if (n >= 55) n -= 55;
        seed[i] -= seed[1 + n];
        if (seed[i] < 0) seed[i] += INT32_MAX;
      }
  }
  int InternalSample() {
    int a = inext + 1 >= 56 ? 1 : inext + 1;
    int b = inextp + 1 >= 56 ? 1 : inextp + 1;
    int r = seed[a] - seed[b];
    if (r == INT32_MAX) r--;
    if (r < 0) r += INT32_MAX;
    seed[a] = r;
    inext = a;
    inextp = b;
    return r;
  }
  double NextDouble() { return InternalSample() * (1.0 / INT32_MAX); }
  int Next() { return InternalSample(); }
  int Next(int max) { return (int)(NextDouble() * max); }
};

static uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static void* HugeAlloc(size_t bytes) {
  size_t huge = size_t(1) << 21, n = (bytes + huge - 1) & ~(huge - 1);
  void* p = aligned_alloc(huge, n);
  if (!p) { std::fprintf(stderr, "error: out of memory (%zu bytes)\n", n); std::exit(1); }
  madvise(p, n, MADV_HUGEPAGE);
  return p;
}

// An allocator that puts blocks of 2 MiB and more on huge pages (what the dense table and our map get).
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U> HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes >= (size_t(1) << 21)) return static_cast<T*>(HugeAlloc(bytes));
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U> bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U> bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

using AbslMap = absl::flat_hash_map<int64_t, uint32_t>;
using AbslHugeMap = absl::flat_hash_map<int64_t, uint32_t, absl::Hash<int64_t>, std::equal_to<int64_t>,
                                        HugePageAllocator<std::pair<const int64_t, uint32_t>>>;

static float* g_rows;

static inline void PrefetchRow(const float* row) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int l = 0; l < kRowBytes; l += 64) _mm_prefetch(p + l, _MM_HINT_T0);
}

// The dense gather: rows by index, the row 8 ids ahead prefetched (core's GatherRows: distance 8, whole row).
static void DenseGather(const int* idx, int n, float* out) {
  for (int i = 0; i < n; i++) {
    if (i + 8 < n) PrefetchRow(g_rows + (size_t)idx[i + 8] * kDims);
    std::memcpy(out + (size_t)i * kDims, g_rows + (size_t)idx[i] * kDims, kRowBytes);
  }
}

// Resolve then copy, per 512-id range: every id found (the map's own prefetch 32 ids ahead), then the dense copy.
// An unknown id reads the default row (zeros) — never taken here, kept so the code is a real lookup.
template <int kRange, int kAhead, class Map>
static void TwoPass(const Map& m, const int64_t* ids, int n, float* out) {
  int slots[kRange];
  bool missing = false;
  for (int s = 0; s < n; s += kRange) {
    int len = std::min(kRange, n - s);
    for (int k = 0; k < len; k++) {
      if (k + kAhead < len) m.prefetch(ids[s + k + kAhead]);
      auto it = m.find(ids[s + k]);
      if (it == m.end()) { slots[k] = -1; missing = true; } else slots[k] = (int)it->second;
    }
    if (!missing) { DenseGather(slots, len, out + (size_t)s * kDims); continue; }
    for (int k = 0; k < len; k++)
      if (slots[k] < 0) std::memset(out + (size_t)(s + k) * kDims, 0, kRowBytes);
      else std::memcpy(out + (size_t)(s + k) * kDims, g_rows + (size_t)slots[k] * kDims, kRowBytes);
  }
}

// One pass: map line prefetched 16 ids ahead, the id 8 ahead found and its row prefetched, the current row copied.
template <class Map>
static void Fused(const Map& m, const int64_t* ids, int n, float* out) {
  constexpr int kMapAhead = 16, kRowAhead = 8;
  int ring[kRowAhead];
  auto resolve = [&](int i) {
    auto it = m.find(ids[i]);
    int r = it == m.end() ? -1 : (int)it->second;
    if (r >= 0) PrefetchRow(g_rows + (size_t)r * kDims);
    ring[i % kRowAhead] = r;
  };
  for (int i = 0; i < std::min(n, kMapAhead); i++) m.prefetch(ids[i]);
  for (int i = 0; i < std::min(n, kRowAhead); i++) resolve(i);
  for (int i = 0; i < n; i++) {
    if (i + kMapAhead < n) m.prefetch(ids[i + kMapAhead]);
    int r = ring[i % kRowAhead];
    if (i + kRowAhead < n) resolve(i + kRowAhead);
    float* dst = out + (size_t)i * kDims;
    if (r < 0) std::memset(dst, 0, kRowBytes); else std::memcpy(dst, g_rows + (size_t)r * kDims, kRowBytes);
  }
}

template <class Map>
static void Plain(const Map& m, const int64_t* ids, int n, float* out) {
  for (int i = 0; i < n; i++) {
    auto it = m.find(ids[i]);
    float* dst = out + (size_t)i * kDims;
    if (it == m.end()) std::memset(dst, 0, kRowBytes);
    else std::memcpy(dst, g_rows + (size_t)it->second * kDims, kRowBytes);
  }
}

// Not a hash map (a bound): ids already dense, reached through a 4 MiB int32 remap array (id -> row), then the
// dense copy. What a lookup costs when its table is small enough to stay mostly in cache.
static std::vector<int32_t> g_remap;
static void RemapGather(const int* ids, int n, float* out) {
  constexpr int kRange = 512;
  int slots[kRange];
  for (int s = 0; s < n; s += kRange) {
    int len = std::min(kRange, n - s);
    for (int k = 0; k < len; k++) {
      if (k + 32 < len) _mm_prefetch(reinterpret_cast<const char*>(&g_remap[ids[s + k + 32]]), _MM_HINT_T0);
      slots[k] = g_remap[ids[s + k]];
    }
    DenseGather(slots, len, out + (size_t)s * kDims);
  }
}

// Lookups alone (the 2-pass form's first pass over the whole batch), to see where the time goes.
static std::atomic<long> g_sink{0};
template <class Map>
static void FindOnly(const Map& m, const int64_t* ids, int n, float*) {
  long sum = 0;
  for (int k = 0; k < n; k++) {
    if (k + 32 < n) m.prefetch(ids[k + 32]);
    auto it = m.find(ids[k]);
    sum += it == m.end() ? -1 : it->second;
  }
  g_sink.fetch_add(sum, std::memory_order_relaxed);
}

struct Candidate { std::string name; std::function<void(int, float*)> body; };

static double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ns per id of `body` run by `threads` threads, each calling it on batches t, t+threads, ... (reps passes over the
// 64 batches in all), and the process CPU ns per id.
// Process CPU time: on a loaded machine it moves far less than wall time (waiting for a core is not counted).
static double CpuNow() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double Measure(const Candidate& c, int threads, int reps, std::vector<float*>& outs, double& cpuNsPerId) {
  int total = kBatches * reps;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  double start = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++)
    pool.emplace_back([&, t] {
      ready++;
      while (!go.load(std::memory_order_acquire)) {}
      for (int b = t; b < total; b += threads) c.body(b % kBatches, outs[t]);
    });
  while (ready.load() < threads) {}
  double cpu0 = CpuNow();
  start = Now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  double wall = Now() - start;
  // The spinning waiters' CPU before `go` is outside [cpu0, now] except for the last few microseconds.
  cpuNsPerId = (CpuNow() - cpu0) / (double(total) * kBatch) * 1e9;
  return wall / (double(total) * kBatch) * 1e9;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 7, reps = argc > 2 ? std::atoi(argv[2]) : 4;
  if (rounds < 1 || reps < 1) { std::fprintf(stderr, "error: [peer-hashmap] rounds and reps must be >= 1\n"); return 2; }
  // StoreBench's draws, in its order: the row fill, the permutation, 64 uniform batches, 64 Zipf batches.
  DotNetRandom rng(42);
  g_rows = static_cast<float*>(HugeAlloc((size_t)kRows * kRowBytes));
  for (size_t i = 0; i < (size_t)kRows * kDims; i++) g_rows[i] = (float)(rng.NextDouble() - 0.5);
  std::vector<int> order(kRows), perm(kRows);
  {
    std::vector<int> sortKey(kRows);
    for (int i = 0; i < kRows; i++) { sortKey[i] = rng.Next(); order[i] = i; }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sortKey[a] < sortKey[b]; });
    perm = order;
  }
  std::vector<double> cdf(kRows);
  {
    double sum = 0;
    for (int k = 0; k < kRows; k++) { sum += 1.0 / std::pow(k + 1, 1.05); cdf[k] = sum; }
    for (int k = 0; k < kRows; k++) cdf[k] /= sum;
  }
  std::vector<std::vector<int>> streams[2];
  for (int z = 0; z < 2; z++)
    for (int b = 0; b < kBatches; b++) {
      std::vector<int> ids(kBatch);
      for (int i = 0; i < kBatch; i++) {
        if (!z) { ids[i] = rng.Next(kRows); continue; }
        double u = rng.NextDouble();
        // Array.BinarySearch: the index of an equal element, else the insertion point.
        auto it = std::lower_bound(cdf.begin(), cdf.end(), u);
        int k = (int)(it - cdf.begin());
        ids[i] = perm[std::min(kRows - 1, k)];
      }
      streams[z].push_back(std::move(ids));
    }
  uint64_t fnv = 14695981039346656037ULL;
  for (int z = 0; z < 2; z++)
    for (auto& b : streams[z])
      for (int id : b) { fnv ^= (uint32_t)id; fnv *= 1099511628211ULL; }

  std::vector<int64_t> keys(kRows);
  {
    uint64_t s = 42;
    absl::flat_hash_map<int64_t, int> seen;
    seen.reserve(kRows);
    for (int r = 0; r < kRows; r++) {
      int64_t k;
      do k = (int64_t)SplitMix(s); while (!seen.emplace(k, r).second);
      keys[r] = k;
    }
  }
  g_remap.resize(kRows);
  for (int r = 0; r < kRows; r++) g_remap[r] = r;
  AbslMap absl;
  AbslHugeMap abslHuge;
  std::unordered_map<int64_t, uint32_t> stdMap;
  absl.reserve(kRows);
  abslHuge.reserve(kRows);
  stdMap.reserve(kRows);
  for (int r = 0; r < kRows; r++) { absl.emplace(keys[r], r); abslHuge.emplace(keys[r], r); stdMap.emplace(keys[r], r); }

  size_t cap = abslHuge.capacity();
  double abslBytes = cap * (double)sizeof(std::pair<int64_t, uint32_t>) + cap + 1 + 16;
  std::printf("# peer-hashmap: %d x %d fp32 rows (huge pages), batches of %d, %d batches a stream, %d rounds "
              "interleaved, %d passes over the batches a measurement; least ns per id\n",
              kRows, kDims, kBatch, kBatches, rounds, reps);
  std::printf("# id streams FNV-1a %016llx (StoreBench prints the same for its batches)\n", (unsigned long long)fnv);
  std::printf("# absl::flat_hash_map<int64_t, uint32_t>: capacity %zu (load %.2f), slot %zu B: %.0f B a live row "
              "for the map, %.0f B with the row; std::unordered_map buckets %zu\n",
              cap, (double)kRows / cap, sizeof(std::pair<int64_t, uint32_t>), abslBytes / kRows,
              abslBytes / kRows + kRowBytes, stdMap.bucket_count());

  const char* names[2] = {"uniform", "zipf 1.05"};
  for (int z = 0; z < 2; z++) {
    std::vector<std::vector<int64_t>> keyBatches;
    for (auto& b : streams[z]) {
      std::vector<int64_t> kb(kBatch);
      for (int i = 0; i < kBatch; i++) kb[i] = keys[b[i]];
      keyBatches.push_back(std::move(kb));
    }
    auto& ib = streams[z];
    std::vector<Candidate> cands = {
        {"dense gather (memcpy by index, prefetch 8 ahead)", [&](int b, float* o) { DenseGather(ib[b].data(), kBatch, o); }},
        {"absl 2-pass, huge pages", [&](int b, float* o) { TwoPass<512, 32>(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"absl 2-pass, huge pages, map.prefetch 16 ahead", [&](int b, float* o) { TwoPass<512, 16>(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"absl 2-pass, huge pages, map.prefetch 64 ahead", [&](int b, float* o) { TwoPass<512, 64>(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"absl 2-pass, huge pages, the whole batch resolved first", [&](int b, float* o) { TwoPass<kBatch, 32>(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"absl fused, huge pages", [&](int b, float* o) { Fused(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"absl 2-pass, default allocator", [&](int b, float* o) { TwoPass<512, 32>(absl, keyBatches[b].data(), kBatch, o); }},
        {"absl fused, default allocator", [&](int b, float* o) { Fused(absl, keyBatches[b].data(), kBatch, o); }},
        {"absl plain find + memcpy, huge pages", [&](int b, float* o) { Plain(abslHuge, keyBatches[b].data(), kBatch, o); }},
        {"std::unordered_map find + memcpy", [&](int b, float* o) { Plain(stdMap, keyBatches[b].data(), kBatch, o); }},
        {"(bound, not a hash map: a 4 MiB int32 remap of dense ids, then the copy)", [&](int b, float* o) { RemapGather(ib[b].data(), kBatch, o); }},
        {"(absl finds alone, prefetch 32 ahead, huge pages)", [&](int b, float* o) { FindOnly(abslHuge, keyBatches[b].data(), kBatch, o); }},
    };
    // Every lookup form must copy what the dense gather copies.
    {
      std::vector<float> want((size_t)kBatch * kDims), got((size_t)kBatch * kDims);
      for (int b : {0, 17, 63}) {
        DenseGather(ib[b].data(), kBatch, want.data());
        for (size_t c = 1; c + 1 < cands.size(); c++) {
          std::fill(got.begin(), got.end(), -1.0f);
          cands[c].body(b, got.data());
          if (std::memcmp(want.data(), got.data(), want.size() * 4) != 0) {
            std::fprintf(stderr, "error: [peer-hashmap] %s copied other rows than the dense gather\n", cands[c].name.c_str());
            return 1;
          }
        }
      }
    }
    for (int threads : {1, 2}) {
      std::vector<float*> outs;
      for (int t = 0; t < threads; t++) outs.push_back(static_cast<float*>(HugeAlloc((size_t)kBatch * kRowBytes)));
      double cpu;
      for (auto& c : cands) Measure(c, threads, 1, outs, cpu);  // warm-up
      std::vector<std::vector<double>> ns(cands.size()), cpuNs(cands.size());
      for (int r = 0; r < rounds; r++)
        for (size_t c = 0; c < cands.size(); c++) {
          ns[c].push_back(Measure(cands[c], threads, reps, outs, cpu));
          cpuNs[c].push_back(cpu);
        }
      std::printf("\n| ids | threads | what | wall ns per id (least) | M ids/s | vs dense: least / median of rounds | CPU ns per id (least; vs dense) |\n|---|---|---|---:|---:|---|---|\n");
      double dense = *std::min_element(ns[0].begin(), ns[0].end());
      double denseCpu = *std::min_element(cpuNs[0].begin(), cpuNs[0].end());
      for (size_t c = 0; c < cands.size(); c++) {
        double best = *std::min_element(ns[c].begin(), ns[c].end());
        double bestCpu = *std::min_element(cpuNs[c].begin(), cpuNs[c].end());
        std::vector<double> ratio;
        for (int r = 0; r < rounds; r++) ratio.push_back(ns[0][r] / ns[c][r]);
        std::sort(ratio.begin(), ratio.end());
        std::printf("| %s | %d | %s | %.1f | %.2f | %.2fx / %.2fx | %.1f (%.2fx) |\n", names[z], threads, cands[c].name.c_str(),
                    best, 1e3 / best, dense / best, ratio[ratio.size() / 2], bestCpu, bestCpu / denseCpu);
      }
      for (float* o : outs) std::free(o);
      std::fflush(stdout);
    }
  }
  return 0;
}
