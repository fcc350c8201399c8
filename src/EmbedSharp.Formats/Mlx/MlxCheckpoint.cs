using System.Text.Json;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Mlx;

/// <summary>
/// An MLX model directory as mlx-lm writes it: <c>config.json</c> (with the <c>quantization</c> block) and
/// <c>model.safetensors</c>, or shards listed in <c>model.safetensors.index.json</c>. A quantized layer at
/// module path <c>p</c> is stored as <c>p.weight</c> (U32, packed), <c>p.scales</c> and, in affine mode, <c>p.biases</c>.
/// </summary>
/// <remarks>
/// Tensors are read on demand. A layer's parameters come from its per-layer override in config.json,
/// else the top-level block; a block without <c>mode</c> (pre-0.29 MLX) means affine. Shapes and dtypes are
/// checked with MLX's own dequantize rules before anything is allocated for the table.
/// </remarks>
public sealed class MlxCheckpoint : IDisposable
{
    /// <summary>The config file name.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>The single-file weights name.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The shard index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const string Op = "mlx.load";
    private readonly Dictionary<string, SafetensorsReader> _byTensor;
    private readonly List<SafetensorsReader> _readers;

    private MlxCheckpoint(MlxQuantizationConfig? quantization, Dictionary<string, SafetensorsReader> byTensor, List<SafetensorsReader> readers)
    {
        Quantization = quantization;
        _byTensor = byTensor;
        _readers = readers;
    }

    /// <summary>The <c>quantization</c> block of config.json, or null when there is none.</summary>
    public MlxQuantizationConfig? Quantization { get; }

    /// <summary>All tensor names in the checkpoint.</summary>
    public IReadOnlyCollection<string> TensorNames => _byTensor.Keys;

