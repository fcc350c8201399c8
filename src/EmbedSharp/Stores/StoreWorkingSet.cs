using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>
/// The rows one training batch touches, fetched from a store into a small local table so core's layers
/// (<see cref="EmbeddingBag"/>, <see cref="Embedding"/>) run on them unchanged; their sparse gradient goes back
/// to the store with <see cref="PushAsync"/>, where the optimizer runs. This is how a training loop runs
/// against any <see cref="IEmbeddingStore"/>, however large the table.
/// </summary>
/// <remarks>
/// <code>
/// using var ws = await StoreWorkingSet.FetchAsync(store, batchIds);     // distinct ids → local slots 0..Count-1
/// using EmbeddingBag bag = ws.Bag(new EmbeddingBagOptions { Mode = PoolingMode.Sum });
/// float[] pooled = bag.Forward(ws.Indices, offsets);                    // same numbers as on the whole table
/// SparseGradient g = bag.Backward(ws.Indices, offsets, gradOutput);      // summed per local slot
/// await ws.PushAsync(store, g, OptimizerStep.Adagrad(0.1, t));           // slots → ids, applied in the store
/// </code>
/// Local slot k holds <c>Ids[k]</c>; ids keep the order of their first appearance in the batch.
/// </remarks>
public sealed class StoreWorkingSet : IDisposable
{
    private readonly long[] _ids;

    private StoreWorkingSet(long[] ids, int[] indices, EmbeddingTable rows)
    {
        _ids = ids;
        Indices = indices;
        Rows = rows;
    }

    /// <summary>The distinct ids of the batch; local slot k holds <c>Ids[k]</c>.</summary>
    public ReadOnlySpan<long> Ids => _ids;

    /// <summary>The number of distinct ids (the local table's <c>NumEmbeddings</c>).</summary>
    public int Count => _ids.Length;

    /// <summary>For each position of the batch, its local slot: the indices to hand to a layer over <see cref="Rows"/>.</summary>
    public int[] Indices { get; }

    /// <summary>The fetched rows, <see cref="Count"/> × Dims.</summary>
    public EmbeddingTable Rows { get; }

    /// <summary>Fetches the rows of <paramref name="ids"/> (repeats allowed) from <paramref name="store"/>.</summary>
    public static async ValueTask<StoreWorkingSet> FetchAsync(IEmbeddingRowReader store, ReadOnlyMemory<long> ids, CancellationToken cancellationToken = default)
    {
        const string op = "store.fetch";
        Guard.NotNull(op, store);
        var slotOf = new Dictionary<long, int>(ids.Length);
        var unique = new List<long>();
        var indices = new int[ids.Length];
        ReadOnlySpan<long> span = ids.Span;
        for (int i = 0; i < span.Length; i++)
        {
            if (!slotOf.TryGetValue(span[i], out int slot))
            {
                slot = unique.Count;
                slotOf.Add(span[i], slot);
                unique.Add(span[i]);
            }
            indices[i] = slot;
        }
        long[] distinct = [.. unique];
        int dims = store.Info.Dims;
        var rows = new float[(long)distinct.Length * dims];
        await store.GatherAsync(distinct, rows, cancellationToken).ConfigureAwait(false);
        var table = new EmbeddingTable(distinct.Length, dims);
        table.CopyFrom(rows);
        return new StoreWorkingSet(distinct, indices, table);
    }

    /// <summary>
    /// A bag layer over <see cref="Rows"/> (not copied) with <paramref name="options"/> (a padding index, if any, is a local slot).
    /// Dispose either the bag or this working set.
    /// </summary>
    public EmbeddingBag Bag(EmbeddingBagOptions? options = null) => EmbeddingBag.Over(Rows, options ?? new EmbeddingBagOptions());

    /// <summary>A trainable <see cref="Embedding"/> over a copy of <see cref="Rows"/>.</summary>
    public Embedding Embedding(EmbeddingOptions? options = null) => EmbedSharp.Embedding.FromPretrained(Rows, freeze: false, options);

    /// <summary>
    /// Sends a gradient over local slots (a layer's <c>Backward</c> over <see cref="Indices"/>) to <paramref name="store"/>:
    /// row slot k becomes id <c>Ids[k]</c>, and the store applies <paramref name="step"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The gradient is not shaped <see cref="Count"/> × Dims.</exception>
    public ValueTask PushAsync(IEmbeddingStore store, SparseGradient gradient, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        const string op = "store.push";
        Guard.NotNull(op, store);
        Guard.NotNull(op, gradient);
        if (gradient.NumEmbeddings != Count || gradient.Dims != Rows.Dims)
            ThrowHelper.Argument(op, nameof(gradient), $"the gradient is for a {gradient.NumEmbeddings} × {gradient.Dims} table but the working set holds {Count} × {Rows.Dims}; take it from a layer over this working set");
        var ids = new long[gradient.Count];
        for (int k = 0; k < ids.Length; k++)
            ids[k] = _ids[gradient.Rows[k]];
        return store.ApplyGradientsAsync(ids, gradient.Values.ToArray(), step, cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose() => Rows.Dispose();
}

/// <summary>
/// Moves rows and gradients between a store and a local full-size table, for layers that keep one
/// (<see cref="TableCollection"/>): pull the batch's rows before the forward pass, push
/// <see cref="TableCollection.SummedGradients"/> after the backward pass.
/// </summary>
public static class StoreSync
{
    /// <summary>Copies the store's rows of <paramref name="ids"/> into the same rows of <paramref name="local"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a row of <paramref name="local"/>.</exception>
    public static async ValueTask PullRowsAsync(IEmbeddingRowReader store, ReadOnlyMemory<int> ids, EmbeddingTable local, CancellationToken cancellationToken = default)
    {
        const string op = "store.pull";
        Guard.NotNull(op, store);
        Guard.NotNull(op, local);
        if (store.Info.Dims != local.Dims)
            ThrowHelper.Argument(op, nameof(local), $"the local table has {local.Dims} dims but the store's rows have {store.Info.Dims}");
        int bad = Numerics.Kernels.FirstOutOfRange(ids.Span, local.NumEmbeddings);
        if (bad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(ids), ids.Span[bad], bad, local.NumEmbeddings);
        long[] distinct = [.. ids.ToArray().Distinct().Select(i => (long)i)];
        var rows = new float[(long)distinct.Length * local.Dims];
        await store.GatherAsync(distinct, rows, cancellationToken).ConfigureAwait(false);
        for (int k = 0; k < distinct.Length; k++)
            local.WriteRow((int)distinct[k], rows.AsSpan(k * local.Dims, local.Dims));
    }

    /// <summary>Applies a gradient whose rows are the store's ids (as <see cref="TableCollection.SummedGradients"/> gives) in <paramref name="store"/>.</summary>
    public static ValueTask PushAsync(IEmbeddingStore store, SparseGradient gradient, OptimizerStep step, CancellationToken cancellationToken = default)
    {
        const string op = "store.push";
        Guard.NotNull(op, store);
        Guard.NotNull(op, gradient);
        long[] ids = [.. gradient.Rows.ToArray().Select(r => (long)r)];
        return store.ApplyGradientsAsync(ids, gradient.Values.ToArray(), step, cancellationToken);
    }
}
