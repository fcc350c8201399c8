// The hnswlib peer built the way `pip install hnswlib` builds it (-O3 -march=native), from Debian's
// header-only libhnswlib-dev. ann_bench.py compiles it into a temporary folder and runs:
//   hnswlib_native BASE.npy QUERIES.npy OUT_PREFIX BUILD_THREADS QUERY_THREADS[,...] EF[,EF...]
// It builds M16 efConstruction 200 over BASE (inner product, seed 100 — as the Python peer), then for
// each query thread count and ef answers every query (k = 10, best of two passes) and prints one JSON line per ef with the
// queries/s (wall and per CPU-second); the ids (int32, queries × 10, best first) go to OUT_PREFIX.t<THREADS>.ef<EF>.i32 for the recall.
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static std::vector<float> load_npy(const char* path, size_t& rows, size_t& cols) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(std::string("cannot open ") + path);
    char magic[8];
    f.read(magic, 8);
    if (std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(std::string(path) + " is not .npy");
    size_t header_len;
    if (magic[6] == 1) {
        unsigned char b[2];
        f.read(reinterpret_cast<char*>(b), 2);
        header_len = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        f.read(reinterpret_cast<char*>(b), 4);
        header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (size_t(b[3]) << 24);
    }
    std::string header(header_len, ' ');
    f.read(&header[0], header_len);
    if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
        throw std::runtime_error(std::string(path) + " is not a C-order float32 array");
    size_t s = header.find('(', header.find("'shape'"));
    if (std::sscanf(header.c_str() + s, "(%zu, %zu)", &rows, &cols) != 2)
        throw std::runtime_error(std::string(path) + " is not two-dimensional");
    std::vector<float> data(rows * cols);
    f.read(reinterpret_cast<char*>(data.data()), data.size() * sizeof(float));
    if (!f) throw std::runtime_error(std::string(path) + " is truncated");
    return data;
}

template <class F>
static void parallel_for(size_t n, int threads, F fn) {
    std::atomic<size_t> next(0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&] {
            for (size_t i; (i = next++) < n;) fn(i);
        });
    for (auto& t : pool) t.join();
}

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s BASE.npy QUERIES.npy OUT_PREFIX BUILD_THREADS QUERY_THREADS[,...] EF[,EF...]\n", argv[0]);
        return 2;
    }
    try {
        size_t n, d, nq, dq;
        auto base = load_npy(argv[1], n, d);
        auto queries = load_npy(argv[2], nq, dq);
        if (d != dq) throw std::runtime_error("base and queries differ in width");
        int build_threads = std::atoi(argv[4]);
        const size_t k = 10;
        hnswlib::InnerProductSpace space(d);
        auto t0 = std::chrono::steady_clock::now();
        hnswlib::HierarchicalNSW<float> index(&space, n, 16, 200, 100);
        index.addPoint(base.data(), 0);
        parallel_for(n - 1, build_threads, [&](size_t i) { index.addPoint(base.data() + (i + 1) * d, i + 1); });
        double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("{\"build_seconds\": %.3f, \"threads\": %d}\n", build, build_threads);
        std::fflush(stdout);
        std::vector<int> ids(nq * k);
        std::stringstream ths(argv[5]);
        std::string th;
        while (std::getline(ths, th, ',')) {
            int query_threads = std::stoi(th);
            std::stringstream efs(argv[6]);
            std::string item;
            while (std::getline(efs, item, ',')) {
                int ef = std::stoi(item);
                index.setEf(ef);
                double best = 1e30, cpu = 1e30;
                for (int rep = 0; rep < 2; rep++) {
                    auto s = std::chrono::steady_clock::now();
                    std::clock_t c = std::clock();
                    parallel_for(nq, query_threads, [&](size_t q) {
                        auto top = index.searchKnn(queries.data() + q * d, k);
                        for (size_t r = top.size(); r-- > 0; top.pop()) ids[q * k + r] = int(top.top().second);
                    });
                    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
                    cpu = std::min(cpu, double(std::clock() - c) / CLOCKS_PER_SEC);
                }
                std::string out = std::string(argv[3]) + ".t" + th + ".ef" + item + ".i32";
                std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int));
                std::printf("{\"ef\": %d, \"threads\": %d, \"qps\": %.1f, \"cpu_qps\": %.1f, \"ids\": \"%s\"}\n", ef, query_threads, nq / best, nq / cpu, out.c_str());
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hnswlib_native: %s\n", e.what());
        return 1;
    }
    return 0;
}
