using System.Text.Json;
using EmbedSharp.Formats.Safetensors;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Mlx;

/// <summary>
/// Writes an MLX model directory: <c>model.safetensors</c> (metadata <c>{"format": "mlx"}</c>) holding
/// <c>path.weight</c> (U32), <c>path.scales</c> and <c>path.biases</c> for each quantized layer plus any dense
/// tensors, and <c>config.json</c> with the <c>quantization</c> block (duplicated as <c>quantization_config</c>),
/// as mlx-lm does. Reading the directory back with <see cref="MlxCheckpoint"/> gives identical bits.
/// </summary>
/// <remarks>
/// The top-level parameters are those of the first quantized layer; layers with other parameters get a
/// per-layer override. An existing config.json keeps its other keys. Both files are written through a
/// temporary file and a rename.
/// </remarks>
public sealed class MlxCheckpointWriter
{
    private const string Op = "mlx.save";
    private readonly List<(string Path, QuantizedTable Table)> _quantized = [];
    private readonly SafetensorsWriter _tensors = new();

    /// <summary>Adds a quantized layer at module path <paramref name="path"/> (e.g. <c>model.embed_tokens</c>).</summary>
    /// <exception cref="NotSupportedException">The table uses an nvfp4 global scale, which MLX checkpoints do not store.</exception>
    /// <exception cref="ArgumentException">A tensor of that name was already added.</exception>
    public MlxCheckpointWriter AddQuantized(string path, QuantizedTable table)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(table);
        if (table.GlobalScale is not null)
            throw new NotSupportedException($"[{Op}] {path}: MLX checkpoints have no place for an nvfp4 global scale");
        foreach (string suffix in new[] { ".weight", ".scales", ".biases" })
        {
            if (_tensors.Contains(path + suffix))
                throw new ArgumentException($"[{Op}] a tensor named \"{path + suffix}\" was already added", nameof(path));
        }
        _tensors.Add(path + ".weight", (ReadOnlySpan<long>)[table.NumEmbeddings, table.WordsPerRow], table.Weight);
        long[] scaleShape = [table.NumEmbeddings, table.GroupsPerRow];
        if (table.Mode == QuantizationMode.Affine)
        {
            var dtype = SafetensorsDTypes.FromTableDType(table.DType);
            _tensors.Add(path + ".scales", dtype, scaleShape, table.Scales);
            _tensors.Add(path + ".biases", dtype, scaleShape, table.Biases);
        }
        else
        {
            _tensors.Add(path + ".scales", SafetensorsDType.U8, scaleShape, table.Scales);
        }
        _quantized.Add((path, table));
        return this;
    }

    /// <summary>Adds a quantized embedding layer at module path <paramref name="path"/>.</summary>
    public MlxCheckpointWriter AddQuantized(string path, QuantizedEmbedding embedding)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        return AddQuantized(path, embedding.Table);
    }

    /// <summary>Adds a dense tensor under its full name (e.g. <c>model.norm.weight</c>).</summary>
    public MlxCheckpointWriter AddTable(string tensorName, EmbeddingTable table)
    {
        _tensors.Add(tensorName, table);
        return this;
    }

    /// <summary>Writes <c>model.safetensors</c> and <c>config.json</c> into <paramref name="directory"/> (created if needed).</summary>
    /// <exception cref="InvalidDataException">An existing config.json is not a JSON object.</exception>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        _tensors.Metadata["format"] = "mlx";
        _tensors.Save(Path.Combine(directory, MlxCheckpoint.WeightsFileName));
        string configPath = Path.Combine(directory, MlxCheckpoint.ConfigFileName);
        byte[]? existing = File.Exists(configPath) ? File.ReadAllBytes(configPath) : null;
        var config = BuildConfig();
        AtomicFile.Write(configPath, stream => WriteConfig(stream, existing, config));
    }

    private MlxQuantizationConfig? BuildConfig()
    {
        if (_quantized.Count == 0)
            return null;
        var defaults = MlxLayerQuantization.Of(_quantized[0].Table);
        var overrides = new Dictionary<string, MlxLayerQuantization?>(StringComparer.Ordinal);
        foreach (var (path, table) in _quantized)
        {
            var own = MlxLayerQuantization.Of(table);
            if (own != defaults)
                overrides[path] = own;
        }
        return new MlxQuantizationConfig(defaults, overrides);
    }

    private static void WriteConfig(Stream stream, byte[]? existing, MlxQuantizationConfig? config)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        if (existing is not null)
        {
            using var doc = MlxCheckpoint.ParseJson(existing, MlxCheckpoint.ConfigFileName);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"[{Op}] the existing {MlxCheckpoint.ConfigFileName} is not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (config is not null && p.Name is MlxQuantizationConfig.Key or MlxQuantizationConfig.HuggingFaceKey)
                    continue;
                p.WriteTo(writer);
            }
        }
        if (config is not null)
        {
            writer.WritePropertyName(MlxQuantizationConfig.Key);
            config.WriteBlock(writer);
            writer.WritePropertyName(MlxQuantizationConfig.HuggingFaceKey);
            config.WriteBlock(writer);
        }
        writer.WriteEndObject();
    }
}
