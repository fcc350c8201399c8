using System.Diagnostics;
using EmbedSharp.Orleans.Hosting;
using EmbedSharp.Orleans.Placement;
using EmbedSharp.Orleans.Wire;
using EmbedSharp.Stores;
using Microsoft.Extensions.Logging;
using Orleans.Serialization.Buffers;

namespace EmbedSharp.Orleans.Grains;

/// <summary>
/// The grain behind <see cref="IShardGrain"/>: one row shard in memory, placed by <see cref="ShardPlacementAttribute"/>,
/// never collected while idle (it holds the only copy of the rows updated since the last snapshot).
/// </summary>
/// <remarks>
/// Orleans runs one request at a time per activation (gathers, marked read-only, may interleave with other
/// gathers only), so every update applies atomically with respect to the shard's other calls. A crash loses
/// what changed since the last snapshot: the shard then comes back on a survivor from the snapshot named in
/// the first request it gets.
/// </remarks>
[ShardPlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed partial class ShardGrain(ShardSiloOptions options, ILogger<ShardGrain> logger) : Grain, IShardGrain
{
    private ShardSpec? _spec;
    private BucketRange[] _ranges = [];
    private ShardState? _state;
    private string _openedFrom = "empty";
    private DateTime _activatedUtc;
    private readonly Dictionary<Guid, RecentCalls> _applied = [];

    /// <summary>The last calls of one client that this activation applied (4,096 at most).</summary>
    private sealed class RecentCalls
    {
        private readonly HashSet<long> _seen = [];
        private readonly Queue<long> _order = new();

        public bool Add(long sequence)
        {
            if (!_seen.Add(sequence))
                return false;
            _order.Enqueue(sequence);
            if (_order.Count > 4096)
                _seen.Remove(_order.Dequeue());
            return true;
        }
    }

    private ShardState Open(ShardSpec spec)
    {
        const string op = "orleans.shard";
        if (_spec is not null)
        {
            if (!_spec.SameShard(spec))
                throw new ArgumentException($"[{op}] shard {this.GetPrimaryKeyString()} was opened as {NameOf(_spec)}; this request says {NameOf(spec)}");
            return _state!;
        }
        Check(spec);
        var clock = Stopwatch.StartNew();
        var state = new ShardState(spec.Dims);
        _ranges = spec.Ranges();
        string? from = spec.Snapshot ?? LatestSnapshot(spec.Table);
        if (from is not null)
            Load(state, spec, from);
        _spec = spec;
        _state = state;
        _openedFrom = from ?? "empty";
        _activatedUtc = DateTime.UtcNow;
        // One line per activation: a kill test's timeline reads when a lost shard came back and how long its snapshot took.
        LogOpened(logger, this.GetPrimaryKeyString(), _openedFrom, state.Count, clock.Elapsed.TotalMilliseconds);
        return state;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Shard} opened from {From}: {Rows} rows in {Milliseconds:0} ms")]
    private static partial void LogOpened(ILogger logger, string shard, string from, long rows, double milliseconds);

    private static string NameOf(ShardSpec s) => $"table '{s.Table}', {s.Dims} dims, shard {s.Shard} of {s.ShardCount}, plan v{s.PlanVersion}";

    private void Check(ShardSpec spec)
    {
        const string op = "orleans.shard";
        if (!ShardKey.TryParse(this.GetPrimaryKeyString(), out ShardKey key) || key.Table != spec.Table || key.ShardCount != spec.ShardCount || key.Shard != spec.Shard)
            throw new ArgumentException($"[{op}] grain key '{this.GetPrimaryKeyString()}' does not match {NameOf(spec)}");
        if (spec.Dims is < 1 or > (1 << 20))
            throw new ArgumentOutOfRangeException(nameof(spec), spec.Dims, $"[{op}] dims {spec.Dims} is out of range (1..1048576)");
        if (spec.NumEmbeddings < -1)
            throw new ArgumentOutOfRangeException(nameof(spec), spec.NumEmbeddings, $"[{op}] NumEmbeddings {spec.NumEmbeddings} is out of range (-1 for unbounded, or ≥ 0)");
        if (spec.RangeFirst.Length != spec.RangeEnd.Length || spec.RangeFirst.Length == 0)
            throw new ArgumentException($"[{op}] the shard's bucket ranges are malformed ({spec.RangeFirst.Length} starts, {spec.RangeEnd.Length} ends)");
        for (int i = 0; i < spec.RangeFirst.Length; i++)
            _ = new BucketRange(spec.RangeFirst[i], spec.RangeEnd[i]);
        if (spec.Snapshot is not null)
            SnapshotNames.Check(op, spec.Snapshot);
    }

    private void CheckIds(ReadOnlySpan<long> ids, string op)
    {
        long n = _spec!.NumEmbeddings;
        for (int i = 0; i < ids.Length; i++)
        {
            if (n >= 0 && (ulong)ids[i] >= (ulong)n)
                throw new ArgumentOutOfRangeException("ids", ids[i], $"[{op}] id {ids[i]} is outside [0, {n})");
            int bucket = BucketRouter.BucketOf(ids[i]);
            if (!InRanges(bucket))
                throw new ArgumentException($"[{op}] id {ids[i]} (bucket {bucket}) does not belong to shard {_spec.Shard} of {_spec.ShardCount}; was the batch routed with another plan?");
        }
    }

    private bool InRanges(int bucket)
    {
        foreach (BucketRange r in _ranges)
            if (r.Contains(bucket))
                return true;
        return false;
    }

    public Task<ShardRows> Gather(GatherRequest request)
    {
        const string op = "orleans.gather";
        PooledBuffer idBuffer = request.Ids;
        try
        {
            ShardState state = Open(request.Spec);
            using Payload.Rented<long> rented = Payload.Rent<long>(idBuffer, op, "ids");
            ReadOnlySpan<long> ids = rented.Span;
            CheckIds(ids, op);
            var rows = new PooledBuffer();
            int bytes = checked(ids.Length * state.Dims * sizeof(float));
            int written = 0;
            // Rows go straight into the pooled segments, a block of rows at a time.
            int rowBytes = state.Dims * sizeof(float);
            int perBlock = Math.Max(1, 65536 / rowBytes);
            for (int i = 0; i < ids.Length; i += perBlock)
            {
                int count = Math.Min(perBlock, ids.Length - i);
                Span<byte> target = rows.GetSpan(count * rowBytes)[..(count * rowBytes)];
                state.Gather(ids.Slice(i, count), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(target));
                rows.Advance(count * rowBytes);
                written += count * rowBytes;
            }
            Debug.Assert(written == bytes);
            return Task.FromResult(new ShardRows(rows, state.StepNumber));
        }
        finally
        {
            idBuffer.Dispose();
        }
    }

    public Task<ShardAck> Apply(ApplyRequest request)
    {
        const string op = "orleans.apply";
        PooledBuffer idBuffer = request.Ids, gradBuffer = request.Gradients;
        try
        {
            ShardState state = Open(request.Spec);
            using Payload.Rented<long> idRows = Payload.Rent<long>(idBuffer, op, "ids");
            using Payload.Rented<float> gradRows = Payload.Rent<float>(gradBuffer, op, "gradients");
            ReadOnlySpan<long> ids = idRows.Span;
            ReadOnlySpan<float> grads = gradRows.Span;
            if (grads.Length != (long)ids.Length * state.Dims)
                throw new ArgumentException($"[{op}] {grads.Length} gradient floats for {ids.Length} ids of {state.Dims} dims");
            CheckIds(ids, op);
            if (!_applied.TryGetValue(request.Client, out RecentCalls? recent))
                _applied[request.Client] = recent = new RecentCalls();
            // A call seen before is a retry whose first try ran here but whose answer was lost: skip it.
            if (recent.Add(request.Sequence))
                state.Apply(ids, grads, request.Step.ToStep());
            return Task.FromResult(new ShardAck(state.Count, state.StepNumber));
        }
        catch (EmbedSharp.Diagnostics.NonFiniteException ex)
        {
            // Orleans has no codec for core's exception (the caller would see CodecNotFoundException): send its base
            // type with the same message; the store turns it back into a NonFiniteException.
            throw new ArithmeticException(ex.Message);
        }
        finally
        {
            idBuffer.Dispose();
            gradBuffer.Dispose();
        }
    }

    public Task<ShardAck> Write(WriteRequest request)
    {
        const string op = "orleans.write";
        PooledBuffer idBuffer = request.Ids, rowBuffer = request.Rows, stateBuffer = request.States;
        try
        {
            ShardState state = Open(request.Spec);
            long[] ids = Payload.ToArray<long>(idBuffer, op, "ids");
            float[] rows = Payload.ToArray<float>(rowBuffer, op, "rows");
            float[] states = Payload.ToArray<float>(stateBuffer, op, "states");
            if (rows.Length != (long)ids.Length * state.Dims)
                throw new ArgumentException($"[{op}] {rows.Length} row floats for {ids.Length} ids of {state.Dims} dims");
            CheckIds(ids, op);
            state.Write(ids, rows, request.Optimizer?.ToStep(), states);
            return Task.FromResult(new ShardAck(state.Count, state.StepNumber));
        }
        finally
        {
            idBuffer.Dispose();
            rowBuffer.Dispose();
            stateBuffer.Dispose();
        }
    }

    public Task<ShardAck> Delete(DeleteRequest request)
    {
        const string op = "orleans.delete";
        PooledBuffer idBuffer = request.Ids;
        try
        {
            ShardState state = Open(request.Spec);
            using Payload.Rented<long> rented = Payload.Rent<long>(idBuffer, op, "ids");
            CheckIds(rented.Span, op);
            state.Delete(rented.Span);
            return Task.FromResult(new ShardAck(state.Count, state.StepNumber));
        }
        finally
        {
            idBuffer.Dispose();
        }
    }

    public Task<ShardAck> Clear(ShardSpec spec)
    {
        ShardState state = Open(spec);
        state.Clear();
        return Task.FromResult(new ShardAck(0, 0));
    }

    public Task<ShardStatus> Describe(ShardSpec spec)
    {
        ShardState state = Open(spec);
        return Task.FromResult(new ShardStatus(RuntimeIdentity, state.Count, state.StepNumber, _openedFrom, _activatedUtc));
    }

    public Task<ShardExport> Export(ExportRequest request)
    {
        const string op = "orleans.export";
        ShardState state = Open(request.Spec);
        if (request.MaxRows < 1)
            throw new ArgumentOutOfRangeException(nameof(request), request.MaxRows, $"[{op}] MaxRows must be at least 1");
        long[] all = state.SortedIds();
        int start = 0;
        if (request.HasAfter)
        {
            start = Array.BinarySearch(all, request.AfterId);
            start = start >= 0 ? start + 1 : ~start;
        }
        int count = Math.Min(request.MaxRows, all.Length - start);
        ReadOnlySpan<long> ids = all.AsSpan(start, count);
        var rows = new float[count * state.Dims];
        var states = new float[count * state.StateWidth];
        state.Read(ids, rows, states);
        return Task.FromResult(new ShardExport(Payload.From(ids), Payload.From<float>(rows), Payload.From<float>(states),
            state.StateWidth, state.LastStep is { } s ? WireStep.From(s) : null, start + count >= all.Length));
    }

    public async Task<ShardSnapshot> Snapshot(SnapshotRequest request)
    {
        const string op = "orleans.snapshot";
        ShardState state = Open(request.Spec);
        string folder = SnapshotFolder(op, request.Spec.Table, request.SnapshotId, create: true);
        if (request.Optimizer is { } storeRule)
            state.Adopt(storeRule.ToStep());
        int n = _ranges.Length;
        var names = new string[n];
        var first = new int[n];
        var end = new int[n];
        var counts = new long[n];
        var sums = new ulong[n];
        OptimizerKind kind = state.LastStep?.Kind ?? OptimizerKind.None;
        for (int r = 0; r < n; r++)
        {
            BucketRange range = _ranges[r];
            long[] ids = state.IdsIn(range);
            var rows = new float[ids.Length * state.Dims];
            var states = new float[ids.Length * state.StateWidth];
            state.Read(ids, rows, states);
            string name = SnapshotChunk.NameFor(range);
            SnapshotChunkHeader header = await SharedFolder.WriteAtomicAsync(Path.Combine(folder, name), stream =>
                SnapshotChunk.Write(stream, request.Spec.Table, state.Dims, kind, state.StateWidth, state.StepNumber, range, ids, rows, states)).ConfigureAwait(true);
            (names[r], first[r], end[r], counts[r], sums[r]) = (name, range.First, range.End, header.RowCount, header.Checksum);
        }
        return new ShardSnapshot(names, first, end, counts, sums, state.StateWidth, state.LastStep is { } s ? WireStep.From(s) : null);
    }

    public Task<ShardAck> Restore(SnapshotRequest request)
    {
        const string op = "orleans.restore";
        ShardState state = Open(request.Spec);
        SnapshotNames.Check(op, request.SnapshotId);
        var fresh = new ShardState(state.Dims);
        Load(fresh, request.Spec, request.SnapshotId);
        _state = fresh;
        _openedFrom = request.SnapshotId;
        return Task.FromResult(new ShardAck(fresh.Count, fresh.StepNumber));
    }

    /// <summary>Commits a snapshot: writes its manifest (after every shard wrote its chunks), checked, atomically.</summary>
    public async Task<ShardAck> CommitSnapshot(SnapshotRequest request, PooledBuffer manifest)
    {
        const string op = "orleans.snapshot";
        try
        {
            Open(request.Spec);
            byte[] bytes = Payload.ToArray<byte>(manifest, op, "manifest");
            SnapshotManifest parsed = SnapshotManifest.Read(new MemoryStream(bytes), SnapshotNames.Manifest);
            if (parsed.Table != request.Spec.Table)
                throw new ArgumentException($"[{op}] the manifest is for table '{parsed.Table}', not '{request.Spec.Table}'");
            string folder = SnapshotFolder(op, request.Spec.Table, request.SnapshotId, create: false);
            foreach (SnapshotChunkEntry chunk in parsed.Chunks)
                if (!File.Exists(Path.Combine(folder, chunk.Name)))
                    throw new InvalidOperationException($"[{op}] chunk {chunk.Name} of snapshot {request.SnapshotId} is missing; a shard's snapshot did not complete");
            await SharedFolder.WriteAtomicAsync(Path.Combine(folder, SnapshotNames.Manifest), stream => stream.Write(bytes)).ConfigureAwait(true);
            await SharedFolder.WriteAtomicAsync(Path.Combine(options.SnapshotRoot!, request.Spec.Table, LatestFile),
                stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(request.SnapshotId + "\n"))).ConfigureAwait(true);
            return new ShardAck(parsed.Chunks.Count, parsed.Step);
        }
        finally
        {
            manifest.Dispose();
        }
    }

    /// <summary>The file in a table's snapshot folder that names its newest committed snapshot.</summary>
    internal const string LatestFile = "latest";

    /// <summary>
    /// The table's newest committed snapshot (from <see cref="LatestFile"/>), which a shard opening with no snapshot
    /// named loads: a shard placed anew after a crash comes back from it whichever client reaches it first.
    /// </summary>
    private string? LatestSnapshot(string table)
    {
        const string op = "orleans.restore";
        if (options.SnapshotRoot is null || !ShardKey.IsValidTableName(table))
            return null;
        string path = Path.Combine(options.SnapshotRoot, table, LatestFile);
        if (!File.Exists(path))
            return null;
        string id = File.ReadAllText(path).Trim();
        try
        {
            SnapshotNames.Check(op, id);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"[{op}] {path}: '{id}' is not a snapshot name", ex);
        }
        return id;
    }

    private string SnapshotFolder(string op, string table, string snapshotId, bool create)
    {
        if (options.SnapshotRoot is null)
            throw new InvalidOperationException($"[{op}] this silo has no snapshot folder; start it with --snapshots DIR (a folder every silo sees)");
        SnapshotNames.Check(op, snapshotId);
        if (!ShardKey.IsValidTableName(table))
            throw new ArgumentException($"[{op}] table name '{table}' is not valid");
        string folder = Path.Combine(options.SnapshotRoot, table, snapshotId);
        if (create)
            Directory.CreateDirectory(folder);
        else if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"[{op}] snapshot '{snapshotId}' of table '{table}' does not exist under {options.SnapshotRoot}");
        return folder;
    }

    /// <summary>Loads the rows of this shard's buckets from a committed snapshot (manifest first, then the overlapping chunks).</summary>
    private void Load(ShardState state, ShardSpec spec, string snapshotId)
    {
        const string op = "orleans.restore";
        string folder = SnapshotFolder(op, spec.Table, snapshotId, create: false);
        string manifestPath = Path.Combine(folder, SnapshotNames.Manifest);
        if (!File.Exists(manifestPath))
            throw new InvalidDataException($"[{op}] snapshot '{snapshotId}' of table '{spec.Table}' has no manifest; it is incomplete");
        SnapshotManifest manifest;
        using (var stream = File.OpenRead(manifestPath))
            manifest = SnapshotManifest.Read(stream, manifestPath);
        if (manifest.Table != spec.Table || manifest.Dims != spec.Dims)
            throw new InvalidDataException($"[{op}] {manifestPath}: snapshot of table '{manifest.Table}' with {manifest.Dims} dims; this shard is '{spec.Table}' with {spec.Dims}");
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (BucketRange range in _ranges)
        {
            foreach (SnapshotChunkEntry chunk in manifest.ChunksOverlapping(range))
            {
                if (!loaded.Add(chunk.Name))
                    continue;
                string path = Path.Combine(folder, chunk.Name);
                SnapshotRecords records;
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                    records = SnapshotChunk.Read(stream, path, spec.NumEmbeddings >= 0 ? spec.NumEmbeddings : null, spec.Dims, manifest.StateWidth).Records;
                var keep = new List<int>();
                for (int i = 0; i < records.Ids.Length; i++)
                    if (InRanges(BucketRouter.BucketOf(records.Ids[i])))
                        keep.Add(i);
                if (keep.Count == records.Ids.Length)
                {
                    // The whole chunk is this shard's (same plan as the snapshot's): no copy.
                    state.Write(records.Ids, records.Rows, manifest.Optimizer, manifest.Optimizer is null ? ReadOnlyMemory<float>.Empty : records.States);
                    continue;
                }
                long[] ids = new long[keep.Count];
                var rows = new float[keep.Count * spec.Dims];
                var states = new float[keep.Count * manifest.StateWidth];
                for (int k = 0; k < keep.Count; k++)
                {
                    int i = keep[k];
                    ids[k] = records.Ids[i];
                    records.Rows.AsSpan(i * spec.Dims, spec.Dims).CopyTo(rows.AsSpan(k * spec.Dims));
                    records.States.AsSpan(i * manifest.StateWidth, manifest.StateWidth).CopyTo(states.AsSpan(k * manifest.StateWidth));
                }
                state.Write(ids, rows, manifest.Optimizer, manifest.Optimizer is null ? [] : states);
            }
        }
    }
}
