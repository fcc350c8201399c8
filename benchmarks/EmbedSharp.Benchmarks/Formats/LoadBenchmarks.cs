using BenchmarkDotNet.Attributes;
using EmbedSharp.Formats;
using EmbedSharp.Formats.Mapping;
using EmbedSharp.Formats.Npy;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Benchmarks.Formats;

/// <summary>
/// Start-up of a large table: a full word2vec-binary read against memory-mapping the same table
/// converted once to .npy (+ .vocab sidecar), then touching a few rows. The target is a
/// 1 GB table: <c>--filter '*LoadBenchmarks*'</c> with <c>SizeMiB = 1024</c> (about 890k × 300);
/// the default 64 MiB keeps a casual run short. Resident memory is printed after each mode by
/// <see cref="ReportResidentMemory"/> (VmRSS on Linux), since BenchmarkDotNet only counts managed bytes.
/// </summary>
[MemoryDiagnoser]
public class LoadBenchmarks
{
    private string _dir = "";
    private string _w2v = "";
    private string _npy = "";
    private int[] _probe = [];

    [Params(64)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "embedsharp-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        (_w2v, _npy, int rows) = LoadProbe.Make(_dir, SizeMiB);
        var rng = new SeededRandom(1);
        _probe = Enumerable.Range(0, 1000).Select(_ => rng.NextInt(rows)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public float FullReadWord2VecBinary()
    {
        using var emb = Word2VecFormat.Binary.Read(_w2v);
        return Touch(emb.Table);
    }

    [Benchmark]
    public float MapNpyReadOnly()
    {
        using var emb = NpyFormat.Instance.Open(_npy, MapAccess.ReadOnly);
        return Touch(emb.Table);
    }

    [Benchmark]
    public float MapNpyCopyOnWrite()
    {
        using var emb = NpyFormat.Instance.Open(_npy, MapAccess.CopyOnWrite);
        return Touch(emb.Table);
    }

    [Benchmark]
    public float FullReadNpy()
    {
        using var emb = NpyFormat.Instance.Read(_npy);
        return Touch(emb.Table);
    }

    private float Touch(EmbeddingTable table)
    {
        float s = 0;
        foreach (int r in _probe)
            s += table.GetRow<float>(r)[0];
        return s;
    }

    /// <summary>Prints VmRSS after mapping and after a full read (call from a console session).</summary>
    public void ReportResidentMemory()
    {
        using (var mapped = NpyFormat.Instance.Open(_npy))
        {
            Touch(mapped.Table);
            Console.WriteLine($"mapped .npy, 1000 rows touched: VmRSS {Rss() >> 20} MiB");
        }
        using var full = Word2VecFormat.Binary.Read(_w2v);
        Console.WriteLine($"word2vec binary read fully: VmRSS {Rss() >> 20} MiB");
    }

    private static long Rss() =>
        File.Exists("/proc/self/status")
            ? long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024
            : Environment.WorkingSet;
}
