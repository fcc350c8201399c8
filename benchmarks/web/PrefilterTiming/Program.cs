using System.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Search;
using EmbedSharp.Tables;

// The explorer's neighbour search in process: batches of M exact cosine queries (27 candidates: k=10, the
// query's own row and the batcher's margin of 16) on ROWS × DIMS clustered rows like make_table.py's, through
// the 8-bit pre-filter (K' = 256, as `serve` runs it) against the float one-pass scan (the peer), one thread,
// alternating the two for each batch. Prints best and median wall per batch, the pre-filter's fallbacks, and
// whether every answer equals the float scan's. Usage: PrefilterTiming [ROWS=100000] [DIMS=300] [BATCHES=40]
int rows = args.Length > 0 ? int.Parse(args[0]) : 100_000;
int dims = args.Length > 1 ? int.Parse(args[1]) : 300;
int batches = args.Length > 2 ? int.Parse(args[2]) : 40;
const int candidates = 27;
var rng = new SeededRandom(24);
var centres = new float[200 * dims];
for (int i = 0; i < centres.Length; i++)
    centres[i] = (float)rng.NextNormal();
using var table = new EmbeddingTable(rows, dims);
var row = new float[dims];
for (int r = 0; r < rows; r++)
{
    int c = rng.NextInt(200);
    for (int d = 0; d < dims; d++)
        row[d] = centres[c * dims + d] + 0.6f * (float)rng.NextNormal();
    table.WriteRow(r, row);
}
using var pre = new ExactIndex(table, SimilarityMetric.Cosine) { PrefilterCandidates = 256 };
using var plain = new ExactIndex(table, SimilarityMetric.Cosine);
pre.WarmPrefilter();
Console.WriteLine($"prefilter accelerated (AVX-VNNI): {ExactIndex.PrefilterAccelerated}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
foreach (int m in new[] { 1, 4, 8, 16 })
{
    var queries = new float[m * dims];
    var times = (Pre: new List<double>(), Plain: new List<double>());
    var (used0, fallbacks0) = pre.PrefilterCounts;
    int differences = 0;
    for (int b = -3; b < batches; b++)
    {
        for (int i = 0; i < m; i++)
            table.ReadRow(rng.NextInt(rows), queries.AsSpan(i * dims, dims));
        var watch = Stopwatch.StartNew();
        var found = pre.SearchBatch(queries, candidates, null, threads: 1);
        double tPre = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        var expected = plain.SearchBatch(queries, candidates, null, threads: 1);
        double tPlain = watch.Elapsed.TotalMilliseconds;
        if (b < 0)
            continue; // warm-up
        times.Pre.Add(tPre);
        times.Plain.Add(tPlain);
        for (int i = 0; i < m; i++)
        {
            if (expected[i].SequenceEqual(found[i]))
                continue;
            differences++;
            int at = 0;
            while (at < Math.Min(expected[i].Length, found[i].Length) && expected[i][at] == found[i][at])
                at++;
            string Show(Neighbor[] list) => at < list.Length ? $"{list[at].Index}:{list[at].Score:R}" : "none";
            Console.WriteLine($"  differs at position {at} of {candidates}: float {Show(expected[i])}, pre-filter {Show(found[i])}; " +
                $"the float scan's last {expected[i][^1].Score:R}, the pre-filter's {found[i][^1].Score:R}");
        }
    }
    var (used, fallbacks) = pre.PrefilterCounts;
    times.Pre.Sort();
    times.Plain.Sort();
    double bestPre = times.Pre[0], bestPlain = times.Plain[0], medPre = times.Pre[batches / 2], medPlain = times.Plain[batches / 2];
    Console.WriteLine($"RESULT m={m} prefilter best={bestPre:F2} ms median={medPre:F2} ms | float best={bestPlain:F2} ms median={medPlain:F2} ms | " +
        $"ratio best={bestPre / bestPlain:F2} median={medPre / medPlain:F2} | fallbacks={fallbacks - fallbacks0} of {used - used0} | answers differing={differences}");
}
