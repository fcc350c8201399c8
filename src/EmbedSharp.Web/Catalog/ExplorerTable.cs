using System.Collections.Concurrent;
using EmbedSharp.Formats;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Tables;

namespace EmbedSharp.Web.Catalog;

/// <summary>One served table: its words and vectors, and its quantized forms made on first use.</summary>
internal sealed class ExplorerTable : IDisposable
{
    private readonly Lazy<QuantizedForm>[] _quantized;
    private readonly Lazy<string[]> _sortedWords;
    private readonly Lazy<(double, double, int[])> _norms;
    private readonly ConcurrentDictionary<(string Word, int K), WordSimilarity[]> _neighbourCache = new();

    private ExplorerTable(string name, VectorFile file, KeyedVectors keyed)
    {
        Name = name;
        File = file;
        Keyed = keyed;
        _quantized = [new(() => QuantizedForm.Make(keyed, 8)), new(() => QuantizedForm.Make(keyed, 4))];
        _sortedWords = new(() => [.. keyed.Words.Order(StringComparer.OrdinalIgnoreCase)]);
        _norms = new(() => NormHistogram(keyed.Table, 40));
    }

    public string Name { get; }

    public VectorFile File { get; }

    public KeyedVectors Keyed { get; }

    public static ExplorerTable Open(string name, string path)
    {
        var file = VectorFile.Open("serve", path);
        try
        {
            var keyed = file.Keyed("serve");
            keyed.FillNorms();
            return new ExplorerTable(name, file, keyed);
        }
        catch
        {
            file.Dispose();
            throw;
        }
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
        File.Dispose();
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
