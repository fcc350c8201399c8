using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Hnsw;

/// <summary>Build and search parameters of <see cref="HnswIndex"/> (the names of Malkov &amp; Yashunin and hnswlib).</summary>
public sealed record HnswOptions
{
    /// <summary>Links per node on the upper layers; layer 0 keeps <c>2·M</c>. 16 is hnswlib's usual choice.</summary>
    public int M { get; init; } = 16;

    /// <summary>Candidate list size while inserting: larger builds slower and finds better links.</summary>
    public int EfConstruction { get; init; } = 200;

    /// <summary>Default candidate list size while searching (raised to k when smaller).</summary>
    public int EfSearch { get; init; } = 64;

    /// <summary>Seed of the level draws: the same seed and single-threaded build give the same graph.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// Filtered searches whose filter allows fewer than this fraction of the live vectors are answered
    /// by an exact scan of the allowed vectors (exact, and faster than a graph walk that must skip most nodes).
    /// </summary>
    public double ExactScanBelowSelectivity { get; init; } = 0.05;

    internal void Validate(string op)
    {
        Guard.InRange(op, M, 2, 257, nameof(M));
        Guard.InRange(op, EfConstruction, 1, 1 << 20, nameof(EfConstruction));
        Guard.InRange(op, EfSearch, 1, 1 << 20, nameof(EfSearch));
        if (!(ExactScanBelowSelectivity >= 0 && ExactScanBelowSelectivity <= 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(ExactScanBelowSelectivity), ExactScanBelowSelectivity, "valid values are 0 to 1");
    }
}
