using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>Fused backward + optimizer step for a <see cref="TableCollection"/>.</summary>
public static class TableCollectionTraining
{
    /// <summary>
    /// Computes every table's coalesced gradient (see <see cref="TableCollectionBackward.Backward"/>) and
    /// applies one step per table with the optimizer keyed by that table's name; tables without an
    /// optimizer stay frozen. All inputs are validated before any table changes.
    /// </summary>
    /// <exception cref="ArgumentException">An optimizer is keyed by an unknown table or bound to another table; the batch or gradient is malformed.</exception>
    public static void BackwardAndStep(this TableCollection collection, KeyedBatch batch, ReadOnlySpan<float> gradOutput,
        IReadOnlyDictionary<string, SparseOptimizer> optimizers)
    {
        const string op = "table_collection.backward_step";
        Guard.NotNull(op, collection);
        Guard.NotNull(op, optimizers);
        foreach (var (name, optimizer) in optimizers)
        {
            if (!collection.TryGetTable(name, out var table))
                ThrowHelper.Argument(op, nameof(optimizers), $"no table named '{name}' (tables: {string.Join(", ", collection.Configs.Select(c => c.Name))})");
            if (optimizer is null || !ReferenceEquals(optimizer.Table, table))
                ThrowHelper.Argument(op, nameof(optimizers), $"the optimizer for '{name}' is null or was created over another table");
        }
        foreach (var (name, gradient) in collection.Backward(batch, gradOutput))
            if (optimizers.TryGetValue(name, out var optimizer))
                optimizer.Step(gradient);
    }
}
