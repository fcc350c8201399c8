using System.Text.Json;
using EmbedSharp.Quantization;

namespace EmbedSharp.Formats.Mlx;

/// <summary>Quantization parameters of one layer (or the checkpoint default), as mlx-lm writes them.</summary>
/// <param name="GroupSize">MLX's <c>group_size</c>.</param>
/// <param name="Bits">MLX's <c>bits</c>.</param>
/// <param name="Mode">MLX's <c>mode</c>; checkpoints written before MLX 0.29 have none and are affine.</param>
public sealed record MlxLayerQuantization(int GroupSize, int Bits, QuantizationMode Mode = QuantizationMode.Affine)
{
    /// <summary>The parameters of a quantized table.</summary>
    public static MlxLayerQuantization Of(QuantizedTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return new(table.GroupSize, table.Bits, table.Mode);
    }
}

/// <summary>
/// The <c>quantization</c> block of an MLX <c>config.json</c>:
/// <c>{"group_size": 64, "bits": 4, "mode": "affine", "model.embed_tokens": {"group_size": 64, "bits": 6}, ...}</c>.
/// Keys other than the three parameters are per-layer overrides keyed by module path (an object), or
/// <c>false</c> for a layer left unquantized, as mlx-lm's loader reads them.
/// </summary>
public sealed class MlxQuantizationConfig
{
    /// <summary>The block's key in config.json.</summary>
    public const string Key = "quantization";

    /// <summary>The duplicate block mlx-lm writes for Hugging Face tools.</summary>
    public const string HuggingFaceKey = "quantization_config";

    /// <summary>Creates a configuration.</summary>
    public MlxQuantizationConfig(MlxLayerQuantization defaults, IReadOnlyDictionary<string, MlxLayerQuantization?>? overrides = null)
    {
        Default = defaults ?? throw new ArgumentNullException(nameof(defaults));
        Overrides = overrides ?? new Dictionary<string, MlxLayerQuantization?>();
    }

    /// <summary>The top-level parameters.</summary>
    public MlxLayerQuantization Default { get; }

    /// <summary>Per-layer overrides by module path; a null value means the layer is not quantized.</summary>
    public IReadOnlyDictionary<string, MlxLayerQuantization?> Overrides { get; }

    /// <summary>The parameters for a module path: its override if there is one, else <see cref="Default"/> (null: not quantized).</summary>
    public MlxLayerQuantization? For(string path) =>
        Overrides.TryGetValue(path, out var o) ? o : Default;

    /// <summary>Reads the block from config.json text; null when the file has neither block.</summary>
    /// <exception cref="InvalidDataException">The JSON or the block is malformed.</exception>
    public static MlxQuantizationConfig? FromConfigJson(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"[mlx.config] config.json is not valid JSON ({ex.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("[mlx.config] config.json must be a JSON object");
            if (!doc.RootElement.TryGetProperty(Key, out var block) && !doc.RootElement.TryGetProperty(HuggingFaceKey, out block))
                return null;
            return FromBlock(block);
        }
    }

    private static MlxQuantizationConfig FromBlock(JsonElement block)
    {
        if (block.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"[mlx.config] \"{Key}\" must be an object but is {block.ValueKind}");
        var defaults = ParseLayer(block, Key);
        var overrides = new Dictionary<string, MlxLayerQuantization?>(StringComparer.Ordinal);
        foreach (var p in block.EnumerateObject())
        {
            if (p.Name is "group_size" or "bits" or "mode")
                continue;
            if (p.Value.ValueKind == JsonValueKind.Object)
                overrides[p.Name] = ParseLayer(p.Value, $"{Key}.{p.Name}");
            else if (p.Value.ValueKind == JsonValueKind.False)
                overrides[p.Name] = null;
            // Other scalars (e.g. Hugging Face's "quant_method") are not layer paths; ignore them.
        }
        return new MlxQuantizationConfig(defaults, overrides);
    }

    private static MlxLayerQuantization ParseLayer(JsonElement e, string where)
    {
        QuantizationMode mode = QuantizationMode.Affine;
        if (e.TryGetProperty("mode", out var m))
        {
            if (m.ValueKind != JsonValueKind.String || !QuantizationModes.TryParse(m.GetString(), out mode))
                throw new InvalidDataException($"[mlx.config] {where}.mode is {m.GetRawText()}; valid modes are {QuantizationModes.ValidNames}");
        }
        var (gs, bits) = QuantizationModes.Defaults(mode);
        return new MlxLayerQuantization(ReadPositive(e, "group_size", where, gs), ReadPositive(e, "bits", where, bits), mode);
    }

    private static int ReadPositive(JsonElement e, string name, string where, int fallback)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i <= 0)
            throw new InvalidDataException($"[mlx.config] {where}.{name} is {v.GetRawText()}; it must be a positive integer");
        return i;
    }

    /// <summary>Writes the block's content (an object) with <paramref name="writer"/>.</summary>
    internal void WriteBlock(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        WriteLayer(writer, Default);
        foreach (var (path, layer) in Overrides.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (layer is null)
            {
                writer.WriteBoolean(path, false);
                continue;
            }
            writer.WriteStartObject(path);
            WriteLayer(writer, layer);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    private static void WriteLayer(Utf8JsonWriter writer, MlxLayerQuantization layer)
    {
        writer.WriteNumber("group_size", layer.GroupSize);
        writer.WriteNumber("bits", layer.Bits);
        writer.WriteString("mode", layer.Mode.ToMlxName());
    }
}