    /// <summary>Opens a model directory.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">config.json, the index or a safetensors file is malformed, or a tensor appears twice.</exception>
    public static MlxCheckpoint Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"[{Op}] no directory {directory}");
        string configPath = Path.Combine(directory, ConfigFileName);
        var quantization = File.Exists(configPath) ? MlxQuantizationConfig.FromConfigJson(File.ReadAllBytes(configPath)) : null;
        var files = WeightFiles(directory);
        var readers = new List<SafetensorsReader>();
        var byTensor = new Dictionary<string, SafetensorsReader>(StringComparer.Ordinal);
        try
        {
            foreach (string file in files)
            {
                var reader = SafetensorsReader.Open(Path.Combine(directory, file));
                readers.Add(reader);
                foreach (string name in reader.Tensors.Keys)
                {
                    if (!byTensor.TryAdd(name, reader))
                        throw new InvalidDataException($"[{Op}] tensor \"{name}\" appears in more than one file");
                }
            }
        }
        catch
        {
            foreach (var r in readers)
                r.Dispose();
            throw;
        }
        return new MlxCheckpoint(quantization, byTensor, readers);
    }

    private static List<string> WeightFiles(string directory)
    {
        string index = Path.Combine(directory, IndexFileName);
        if (File.Exists(index))
        {
            using var doc = ParseJson(File.ReadAllBytes(index), IndexFileName);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"[{Op}] {IndexFileName} has no weight_map object");
            var files = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                string? file = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                // Shard names are plain file names in the same directory; refuse anything that could escape it.
                if (string.IsNullOrEmpty(file) || file != Path.GetFileName(file) || file is "." or "..")
                    throw new InvalidDataException($"[{Op}] {IndexFileName} maps \"{p.Name}\" to {p.Value.GetRawText()}, which is not a file name in the model directory");
                files.Add(file);
            }
            return [.. files];
        }
        if (File.Exists(Path.Combine(directory, WeightsFileName)))
            return [WeightsFileName];
        var all = Directory.GetFiles(directory, "*" + SafetensorsConstants.Extension).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        if (all.Count == 0)
            throw new InvalidDataException($"[{Op}] {directory} has no {WeightsFileName}, {IndexFileName} or other .safetensors file");
        return all;
    }

    /// <summary>True when a tensor with that name exists.</summary>
    public bool Contains(string tensorName) => _byTensor.ContainsKey(tensorName);

    /// <summary>Whether the module at <paramref name="path"/> is stored quantized (has <c>path.scales</c>), as mlx-lm decides.</summary>
    public bool IsQuantized(string path) => Contains(path + ".scales");

    /// <summary>Information on a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public SafetensorsTensorInfo GetInfo(string tensorName) => Reader(tensorName).GetInfo(tensorName);

    /// <summary>A dense 2-D F32/F16/BF16 tensor (e.g. an unquantized embedding's <c>weight</c>) as a table, bit for bit.</summary>
    public EmbeddingTable ReadTable(string tensorName) => Reader(tensorName).ReadTable(tensorName);

    /// <summary>
    /// Reads the quantized layer at <paramref name="path"/> (e.g. <c>model.embed_tokens</c>) as a table, bit for bit.
    /// </summary>
    /// <param name="path">Module path; the tensors are <c>path.weight</c>, <c>path.scales</c>, <c>path.biases</c>.</param>
    /// <param name="parameters">Parameters to use instead of config.json's (needed when there is no config).</param>
    /// <exception cref="KeyNotFoundException">A tensor is missing.</exception>
    /// <exception cref="InvalidDataException">No parameters are known, or the tensors' dtypes or shapes are inconsistent with them (MLX's dequantize message is included).</exception>
    public QuantizedTable ReadQuantized(string path, MlxLayerQuantization? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var q = parameters ?? Quantization?.For(path)
            ?? throw new InvalidDataException(Quantization is null
                ? $"[{Op}] {path}: the checkpoint has no quantization block in {ConfigFileName}; pass the parameters explicitly"
                : $"[{Op}] {path}: {ConfigFileName} marks this layer as not quantized");
        var w = GetInfo(path + ".weight");
        var s = GetInfo(path + ".scales");
        SafetensorsTensorInfo? b = Contains(path + ".biases") ? GetInfo(path + ".biases") : null;
        try
        {
            QuantizationArguments.ValidateDequantize(w.DType.ToMlxName(), w.Shape, s.DType.ToMlxName(), s.Shape,
                b?.DType.ToMlxName(), b?.Shape ?? [], q.Mode.ToMlxName(), q.GroupSize, q.Bits);
        }
        catch (QuantizationArgumentException ex)
        {
            throw new InvalidDataException($"[{Op}] {path}: {ex.Message}", ex);
        }
        if (w.Shape.Length != 2)
            throw new InvalidDataException($"[{Op}] {path}.weight has shape {SafetensorsHeader.FormatShape(w.Shape)}; an embedding table is 2-D");
        long dims = w.Shape[1] * 32 / q.Bits;
        if (dims * q.Bits != w.Shape[1] * 32 || w.Shape[0] > int.MaxValue || dims > int.MaxValue)
            throw new InvalidDataException($"[{Op}] {path}.weight shape {SafetensorsHeader.FormatShape(w.Shape)} does not hold a whole number of {q.Bits}-bit codes per row");
        DType dtype = DType.Float32;
        if (q.Mode == QuantizationMode.Affine)
        {
            if (s.DType.ToTableDType() is not DType sd || b is null || b.DType != s.DType)
                throw new InvalidDataException($"[{Op}] {path}: affine scales and biases must both be F32, F16 or BF16 (got {s.DType.ToHeaderName()} and {b?.DType.ToHeaderName() ?? "none"})");
            dtype = sd;
        }
        try
        {
            return QuantizedTable.FromParts((int)w.Shape[0], (int)dims, q.GroupSize, q.Bits, q.Mode, dtype,
                Reader(w.Name).Read<uint>(w.Name), Reader(s.Name).ReadBytes(s.Name), b is null ? [] : Reader(b.Name).ReadBytes(b.Name));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"[{Op}] {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a quantized embedding layer (see <see cref="ReadQuantized"/>).</summary>
    public QuantizedEmbedding ReadQuantizedEmbedding(string path, MlxLayerQuantization? parameters = null) =>
        new(ReadQuantized(path, parameters));

    private SafetensorsReader Reader(string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        return _byTensor.TryGetValue(tensorName, out var r)
            ? r
            : throw new KeyNotFoundException($"[{Op}] the checkpoint has no tensor \"{tensorName}\"");
    }

    internal static JsonDocument ParseJson(byte[] bytes, string what)
    {
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"[{Op}] {what} is not valid JSON ({ex.Message})");
        }
    }

    /// <summary>Closes the safetensors files.</summary>
    public void Dispose()
    {
        foreach (var r in _readers)
            r.Dispose();
    }
}
