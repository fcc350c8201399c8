using EmbedSharp.Diagnostics;

namespace EmbedSharp.Tables;

/// <summary>
/// One table of a <see cref="TableCollection"/> (TorchRec's <c>EmbeddingBagConfig</c>): its name, shape,
/// pooling, storage and the features that look it up. Several features may share one table.
/// </summary>
public sealed class TableConfig
{
    /// <summary>Describes a table.</summary>
    /// <param name="name">Unique table name.</param>
    /// <param name="numEmbeddings">Rows of the table.</param>
    /// <param name="dims">Length of each row and of each pooled output of its features.</param>
    /// <param name="featureNames">Features pooled from this table (each unique within a collection); at least one.</param>
    /// <param name="poolingMode">Pooling of every feature of this table; <see cref="PoolingMode.Sum"/> by default, as TorchRec.</param>
    /// <param name="dtype">Storage type.</param>
    /// <exception cref="ArgumentException">An empty name, no features, an empty or repeated feature name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative size or an unknown pooling mode.</exception>
    public TableConfig(string name, int numEmbeddings, int dims, IReadOnlyList<string> featureNames,
        PoolingMode poolingMode = PoolingMode.Sum, DType dtype = DType.Float32)
    {
        const string op = "table_config";
        if (string.IsNullOrEmpty(name))
            ThrowHelper.Argument(op, nameof(name), "the table name must not be empty");
        Guard.NonNegative(op, numEmbeddings);
        Guard.NonNegative(op, dims);
        Guard.NotNull(op, featureNames);
        if (featureNames.Count == 0)
            ThrowHelper.Argument(op, nameof(featureNames), $"table '{name}' needs at least one feature name");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string f in featureNames)
            if (string.IsNullOrEmpty(f) || !seen.Add(f))
                ThrowHelper.Argument(op, nameof(featureNames), $"table '{name}': feature name '{f}' is empty or repeated");
        if (!Enum.IsDefined(poolingMode))
            ThrowHelper.ArgumentOutOfRange(op, nameof(poolingMode), poolingMode, $"pooling mode {poolingMode} is unknown; valid values are Sum, Mean, Max");
        Name = name;
        NumEmbeddings = numEmbeddings;
        Dims = dims;
        FeatureNames = [.. featureNames];
        PoolingMode = poolingMode;
        DType = dtype;
    }

    /// <summary>Unique table name.</summary>
    public string Name { get; }

    /// <summary>Rows of the table.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each row.</summary>
    public int Dims { get; }

    /// <summary>Features that look this table up.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Pooling of this table's features.</summary>
    public PoolingMode PoolingMode { get; }

    /// <summary>Storage type.</summary>
    public DType DType { get; }
}
