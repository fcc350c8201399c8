using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;
using EmbedSharp.Tables;

namespace EmbedSharp;

public sealed partial class Embedding
{
    /// <summary>
    /// The tied output projection (MLX's <c>as_linear</c>): <c>destination[b, v] = Σ_d x[b, d] · Weight[v, d]</c>,
    /// i.e. <c>x · Weightᵀ</c> for a batch of <c>x.Length / Dims</c> vectors. <see cref="Scale"/> is not applied.
    /// </summary>
    /// <remarks>
    /// One vector is a matrix–vector product streaming the table once at memory speed; a batch is a
    /// register- and cache-blocked matrix product (AVX-512/AVX2 fused multiply-adds where available)
    /// that packs the table in panels, widening 16-bit storage to float32 on the way, so one pass over
    /// the table serves the whole batch. Large products are split over threads by blocks of output
    /// columns; the result does not depend on the thread count. Sums are float32 in a fixed order, so
    /// results differ from a plain loop only by rounding. NaN in x or the weights propagates.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of Dims-long vectors, or <paramref name="destination"/> is too short.</exception>
    public void AsLinear(ReadOnlySpan<float> x, Span<float> destination)
    {
        const string op = "embedding.as_linear";
        if (Dims == 0 ? x.Length != 0 : x.Length % Dims != 0)
            ThrowHelper.Argument(op, nameof(x), $"x has {x.Length} values, not a multiple of Dims = {Dims}");
        int batch = Dims == 0 ? 0 : x.Length / Dims;
        Guard.MinLength(op, destination.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        Project(x, batch, destination);
    }

    /// <summary>Tensor form: <c>x</c> of shape <c>[..., Dims]</c> gives <c>[..., NumEmbeddings]</c>.</summary>
    public Tensor<float> AsLinear(ReadOnlyTensorSpan<float> x)
    {
        const string op = "embedding.as_linear";
        if (x.Rank == 0 || x.Lengths[^1] != Dims)
            ThrowHelper.Argument(op, nameof(x), $"x has shape [{string.Join(", ", x.Lengths.ToArray())}] but its last dimension must be Dims = {Dims}");
        var flat = new float[x.FlattenedLength];
        x.FlattenTo(flat);
        nint[] shape = x.Lengths.ToArray();
        int batch = checked((int)shape[..^1].Aggregate((nint)1, (a, b) => a * b));
        var output = new float[checked((long)batch * NumEmbeddings)];
        Project(flat, batch, output);
        shape[^1] = NumEmbeddings;
        return Tensor.Create(output, shape);
    }

    /// <summary>The product with the transposed rows after validation, by storage.</summary>
    private void Project(ReadOnlySpan<float> x, int batch, Span<float> destination)
    {
        if (Rows is QuantizedTable quantized)
            quantized.MatMulTransposedUnchecked(x, batch, destination);
        else
            Weight.MatMulTransposedUnchecked(x, batch, destination);
    }
}

/// <summary><c>x · Wᵀ</c> over an <see cref="EmbeddingTable"/>, with a plain reference.</summary>
/// <remarks>
/// One vector (decoding) is a matrix–vector product that streams the table once (<see cref="Gemv"/>);
/// a batch is a blocked matrix product (<see cref="Gemm"/>) that packs the table in panels, widening
/// 16-bit storage to float32 on the way, and reuses each panel for the whole batch.
/// </remarks>
internal static unsafe class Linear
{
    public static void Project(EmbeddingTable w, ReadOnlySpan<float> x, int batch, Span<float> destination, int threads = -1) =>
        w.MatMulTransposedUnchecked(x, batch, destination, threads);

    /// <summary>Plain triple loop with float accumulation, for tests.</summary>
    public static void ProjectReference(EmbeddingTable w, ReadOnlySpan<float> x, int batch, Span<float> destination)
    {
        var row = new float[w.Dims];
        for (int v = 0; v < w.NumEmbeddings; v++)
        {
            w.ReadRowUnchecked(v, row);
            for (int b = 0; b < batch; b++)
            {
                double acc = 0;
                for (int d = 0; d < w.Dims; d++)
                    acc += (double)x[b * w.Dims + d] * row[d];
                destination[b * w.NumEmbeddings + v] = (float)acc;
            }
        }
    }
}
