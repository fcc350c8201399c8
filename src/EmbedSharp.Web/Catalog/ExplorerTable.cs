using System.Collections.Concurrent;
using EmbedSharp.Formats;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Web.Catalog;

/// <summary>
/// One served table: its words and vectors, how neighbours are answered (exact scans folded into
/// batches, or an index file's approximate search re-ranked exactly), and its quantized forms made on first use.
/// </summary>
internal sealed class ExplorerTable : IDisposable
{
    private readonly Lazy<QuantizedForm>[] _quantized;
    private readonly Lazy<string[]> _sortedWords;
    private readonly Lazy<(double, double, int[])> _norms;
    private readonly ConcurrentDictionary<(string Word, int K), WordSimilarity[]> _neighbourCache = new();
    private readonly IDisposable[] _owned;
    private readonly ExactIndex? _exact;
    private readonly NeighbourBatcher? _batcher;
    private readonly IVectorIndex? _ann;

    private ExplorerTable(string name, string format, KeyedVectors keyed, VectorFile? file, IVectorIndex? ann, string? stored, IDisposable[] owned)
    {
        Name = name;
        Format = format;
        Keyed = keyed;
        File = file;
        Stored = stored;
        _owned = owned;
        keyed.FillNorms();
        if (ann is null)
        {
            _exact = new ExactIndex(keyed.Table, SimilarityMetric.Cosine);
            // The exact 8-bit pre-filter reads a quarter of the bytes with integer dot products; answers are
            // the float scan's (the index proves each one or scans in full). Without AVX-VNNI it would be slower.
            if (ExactIndex.PrefilterAccelerated)
                _exact.PrefilterCandidates = PrefilterCandidates;
            _batcher = new NeighbourBatcher(_exact);
        }
        else
        {
            _ann = ann;
            IndexDescription = TableSources.Describe(ann);
        }
        _quantized = [new(() => QuantizedForm.Make(keyed, 8)), new(() => QuantizedForm.Make(keyed, 4))];
        _sortedWords = new(() => [.. keyed.Words.Order(StringComparer.OrdinalIgnoreCase)]);
        _norms = new(() => NormHistogram(keyed.Table, 40));
    }

    /// <summary>Candidates the exact pre-filter re-scores in float per query (enough that the bound almost always decides).</summary>
    internal const int PrefilterCandidates = 256;

    public string Name { get; }

    /// <summary>What the file is: a vector format's name, "mlx checkpoint", or the index kind.</summary>
    public string Format { get; }

    /// <summary>The vector file (for fastText subwords); null for checkpoints and index files.</summary>
    public VectorFile? File { get; }

    public KeyedVectors Keyed { get; }

    /// <summary>How the rows are stored when that is not plain floats (an MLX quantized layer); null otherwise.</summary>
    public string? Stored { get; }

    /// <summary>The index answering neighbours approximately (kind and settings); null when they are exact.</summary>
    public string? IndexDescription { get; }

    /// <summary>True when neighbours come from an approximate index (re-ranked exactly) rather than an exact scan.</summary>
    public bool Approximate => _ann is not null;

    /// <summary>The exact batcher (null for index files): tests read its batch counts.</summary>
    internal NeighbourBatcher? Batcher => _batcher;

    /// <summary>The exact index over the rows (null for index files).</summary>
    internal ExactIndex? Exact => _exact;

    public static ExplorerTable Open(string name, string path)
    {
        if (Directory.Exists(path))
        {
            var (keyed, stored, owned) = TableSources.OpenMlx(path);
            return Make(() => new ExplorerTable(name, "mlx checkpoint", keyed, null, null, stored, owned), owned);
        }
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException($"[serve] no such file: {path}", path);
        if (TableSources.IsIndexFile(path))
        {
            var (keyed, index) = TableSources.OpenIndex(path);
            IDisposable[] owned = index is IDisposable d ? [keyed, d] : [keyed];
            return Make(() => new ExplorerTable(name, TableSources.Kind(index), keyed, null, index, null, owned), owned);
        }
        var file = VectorFile.Open("serve", path);
        return Make(() => new ExplorerTable(name, file.Format.Name, file.Keyed("serve"), file, null, null, [file]), [file]);
    }

