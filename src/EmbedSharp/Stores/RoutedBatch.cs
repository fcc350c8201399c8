using System.Buffers;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Stores;

/// <summary>
/// A batch of ids split by shard, deduplicated: what a backend sends to each shard, and how the answers
/// go back to the batch's positions. Backends (in-process, Orleans, Redis) share this one grouping.
/// </summary>
/// <remarks>
/// <para>The distinct ids of the batch are laid out shard after shard: shard s's ids are
/// <c>UniqueIds[ShardStart[s] .. ShardStart[s+1])</c>, in order of their first appearance in the batch.
/// <c>SourceOf[i]</c> is the index into <see cref="UniqueIds"/> of position i's id.</para>
/// <para>Gather: ask each shard for its ids into rows <c>[ShardStart[s], ShardStart[s+1])</c> of one
/// buffer of <c>UniqueCount × dims</c> floats, then <see cref="Scatter"/> copies row
/// <c>SourceOf[i]</c> to output row i. Gradients: <see cref="SumByUnique"/> adds the rows of repeated
/// positions (in ascending position order, so sums are deterministic) into that same layout.</para>
/// <para>Example: plan with 2 shards, ids <c>[7, 3, 7, 9]</c> where 7 and 9 are on shard 1 and 3 on
/// shard 0: <c>UniqueIds = [3, 7, 9]</c>, <c>ShardStart = [0, 1, 3]</c>, <c>SourceOf = [1, 0, 1, 2]</c>.</para>
/// </remarks>
public sealed class RoutedBatch
{
    private readonly long[] _unique;
    private readonly int[] _shardStart;
    private readonly int[] _sourceOf;

    private RoutedBatch(long[] unique, int[] shardStart, int[] sourceOf)
    {
        _unique = unique;
        _shardStart = shardStart;
        _sourceOf = sourceOf;
    }

    /// <summary>The number of shards of the plan the batch was routed with.</summary>
    public int ShardCount => _shardStart.Length - 1;

    /// <summary>The number of positions of the batch.</summary>
    public int Count => _sourceOf.Length;

    /// <summary>The number of distinct ids.</summary>
    public int UniqueCount => _unique.Length;

    /// <summary>True when some id appears more than once.</summary>
    public bool HasDuplicates => _unique.Length != _sourceOf.Length;

    /// <summary>The distinct ids, shard after shard.</summary>
    public ReadOnlySpan<long> UniqueIds => _unique;

    /// <summary>Where each shard's ids start in <see cref="UniqueIds"/>; <see cref="ShardCount"/> + 1 entries.</summary>
    public ReadOnlySpan<int> ShardStart => _shardStart;

    /// <summary>For each position of the batch, the index of its id in <see cref="UniqueIds"/>.</summary>
    public ReadOnlySpan<int> SourceOf => _sourceOf;

    /// <summary>The distinct ids shard <paramref name="shard"/> owns, in order of first appearance.</summary>
    public ReadOnlySpan<long> IdsOf(int shard) => _unique.AsSpan(_shardStart[shard], _shardStart[shard + 1] - _shardStart[shard]);

    /// <summary>
    /// Copies row <c>SourceOf[i]</c> of <paramref name="gathered"/> (<see cref="UniqueCount"/> rows) to row i of
    /// <paramref name="destination"/> (<see cref="Count"/> rows), <paramref name="dims"/> floats a row.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is shorter than its rows.</exception>
    public void Scatter(ReadOnlySpan<float> gathered, Span<float> destination, int dims)
    {
        const string op = "store.scatter";
        Guard.Positive(op, dims);
        Guard.MinLength(op, gathered.Length, (long)UniqueCount * dims, $"UniqueCount × dims = {UniqueCount} × {dims}");
        Guard.MinLength(op, destination.Length, (long)Count * dims, $"Count × dims = {Count} × {dims}");
        for (int i = 0; i < _sourceOf.Length; i++)
            gathered.Slice(_sourceOf[i] * dims, dims).CopyTo(destination.Slice(i * dims, dims));
    }

