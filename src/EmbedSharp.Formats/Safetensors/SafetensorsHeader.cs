using System.Text;
using System.Text.Json;

namespace EmbedSharp.Formats.Safetensors;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions (empty for a scalar).</param>
/// <param name="Begin">Start of its bytes, relative to the data section.</param>
/// <param name="End">End (exclusive) of its bytes.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements, the product of <see cref="Shape"/>.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes of data, <c>End − Begin</c>.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// The JSON header of a safetensors file: <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
/// "__metadata__": {string: string}}</c>, parsed with full validation.
/// </summary>
/// <remarks>
/// A header is accepted only if it is a JSON object with no duplicate keys; each tensor names a known
/// dtype, a shape of non-negative integers whose byte size does not overflow, and offsets
/// <c>[begin, end]</c> with <c>end − begin = elements · dtype size</c>; and the tensors, sorted by offset,
/// tile the data section exactly (no gap, no overlap, nothing left over), as the reference
/// implementation requires. Nothing is allocated from a size in the header before it has been checked
/// against the actual data length.
/// </remarks>
public sealed class SafetensorsHeader
{
    /// <summary>The key of the free-form string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    private SafetensorsHeader(IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
        ByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The tensors, in data-offset order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> ByName { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Parses and validates a header against a data section of <paramref name="dataLength"/> bytes.</summary>
    /// <exception cref="InvalidDataException">The header is not valid JSON, breaks a rule above, or does not match the data length.</exception>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength)
    {
        const string op = "safetensors.read";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Invalid(op, $"the header is not valid JSON ({ex.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Invalid(op, $"the header must be a JSON object but is {doc.RootElement.ValueKind}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Invalid(op, $"the header names \"{property.Name}\" twice");
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw Invalid(op, $"{MetadataKey} must be an object of strings");
                    foreach (var m in property.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Invalid(op, $"{MetadataKey}.{m.Name} must be a string but is {m.Value.ValueKind}");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw Invalid(op, $"{MetadataKey} names \"{m.Name}\" twice");
                    }
                    continue;
                }
                tensors.Add(ParseTensor(op, property.Name, property.Value));
            }
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var t in tensors)
            {
                if (t.Begin != expected)
                    throw Invalid(op, t.Begin > expected
                        ? $"tensor \"{t.Name}\" starts at byte {t.Begin} but the previous tensor ends at {expected} (gap in the data section)"
                        : $"tensor \"{t.Name}\" starts at byte {t.Begin}, inside the previous tensor (which ends at {expected})");
                expected = t.End;
            }
            if (expected != dataLength)
                throw Invalid(op, $"the tensors cover {expected} bytes but the data section has {dataLength}");
            return new SafetensorsHeader(tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseTensor(string op, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Invalid(op, $"tensor \"{name}\" must be an object with dtype, shape and data_offsets");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Invalid(op, $"tensor \"{name}\" has no dtype string");
        if (!SafetensorsDTypes.TryParse(dt.GetString(), out var dtype))
            throw Invalid(op, $"tensor \"{name}\" has dtype \"{dt.GetString()}\"; valid values are {SafetensorsDTypes.ValidNames}");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Invalid(op, $"tensor \"{name}\" has no shape array");
        if (sh.GetArrayLength() > 32)
            throw Invalid(op, $"tensor \"{name}\" has {sh.GetArrayLength()} dimensions; at most 32 are accepted");
        var shape = new long[sh.GetArrayLength()];
        long elements = 1;
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw Invalid(op, $"tensor \"{name}\" shape[{k}] = {d.GetRawText()} is not a non-negative integer");
            shape[k++] = v;
            try
            {
                elements = checked(elements * v);
            }
            catch (OverflowException)
            {
                throw Invalid(op, $"tensor \"{name}\" shape [{string.Join(", ", shape)}] is too large");
            }
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Invalid(op, $"tensor \"{name}\" needs data_offsets [begin, end]");
        long begin = ReadOffset(op, name, off[0]), end = ReadOffset(op, name, off[1]);
        if (end < begin)
            throw Invalid(op, $"tensor \"{name}\" data_offsets [{begin}, {end}] end before they begin");
        long bytes;
        try
        {
            bytes = checked(elements * dtype.SizeInBytes());
        }
        catch (OverflowException)
        {
            throw Invalid(op, $"tensor \"{name}\" shape [{string.Join(", ", shape)}] is too large");
        }
        if (end - begin != bytes)
            throw Invalid(op, $"tensor \"{name}\" has {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtype.ToHeaderName()} needs {bytes}");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(string op, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw Invalid(op, $"tensor \"{name}\" data_offsets entry {e.GetRawText()} is not a non-negative integer");
        return v;
    }

    /// <summary>
    /// Serialises a header: metadata first, then the tensors in the given order, compact JSON padded with
    /// spaces to a multiple of 8 bytes (so the data section starts 8-byte aligned).
    /// </summary>
    internal static byte[] Serialize(IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToHeaderName());
                w.WriteStartArray("shape");
                foreach (long d in t.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(t.Begin);
                w.WriteNumberValue(t.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < pad; i++)
            buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static InvalidDataException Invalid(string op, string text) => new($"[{op}] {text}");

    /// <summary>Shape as <c>[a, b]</c>.</summary>
    internal static string FormatShape(long[] shape) => new StringBuilder("[").AppendJoin(", ", shape).Append(']').ToString();
}