    private static ExplorerTable Make(Func<ExplorerTable> make, IDisposable[] owned)
    {
        try
        {
            return make();
        }
        catch
        {
            foreach (var d in owned)
                d.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs what the first requests would otherwise pay for: the exact index's 8-bit copy, one batched and
    /// one single search, and a small PCA and t-SNE of the first rows, so the code they run is compiled and
    /// the thread pool is awake. Called once in the background when the server starts; answers nothing.
    /// </summary>
    public void Warm(CancellationToken token)
    {
        int rows = Keyed.Count, dims = Keyed.Dims;
        if (rows == 0)
            return;
        if (_exact is not null)
        {
            _exact.WarmPrefilter();
            int m = Math.Min(rows, 4);
            var queries = new float[m * dims];
            for (int i = 0; i < m; i++)
                Keyed.Table.ReadRow(i * (rows / m), queries.AsSpan(i * dims, dims));
            _exact.SearchBatch(queries, NeighbourBatcher.Candidates(10));
            _exact.Search(queries.AsSpan(0, dims), NeighbourBatcher.Candidates(10));
        }
        int n = Math.Min(rows, WarmPoints);
        if (n < 4 || token.IsCancellationRequested)
            return;
        var data = new float[n * dims];
        for (int i = 0; i < n; i++)
            Keyed.GetVector(Keyed.Words[i], normalized: true).CopyTo(data.AsSpan(i * dims, dims));
        var layout = new float[2 * n];
        Kernels.Pca(data, n, dims, 2, layout);
        Kernels.Tsne(data, n, dims, layout, new TsneOptions { Iterations = WarmIterations, ExaggerationIterations = WarmIterations / 2, CancellationToken = token });
    }

    /// <summary>Points and iterations of the start-up t-SNE (enough calls for the runtime to optimise its loops).</summary>
    private const int WarmPoints = 1000, WarmIterations = 100;

    /// <summary>Whether the vocabulary holds the word.</summary>
    public bool Contains(string word) => Keyed.Contains(word);

    /// <summary>
    /// The k nearest words of a vocabulary word, the word itself left out. The table is read-only, so
    /// answers are kept (up to 50,000 of them; the cache is emptied when full) and a repeated question
    /// is not recomputed.
    /// </summary>
    public async Task<WordSimilarity[]> NeighboursAsync(string word, int k)
    {
        if (_neighbourCache.TryGetValue((word, k), out var hit))
            return hit;
        int row = Keyed.GetIndex(word);
        var result = await SearchAsync(Keyed.GetVector(word), k, row);
        if (_neighbourCache.Count >= 50_000)
            _neighbourCache.Clear();
        _neighbourCache[(word, k)] = result;
        return result;
    }

    /// <summary>The k words nearest a vector (an out-of-vocabulary word's subword vector); none left out.</summary>
    public Task<WordSimilarity[]> SimilarByVectorAsync(float[] vector, int k) => SearchAsync(vector, k, -1);

    private async Task<WordSimilarity[]> SearchAsync(float[] query, int k, int exclude)
    {
        Neighbor[] found = _batcher is not null
            ? await _batcher.SearchAsync(query, k, exclude)
            : await Task.Run(() => TableSources.SearchIndex(_ann!, Keyed.Table, query, k, exclude));
        var words = Keyed.Words;
        return [.. found.Select(n => new WordSimilarity(words[n.Index], n.Score))];
    }
    /// <summary>The 8-bit or 4-bit form (made, dequantized and reported on at first use).</summary>
    public QuantizedForm Quantized(int bits) => _quantized[bits == 8 ? 0 : 1].Value;

    /// <summary>Row norms: smallest, largest and a 40-bin histogram between them (computed once).</summary>
    public (double Min, double Max, int[] Counts) Norms => _norms.Value;

    /// <summary>Words in case-insensitive order, for completion by binary search.</summary>
    public string[] SortedWords => _sortedWords.Value;

    /// <summary>
    /// The k nearest words of a vocabulary word. The table is read-only, so answers are kept (up to
    /// 50,000 of them; the cache is emptied when full) and a repeated question is not recomputed.
    /// </summary>
    public WordSimilarity[] Neighbours(string word, int k)
    {
        if (_neighbourCache.TryGetValue((word, k), out var hit))
            return hit;
        var result = Keyed.MostSimilar(word, k);
        if (_neighbourCache.Count >= 50_000)
            _neighbourCache.Clear();
        _neighbourCache[(word, k)] = result;
        return result;
    }

    private static (double, double, int[]) NormHistogram(EmbeddingTable table, int bins)
    {
        var norms = new double[table.NumEmbeddings];
        var row = new float[table.Dims];
        for (int r = 0; r < norms.Length; r++)
        {
            table.ReadRow(r, row);
            norms[r] = System.Numerics.Tensors.TensorPrimitives.Norm(row);
        }
        var counts = new int[bins];
        if (norms.Length == 0)
            return (0, 0, counts);
        double min = norms.Min(), max = norms.Max();
        double width = max > min ? (max - min) / bins : 1;
        foreach (double n in norms)
            counts[Math.Min(bins - 1, (int)((n - min) / width))]++;
        return (min, max, counts);
    }

    public void Dispose()
    {
        foreach (var q in _quantized)
            if (q.IsValueCreated)
                q.Value.Dispose();
        _exact?.Dispose();
        foreach (var d in _owned)
            d.Dispose();
    }
}

/// <summary>
/// A table quantized and dequantized back, for neighbour comparisons: MLX's affine scheme when
/// the row length allows (groups of 64 or 32), FBGEMM's row-wise scheme otherwise.
/// </summary>
internal sealed class QuantizedForm : IDisposable
{
    private QuantizedForm(string scheme, int bits, KeyedVectors keyed, QuantizationReport report)
    {
        Scheme = scheme;
        Bits = bits;
        Keyed = keyed;
        Report = report;
    }

    public string Scheme { get; }

    public int Bits { get; }

    public KeyedVectors Keyed { get; }

    public QuantizationReport Report { get; }

    public static QuantizedForm Make(KeyedVectors original, int bits)
    {
        var table = original.Table;
        EmbeddingTable dense = table.DType == DType.Float32 ? table : table.Clone(DType.Float32);
        try
        {
            IQuantizedRows quantized;
            string scheme;
            if (table.Dims % 32 == 0)
            {
                int groupSize = table.Dims % 64 == 0 ? 64 : 32;
                quantized = QuantizedTable.Quantize(dense, groupSize, bits);
                scheme = $"MLX affine, {bits}-bit, group size {groupSize}";
            }
            else
            {
                if (bits == 4 && table.Dims % 2 != 0)
                    throw new ArgumentException($"[compare] dims {table.Dims} is odd: 4-bit row-wise quantization packs two values a byte and needs an even row length");
                quantized = RowwiseQuantizedTable.Quantize(dense, bits);
                scheme = $"FBGEMM row-wise, {bits}-bit (dims {table.Dims} is not a multiple of 32)";
            }
            var report = QuantizationReport.Compare(dense, quantized);
            var back = quantized switch
            {
                QuantizedTable q => q.Dequantize(DType.Float32),
                RowwiseQuantizedTable r => r.Dequantize(),
                _ => throw new InvalidOperationException("[compare] unknown quantized form"),
            };
            var keyed = new KeyedVectors(original.Words, back, ownsTable: true);
            keyed.FillNorms();
            return new QuantizedForm(scheme, bits, keyed, report);
        }
        finally
        {
            if (!ReferenceEquals(dense, table))
                dense.Dispose();
        }
    }

    public void Dispose() => Keyed.Dispose();
}
