using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search.Ivf;

/// <summary>Parameters of <see cref="IvfIndex"/> (FAISS's names).</summary>
public sealed record IvfOptions
{
    /// <summary>Inverted lists (k-means centroids of the coarse quantizer).</summary>
    public int NList { get; init; } = 1024;

    /// <summary>Lists searched per query by default.</summary>
    public int NProbe { get; init; } = 16;

    /// <summary>Sub-quantizers of the product quantizer (bytes per vector); 0 stores vectors flat (IVF-Flat).</summary>
    public int PqM { get; init; }

    /// <summary>Keep the float32 vectors too, so the best <c>k × RerankFactor</c> PQ candidates are re-scored exactly.</summary>
    public int RerankFactor { get; init; }

    /// <summary>
    /// Alternations of OPQ (a learned rotation applied before product quantization, Ge et al. 2013);
    /// 0 (the default) trains plain PQ. Needs <see cref="PqM"/> &gt; 0.
    /// </summary>
    public int OpqIterations { get; init; }

    /// <summary>Lloyd iterations of the coarse and product quantizers.</summary>
    public int TrainIterations { get; init; } = 10;

    /// <summary>Training points per centroid at most (the rest of the sample is not used for training), as FAISS's 256.</summary>
    public int MaxPointsPerCentroid { get; init; } = 256;

    /// <summary>Seed of the k-means++ draws and of the training sample.</summary>
    public ulong Seed { get; init; } = 1;

    internal void Validate(string op, int dims)
    {
        Guard.InRange(op, NList, 1, 1 << 20, nameof(NList));
        Guard.InRange(op, NProbe, 1, 1 << 20, nameof(NProbe));
        Guard.InRange(op, PqM, 0, dims + 1, nameof(PqM));
        if (PqM > 0 && dims % PqM != 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(PqM), PqM, $"PqM must divide Dims = {dims} (or be 0 for IVF-Flat)");
        Guard.InRange(op, OpqIterations, 0, 101, nameof(OpqIterations));
        if (OpqIterations > 0 && PqM == 0)
            ThrowHelper.ArgumentOutOfRange(op, nameof(OpqIterations), OpqIterations, "OPQ rotates vectors for product quantization; set PqM > 0 or OpqIterations = 0");
        if (OpqIterations > 0 && dims > 2048)
            ThrowHelper.ArgumentOutOfRange(op, nameof(OpqIterations), OpqIterations, $"OPQ learns a Dims × Dims rotation, at most 2048 × 2048 (Dims = {dims}); set OpqIterations = 0");
        Guard.InRange(op, RerankFactor, 0, 1025, nameof(RerankFactor));
        Guard.InRange(op, TrainIterations, 0, 1001, nameof(TrainIterations));
        Guard.InRange(op, MaxPointsPerCentroid, 1, 1 << 16, nameof(MaxPointsPerCentroid));
    }
}
