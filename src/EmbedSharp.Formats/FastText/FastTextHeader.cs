using EmbedSharp.Formats.IO;

namespace EmbedSharp.Formats.FastText;

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

/// <summary>The training arguments stored in a model, in file order.</summary>
public sealed record FastTextArgs
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
}

/// <summary>
/// The start of a model file: magic, version and the args section.
/// </summary>
/// <param name="Version">File version (11 or 12).</param>
/// <param name="Args">Training arguments.</param>
public readonly record struct FastTextHeader(int Version, FastTextArgs Args)
{
    internal static FastTextHeader Read(ByteReader r)
    {
        long at = r.Offset;
        int magic = r.ReadInt32("the magic number");
        if (magic != FastTextConstants.Magic)
            throw r.Error($"magic number 0x{magic:X8} is not fastText's 0x{FastTextConstants.Magic:X8}; not a fastText model", at);
        int version = r.ReadInt32("the version");
        if (version < FastTextConstants.OldestVersion || version > FastTextConstants.Version)
            throw r.Error($"version {version} is not supported (valid values are {FastTextConstants.OldestVersion}..{FastTextConstants.Version})", at + 4);
        long argsAt = r.Offset;
        var args = new FastTextArgs
        {
            Dims = r.ReadInt32("args.dim"),
            WindowSize = r.ReadInt32("args.ws"),
            Epoch = r.ReadInt32("args.epoch"),
            MinCount = r.ReadInt32("args.minCount"),
            Neg = r.ReadInt32("args.neg"),
            WordNgrams = r.ReadInt32("args.wordNgrams"),
            Loss = (FastTextLoss)r.ReadInt32("args.loss"),
            Model = (FastTextModelKind)r.ReadInt32("args.model"),
            Bucket = r.ReadInt32("args.bucket"),
            Minn = r.ReadInt32("args.minn"),
            Maxn = r.ReadInt32("args.maxn"),
            LrUpdateRate = r.ReadInt32("args.lrUpdateRate"),
            SamplingThreshold = r.ReadDouble("args.t"),
        };
        string? problem = Validate(args);
        if (problem is not null)
            throw r.Error(problem, argsAt);
        // Compatibility: version 11 supervised models were trained without character n-grams, and
        // fastText zeroes maxn when it loads them.
        if (version == 11 && args.Model == FastTextModelKind.Supervised)
            args = args with { Maxn = 0 };
        return new FastTextHeader(version, args);
    }

    internal static string? Validate(FastTextArgs a)
    {
        if (a.Dims < 1 || a.Dims > FastTextConstants.MaxDims)
            return $"args.dim {a.Dims} must be in 1..{FastTextConstants.MaxDims}";
        if (!Enum.IsDefined(a.Loss))
            return $"args.loss {(int)a.Loss} is unknown (valid values are 1 hs, 2 ns, 3 softmax, 4 ova)";
        if (!Enum.IsDefined(a.Model))
            return $"args.model {(int)a.Model} is unknown (valid values are 1 cbow, 2 skipgram, 3 supervised)";
        if (a.Bucket < 0)
            return $"args.bucket {a.Bucket} must be ≥ 0";
        if (a.Minn < 0 || a.Maxn < 0)
            return $"args.minn {a.Minn} and args.maxn {a.Maxn} must be ≥ 0";
        if (a.Maxn > 0 && a.Bucket == 0)
            return $"args.maxn {a.Maxn} asks for character n-grams but args.bucket is 0";
        return null;
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(FastTextConstants.Magic);
        w.Write(Version);
        w.Write(Args.Dims);
        w.Write(Args.WindowSize);
        w.Write(Args.Epoch);
        w.Write(Args.MinCount);
        w.Write(Args.Neg);
        w.Write(Args.WordNgrams);
        w.Write((int)Args.Loss);
        w.Write((int)Args.Model);
        w.Write(Args.Bucket);
        w.Write(Args.Minn);
        w.Write(Args.Maxn);
        w.Write(Args.LrUpdateRate);
        w.Write(Args.SamplingThreshold);
    }
}
