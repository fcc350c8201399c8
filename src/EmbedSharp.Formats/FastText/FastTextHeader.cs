using EmbedSharp.Formats.IO;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Formats.FastText;

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
