using System.Globalization;
using System.Text.Json;
using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>One chunk as the manifest lists it.</summary>
/// <param name="Name">The chunk's file name.</param>
/// <param name="Buckets">Its bucket range.</param>
/// <param name="RowCount">Its number of records.</param>
/// <param name="Checksum">Its records' checksum (the header's).</param>
public sealed record SnapshotChunkEntry(string Name, BucketRange Buckets, long RowCount, ulong Checksum);

/// <summary>
/// The manifest of a snapshot, <c>manifest.json</c>, written after every chunk: the table, the last
/// optimizer step (so a restored store can keep training with the same rule), the plan that wrote it,
/// and the chunks. A snapshot without a manifest is incomplete.
/// </summary>
/// <remarks>
/// <code>
/// { "format": "embedsharp-snapshot", "version": 1, "table": "users", "numEmbeddings": 1000 | null,
///   "dims": 16, "dtype": "float32", "stateWidth": 16, "step": 42,
///   "optimizer": null | { "kind": "Adagrad", "learningRate": 0.1, "step": 42, "weightDecay": 0, "momentum": 0,
///                         "beta1": 0, "beta2": 0, "eps": 1e-10, "lrDecay": 0, "initialAccumulatorValue": 0 },
///   "plan": { "version": 0, "shards": 2, "ranges": [ { "first": 0, "end": 2048, "shard": 0 }, ... ] },
///   "chunks": [ { "name": "buckets-0000-2047.esnap", "first": 0, "end": 2048, "rows": 500, "checksum": "89AB…" }, ... ] }
/// </code>
/// The chunks' bucket ranges must not overlap; buckets no chunk covers hold no rows.
/// </remarks>
public sealed record SnapshotManifest(string Table, long? NumEmbeddings, int Dims, DType DType, int StateWidth, long Step,
    OptimizerStep? Optimizer, ShardingPlan Plan, IReadOnlyList<SnapshotChunkEntry> Chunks)
{
    private const string Op = "snapshot.manifest";
    private const string Format = "embedsharp-snapshot";
    private const int Version = 1;
    private const int MaxChunks = BucketRouter.BucketCount;

    /// <summary>The chunks that hold rows of <paramref name="buckets"/>.</summary>
    public IEnumerable<SnapshotChunkEntry> ChunksOverlapping(BucketRange buckets) => Chunks.Where(c => c.Buckets.Overlaps(buckets));

    /// <summary>Writes the manifest into <paramref name="sink"/> under <see cref="SnapshotNames.Manifest"/> (last, after its chunks).</summary>
    public ValueTask WriteToAsync(ISnapshotSink sink, CancellationToken cancellationToken = default)
    {
        Guard.NotNull(Op, sink);
        return sink.WriteAsync(SnapshotNames.Manifest, (stream, _) =>
        {
            WriteTo(stream);
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>Writes the manifest as indented JSON (UTF-8).</summary>
    public void WriteTo(Stream stream)
    {
        Guard.NotNull(Op, stream);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("format", Format);
        w.WriteNumber("version", Version);
        w.WriteString("table", Table);
        if (NumEmbeddings is long n)
            w.WriteNumber("numEmbeddings", n);
        else
            w.WriteNull("numEmbeddings");
        w.WriteNumber("dims", Dims);
        w.WriteString("dtype", DType.ToString().ToLowerInvariant());
        w.WriteNumber("stateWidth", StateWidth);
        w.WriteNumber("step", Step);
        if (Optimizer is OptimizerStep o)
        {
            w.WriteStartObject("optimizer");
            w.WriteString("kind", o.Kind.ToString());
            w.WriteNumber("learningRate", o.LearningRate);
            w.WriteNumber("step", o.Step);
            w.WriteNumber("weightDecay", o.WeightDecay);
            w.WriteNumber("momentum", o.Momentum);
            w.WriteNumber("beta1", o.Beta1);
            w.WriteNumber("beta2", o.Beta2);
            w.WriteNumber("eps", o.Eps);
            w.WriteNumber("lrDecay", o.LrDecay);
            w.WriteNumber("initialAccumulatorValue", o.InitialAccumulatorValue);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("optimizer");
        }
        w.WriteStartObject("plan");
        w.WriteNumber("version", Plan.Version);
        w.WriteNumber("shards", Plan.ShardCount);
        w.WriteStartArray("ranges");
        foreach (var (range, shard) in Plan.Entries)
        {
            w.WriteStartObject();
            w.WriteNumber("first", range.First);
            w.WriteNumber("end", range.End);
            w.WriteNumber("shard", shard);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("chunks");
        foreach (SnapshotChunkEntry c in Chunks)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteNumber("first", c.Buckets.First);
            w.WriteNumber("end", c.Buckets.End);
            w.WriteNumber("rows", c.RowCount);
            w.WriteString("checksum", c.Checksum.ToString("X16", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Reads and checks a manifest (at most 16 MiB); <paramref name="name"/> names it in messages.</summary>
    /// <exception cref="InvalidDataException">Not JSON, a missing or mistyped field, a value out of range, overlapping chunks.</exception>
    public static SnapshotManifest Read(Stream stream, string name = SnapshotNames.Manifest)
    {
        Guard.NotNull(Op, stream);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > 16 << 20)
                throw Invalid(name, "the manifest is larger than 16 MiB; it is not a snapshot manifest");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException ex)
        {
            throw Invalid(name, $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}");
        }
        using (doc)
        {
            try
            {
                return Parse(doc.RootElement, name);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or KeyNotFoundException or ArgumentException)
            {
                throw Invalid(name, $"a field is missing or has the wrong type ({ex.Message})");
            }
        }
    }

    private static SnapshotManifest Parse(JsonElement root, string name)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement f) || f.GetString() != Format)
            throw Invalid(name, $"not an EmbedSharp snapshot manifest (\"format\" must be \"{Format}\")");
        int version = root.GetProperty("version").GetInt32();
        if (version != Version)
            throw Invalid(name, $"manifest version {version} is not supported (supported: {Version})");
        string table = root.GetProperty("table").GetString() ?? throw Invalid(name, "\"table\" is null");
        JsonElement n = root.GetProperty("numEmbeddings");
        long? numEmbeddings = n.ValueKind == JsonValueKind.Null ? null : n.GetInt64();
        if (numEmbeddings < 0)
            throw Invalid(name, $"numEmbeddings {numEmbeddings} is negative");
        int dims = root.GetProperty("dims").GetInt32();
        if (dims is < 1 or > 1 << 20)
            throw Invalid(name, $"dims {dims} is out of range (1..{1 << 20})");
        string dtype = root.GetProperty("dtype").GetString() ?? "";
        if (dtype != "float32")
            throw Invalid(name, $"dtype '{dtype}' is not supported (float32)");
        int stateWidth = root.GetProperty("stateWidth").GetInt32();
        if (stateWidth < 0 || stateWidth > 4L * dims)
            throw Invalid(name, $"stateWidth {stateWidth} is out of range (0..{4L * dims})");
        long step = root.GetProperty("step").GetInt64();
        if (step < 0)
            throw Invalid(name, $"step {step} is negative");
        OptimizerStep? optimizer = null;
        JsonElement o = root.GetProperty("optimizer");
        if (o.ValueKind != JsonValueKind.Null)
        {
            if (!Enum.TryParse(o.GetProperty("kind").GetString(), out OptimizerKind kind) || kind == OptimizerKind.None || !Enum.IsDefined(kind))
                throw Invalid(name, $"optimizer kind '{o.GetProperty("kind").GetString()}' is unknown (Sgd, Adagrad, RowwiseAdagrad, Adam, AdamW, LazyAdam)");
            var s = new OptimizerStep
            {
                Kind = kind, LearningRate = o.GetProperty("learningRate").GetDouble(), Step = o.GetProperty("step").GetInt64(),
                WeightDecay = o.GetProperty("weightDecay").GetDouble(), Momentum = o.GetProperty("momentum").GetDouble(),
                Beta1 = o.GetProperty("beta1").GetDouble(), Beta2 = o.GetProperty("beta2").GetDouble(), Eps = o.GetProperty("eps").GetDouble(),
                LrDecay = o.GetProperty("lrDecay").GetDouble(), InitialAccumulatorValue = o.GetProperty("initialAccumulatorValue").GetDouble(),
            };
            try
            {
                if (s.StateWidth(dims) != stateWidth)
                    throw Invalid(name, $"the optimizer ({kind}) keeps {s.StateWidth(dims)} floats a row but stateWidth is {stateWidth}");
            }
            catch (ArgumentException ex)
            {
                throw Invalid(name, $"the optimizer block is not valid: {ex.Message}");
            }
            optimizer = s;
        }
        else if (stateWidth != 0)
        {
            throw Invalid(name, $"stateWidth is {stateWidth} but there is no optimizer");
        }
        JsonElement plan = root.GetProperty("plan");
        int shards = plan.GetProperty("shards").GetInt32();
        if (shards is < 1 or > BucketRouter.BucketCount)
            throw Invalid(name, $"plan shards {shards} is out of range (1..{BucketRouter.BucketCount})");
        var entries = new List<(BucketRange, int)>();
        foreach (JsonElement r in plan.GetProperty("ranges").EnumerateArray())
        {
            if (entries.Count >= BucketRouter.BucketCount)
                throw Invalid(name, $"the plan lists more than {BucketRouter.BucketCount} ranges");
            entries.Add((Range(name, r), r.GetProperty("shard").GetInt32()));
        }
        ShardingPlan writer;
        try
        {
            writer = new ShardingPlan(shards, entries, plan.GetProperty("version").GetInt64());
        }
        catch (ArgumentException ex)
        {
            throw Invalid(name, $"the plan is not valid: {ex.Message}");
        }
        var chunks = new List<SnapshotChunkEntry>();
        foreach (JsonElement c in root.GetProperty("chunks").EnumerateArray())
        {
            if (chunks.Count >= MaxChunks)
                throw Invalid(name, $"the manifest lists more than {MaxChunks} chunks");
            string chunkName = c.GetProperty("name").GetString() ?? "";
            try
            {
                SnapshotNames.Check(Op, chunkName);
            }
            catch (ArgumentException ex)
            {
                throw Invalid(name, ex.Message);
            }
            long rows = c.GetProperty("rows").GetInt64();
            if (rows < 0)
                throw Invalid(name, $"chunk {chunkName} has a negative row count {rows}");
            if (!ulong.TryParse(c.GetProperty("checksum").GetString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong checksum))
                throw Invalid(name, $"chunk {chunkName}'s checksum is not 16 hex digits");
            chunks.Add(new SnapshotChunkEntry(chunkName, Range(name, c), rows, checksum));
        }
        var sorted = chunks.OrderBy(c => c.Buckets.First).ToArray();
        for (int i = 1; i < sorted.Length; i++)
            if (sorted[i].Buckets.Overlaps(sorted[i - 1].Buckets))
                throw Invalid(name, $"chunks {sorted[i - 1].Name} and {sorted[i].Name} cover the same buckets");
        return new SnapshotManifest(table, numEmbeddings, dims, DType.Float32, stateWidth, step, optimizer, writer, sorted);
    }

    private static BucketRange Range(string name, JsonElement e)
    {
        int first = e.GetProperty("first").GetInt32(), end = e.GetProperty("end").GetInt32();
        if (first < 0 || end <= first || end > BucketRouter.BucketCount)
            throw Invalid(name, $"bucket range [{first}, {end}) is not valid (0 <= first < end <= {BucketRouter.BucketCount})");
        return new BucketRange(first, end);
    }

    private static InvalidDataException Invalid(string name, string text) => new(ThrowHelper.Format(Op, $"{name}: {text}"));
}