    /// <summary>
    /// Sums per-position rows into per-id rows: row u of <paramref name="destination"/> is the sum of the rows
    /// of <paramref name="perPosition"/> whose position has id <c>UniqueIds[u]</c>, added in ascending position
    /// order starting from the first such row (a copy when the id appears once).
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is shorter than its rows.</exception>
    public void SumByUnique(ReadOnlySpan<float> perPosition, Span<float> destination, int dims)
    {
        const string op = "store.sum_by_unique";
        Guard.Positive(op, dims);
        Guard.MinLength(op, perPosition.Length, (long)Count * dims, $"Count × dims = {Count} × {dims}");
        Guard.MinLength(op, destination.Length, (long)UniqueCount * dims, $"UniqueCount × dims = {UniqueCount} × {dims}");
        var seen = new bool[_unique.Length];
        for (int i = 0; i < _sourceOf.Length; i++)
        {
            int u = _sourceOf[i];
            ReadOnlySpan<float> row = perPosition.Slice(i * dims, dims);
            Span<float> target = destination.Slice(u * dims, dims);
            if (!seen[u])
            {
                row.CopyTo(target);
                seen[u] = true;
            }
            else
            {
                System.Numerics.Tensors.TensorPrimitives.Add(target, row, target);
            }
        }
    }

    /// <summary>Groups <paramref name="ids"/> by the shard <paramref name="plan"/> gives their bucket.</summary>
    internal static RoutedBatch Build(ShardingPlan plan, ReadOnlySpan<long> ids)
    {
        Guard.NotNull("store.route", plan);
        int n = ids.Length;
        var sourceOf = new int[n];
        // Pass 1: distinct ids in order of first appearance (open addressing, linear probing), with their shard.
        int capacity = (int)Math.Max(16, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, n) * 2));
        // Scratch from the pool: a 4,096-id batch needs 192 KiB of table, which would otherwise land on the large-object heap each call.
        long[] keys = ArrayPool<long>.Shared.Rent(capacity);
        int[] slots = ArrayPool<int>.Shared.Rent(capacity);
        long[] firstIds = ArrayPool<long>.Shared.Rent(n);
        int[] shardOfFirst = ArrayPool<int>.Shared.Rent(n);
        Array.Clear(slots, 0, capacity);
        int distinct = 0;
        int mask = capacity - 1;
        for (int i = 0; i < n; i++)
        {
            long id = ids[i];
            ulong mix = BucketRouter.Mix64(id);
            int h = (int)(mix >> 40) & mask;
            while (true)
            {
                int s = slots[h];
                if (s == 0)
                {
                    keys[h] = id;
                    slots[h] = ++distinct;
                    firstIds[distinct - 1] = id;
                    shardOfFirst[distinct - 1] = plan.ShardOfBucket((int)(mix & (BucketRouter.BucketCount - 1)));
                    sourceOf[i] = distinct - 1;
                    break;
                }
                if (keys[h] == id)
                {
                    sourceOf[i] = s - 1;
                    break;
                }
                h = (h + 1) & mask;
            }
        }
        // Pass 2: a stable counting sort of the distinct ids by shard.
        int shards = plan.ShardCount;
        var shardStart = new int[shards + 1];
        for (int u = 0; u < distinct; u++)
            shardStart[shardOfFirst[u] + 1]++;
        for (int s = 0; s < shards; s++)
            shardStart[s + 1] += shardStart[s];
        var next = shardStart.AsSpan(0, shards).ToArray();
        var unique = new long[distinct];
        var moved = new int[distinct];
        for (int u = 0; u < distinct; u++)
        {
            int at = next[shardOfFirst[u]]++;
            unique[at] = firstIds[u];
            moved[u] = at;
        }
        for (int i = 0; i < n; i++)
            sourceOf[i] = moved[sourceOf[i]];
        ArrayPool<long>.Shared.Return(keys);
        ArrayPool<int>.Shared.Return(slots);
        ArrayPool<long>.Shared.Return(firstIds);
        ArrayPool<int>.Shared.Return(shardOfFirst);
        return new RoutedBatch(unique, shardStart, sourceOf);
    }
}
