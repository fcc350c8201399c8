using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using EmbedSharp.Formats.Mlx;
using EmbedSharp.Quantization;
using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Ivf;
using EmbedSharp.Tables;

namespace EmbedSharp.Web.Catalog;

/// <summary>
/// Tables that are not plain vector files: MLX checkpoint folders (the embedding layer, dequantized
/// for search, its packed form described) and index files written by <c>embedsharp index build</c>
/// (the vectors the index keeps, the words of its <c>.words</c> file, neighbours through the index).
/// </summary>
internal static class TableSources
{
    private const string Op = "serve";

    /// <summary>Most rows a served checkpoint or index may hold (its table is made in memory).</summary>
    public const int MaxRows = 20_000_000;

    /// <summary>Whether <paramref name="path"/> starts with an index magic (EEXI, EHNS, EIVF).</summary>
    public static bool IsIndexFile(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var f = System.IO.File.OpenRead(path);
        if (f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4)
            return false;
        return BinaryPrimitives.ReadUInt32LittleEndian(magic) is 0x534E4845 or 0x46564945 or 0x49584545;
    }

    /// <summary>Whether a folder looks like an MLX checkpoint (config.json beside safetensors weights).</summary>
    public static bool IsCheckpoint(string directory) =>
        System.IO.File.Exists(Path.Combine(directory, MlxCheckpoint.ConfigFileName))
        && Directory.EnumerateFiles(directory, "*.safetensors").Any();

    /// <summary>
    /// The embedding layer of an MLX checkpoint folder: a quantized layer (affine, mxfp4, …) is
    /// dequantized to float32 for search and its packing described; a dense 2-D weight is read as is.
    /// Words come from <c>vocab.txt</c> beside the weights (what <c>embedsharp quantize</c> writes), else the row ids.
    /// </summary>
    /// <exception cref="InvalidDataException">No embedding layer, several candidates, or a malformed file.</exception>
    public static (KeyedVectors Keyed, string? Stored, IDisposable[] Owned) OpenMlx(string directory)
    {
        using var checkpoint = MlxCheckpoint.Open(directory);
        string layer = EmbeddingLayer(checkpoint, directory);
        EmbeddingTable table;
        string? stored = null;
        if (checkpoint.IsQuantized(layer))
        {
            var packed = checkpoint.ReadQuantized(layer);
            long floatBytes = (long)packed.NumEmbeddings * packed.Dims * 4;
            stored = string.Create(CultureInfo.InvariantCulture,
                $"MLX {packed.Mode.ToString().ToLowerInvariant()} {packed.Bits}-bit, group size {packed.GroupSize} ({layer}): {packed.ByteLength:N0} bytes packed, {(double)floatBytes / packed.ByteLength:0.0}× smaller than float32; dequantized for search");
            table = packed.Dequantize(DType.Float32);
        }
        else
        {
            var dense = checkpoint.ReadTable(layer + ".weight");
            if (dense.DType == DType.Float32)
            {
                table = dense;
            }
            else
            {
                table = dense.Clone(DType.Float32);
                stored = $"{dense.DType.ToString().ToLowerInvariant()} ({layer}); widened to float32 for search";
                dense.Dispose();
            }
        }
        try
        {
            var words = CheckpointWords(directory, table.NumEmbeddings);
            var keyed = new KeyedVectors(words, table, ownsTable: true);
            return (keyed, stored, [keyed]);
        }
        catch
        {
            table.Dispose();
            throw;
        }
    }

    private static string EmbeddingLayer(MlxCheckpoint checkpoint, string directory)
    {
        var layers = checkpoint.TensorNames
            .Where(n => n.EndsWith(".weight", StringComparison.Ordinal))
            .Select(n => n[..^".weight".Length])
            .Where(l => checkpoint.IsQuantized(l) || checkpoint.GetInfo(l + ".weight").Shape.Length == 2)
            .Order(StringComparer.Ordinal)
            .ToList();
        var embeddings = layers.Where(l => l.Contains("embed", StringComparison.OrdinalIgnoreCase)).ToList();
        if (embeddings.Count == 1)
            return embeddings[0];
        if (embeddings.Count == 0 && layers.Count == 1)
            return layers[0];
        var named = embeddings.Count > 1 ? embeddings : layers;
        throw new InvalidDataException(named.Count == 0
            ? $"[{Op}] {directory} holds no 2-D weight or quantized layer to serve as an embedding table"
            : $"[{Op}] {directory} holds {named.Count} candidate embedding layers ({string.Join(", ", named.Take(5))}); keep one embedding layer in the folder, or convert it with `embedsharp convert`");
    }

