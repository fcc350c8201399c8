namespace EmbedSharp.Vocabularies;

/// <summary>fastText's model kind (<c>model_name</c>).</summary>
public enum FastTextModelKind
{
    /// <summary>Continuous bag of words.</summary>
    Cbow = 1,
    /// <summary>Skip-gram.</summary>
    Skipgram = 2,
    /// <summary>Supervised classifier.</summary>
    Supervised = 3,
}

/// <summary>fastText's loss (<c>loss_name</c>).</summary>
public enum FastTextLoss
{
    /// <summary>Hierarchical softmax.</summary>
    HierarchicalSoftmax = 1,
    /// <summary>Negative sampling.</summary>
    NegativeSampling = 2,
    /// <summary>Full softmax.</summary>
    Softmax = 3,
    /// <summary>One-vs-all.</summary>
    OneVsAll = 4,
}

/// <summary>
/// fastText's arguments as a model file stores them (its <c>Args</c>, in file order): one record that
/// EmbedSharp.Formats reads and writes and EmbedSharp.Training's options extend with run-time settings.
/// </summary>
public record FastTextArgs
{
    /// <summary>Vector length (<c>-dim</c>).</summary>
    public int Dims { get; init; } = 100;
    /// <summary>Context window (<c>-ws</c>).</summary>
    public int WindowSize { get; init; } = 5;
    /// <summary>Epochs (<c>-epoch</c>).</summary>
    public int Epoch { get; init; } = 5;
    /// <summary>Minimum word count (<c>-minCount</c>).</summary>
    public int MinCount { get; init; } = 5;
    /// <summary>Negatives sampled (<c>-neg</c>).</summary>
    public int Neg { get; init; } = 5;
    /// <summary>Word n-gram length (<c>-wordNgrams</c>).</summary>
    public int WordNgrams { get; init; } = 1;
    /// <summary>Loss.</summary>
    public FastTextLoss Loss { get; init; } = FastTextLoss.NegativeSampling;
    /// <summary>Model kind.</summary>
    public FastTextModelKind Model { get; init; } = FastTextModelKind.Skipgram;
    /// <summary>Hash buckets for n-grams (<c>-bucket</c>).</summary>
    public int Bucket { get; init; } = 2000000;
    /// <summary>Shortest character n-gram (<c>-minn</c>).</summary>
    public int Minn { get; init; } = 3;
    /// <summary>Longest character n-gram (<c>-maxn</c>); 0 means none.</summary>
    public int Maxn { get; init; } = 6;
    /// <summary>Learning-rate update interval (<c>-lrUpdateRate</c>).</summary>
    public int LrUpdateRate { get; init; } = 100;
    /// <summary>Sampling threshold (<c>-t</c>).</summary>
    public double SamplingThreshold { get; init; } = 1e-4;

    /// <summary>These fields alone, as a plain <see cref="FastTextArgs"/> (a derived record, such as Training's options, carries more).</summary>
    public FastTextArgs ToArgs() => new(this);
}