    private static string[] CheckpointWords(string directory, int rows)
    {
        string vocab = Path.Combine(directory, "vocab.txt");
        if (!System.IO.File.Exists(vocab))
            return [.. Enumerable.Range(0, rows).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        var words = ReadWords(vocab, rows);
        if (words.Length != rows)
            throw new InvalidDataException($"[{Op}] {vocab} has {words.Length:N0} words but the embedding layer has {rows:N0} rows; they must match line for row");
        return words;
    }

    /// <summary>One word a line, at most <paramref name="rows"/> + 1 lines read (a longer file is reported, not loaded).</summary>
    private static string[] ReadWords(string path, int rows)
    {
        var words = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (words.Count > rows)
                break;
            if (line.Length == 0 || line.Length > 1000)
                throw new InvalidDataException($"[{Op}] {path} line {words.Count + 1}: a word must be 1–1000 characters");
            if (!seen.Add(line))
                throw new InvalidDataException($"[{Op}] {path} line {words.Count + 1}: '{(line.Length > 40 ? line[..40] + "…" : line)}' appears twice; words must be unique");
            words.Add(line);
        }
        return [.. words];
    }

    /// <summary>An index file and its words: the table is the vectors the index keeps, row = id.</summary>
    /// <exception cref="InvalidDataException">The index is damaged, has no words file, or the words do not match its ids.</exception>
    public static (KeyedVectors Keyed, IVectorIndex Index) OpenIndex(string path)
    {
        string wordsPath = IndexFile.WordsPath(path);
        if (!System.IO.File.Exists(wordsPath))
            throw new InvalidDataException($"[{Op}] {path} has no words file ({Path.GetFileName(wordsPath)}); the explorer serves indexes built from a word table (`embedsharp index build vectors.vec --out {Path.GetFileName(path)}`)");
        var index = IndexFile.Open(path);
        try
        {
            int rows = index.NumEmbeddings;
            if (rows > MaxRows)
                throw new InvalidDataException($"[{Op}] {path} holds {rows:N0} ids; the explorer serves at most {MaxRows:N0}");
            var words = ReadWords(wordsPath, rows);
            if (words.Length != rows)
                throw new InvalidDataException($"[{Op}] {wordsPath} has {words.Length:N0} words but {path} has {rows:N0} ids; they must match line for id");
            var table = new EmbeddingTable(rows, index.Dims);
            var row = new float[index.Dims];
            for (int id = 0; id < rows; id++)
            {
                if (!IndexFile.TryGetVector(index, id, row))
                {
                    table.Dispose();
                    throw new InvalidDataException($"[{Op}] {path}: id {id} ('{words[id]}') has no stored vector (removed); serve an index without removed ids");
                }
                table.WriteRow(id, row);
            }
            return (new KeyedVectors(words, table, ownsTable: true), index);
        }
        catch
        {
            (index as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>The index's kind as the tables list shows it.</summary>
    public static string Kind(IVectorIndex index) => index switch
    {
        HnswIndex => "hnsw index",
        IvfIndex => "ivf index",
        _ => "exact index",
    };

    /// <summary>What answers neighbours, with its settings, for the API and the page.</summary>
    public static string Describe(IVectorIndex index) => index switch
    {
        HnswIndex h => string.Create(CultureInfo.InvariantCulture,
            $"approximate: HNSW (M {h.Options.M}, ef ≥ {h.EfSearch}, {index.Metric.ToString().ToLowerInvariant()}), {RerankFactor}× k candidates re-ranked by exact cosine"),
        IvfIndex i => string.Create(CultureInfo.InvariantCulture,
            $"approximate: IVF ({i.NList} lists, nprobe {i.NProbe}, {index.Metric.ToString().ToLowerInvariant()}), {RerankFactor}× k candidates re-ranked by exact cosine"),
        _ => $"exact index file ({index.Metric.ToString().ToLowerInvariant()}), re-ranked by cosine",
    };

    /// <summary>Candidates asked of an approximate index per answer, as a multiple of k.</summary>
    public const int RerankFactor = 4;

    /// <summary>
    /// The k words nearest <paramref name="query"/>: <see cref="RerankFactor"/>·k (+1) candidates from
    /// the index, re-scored by exact cosine against the table, best first (equal scores by the lower
    /// id), <paramref name="exclude"/> left out.
    /// </summary>
    public static Neighbor[] SearchIndex(IVectorIndex index, EmbeddingTable table, float[] query, int k, int exclude)
    {
        int candidates = Math.Min(index.Count, RerankFactor * k + 1);
        var found = index is HnswIndex h
            ? h.Search(query, candidates, null, Math.Max(h.EfSearch, candidates))
            : index.Search(query, candidates);
        double qNorm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(query, query));
        var scored = new List<Neighbor>(found.Length);
        foreach (var n in found)
        {
            if (n.Index == exclude || (uint)n.Index >= (uint)table.NumEmbeddings)
                continue;
            var row = table.GetRow<float>(n.Index);
            double rNorm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(row, row));
            double dot = System.Numerics.Tensors.TensorPrimitives.Dot<float>(row, query);
            scored.Add(new Neighbor(n.Index, rNorm == 0 || qNorm == 0 ? 0f : (float)(dot / (rNorm * qNorm))));
        }
        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Index.CompareTo(b.Index));
        return scored.Count > k ? [.. scored.Take(k)] : [.. scored];
    }
}
