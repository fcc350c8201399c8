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

    /// <summary>
    /// The backward pass of <see cref="AsLinear(ReadOnlySpan{float}, Span{float})"/> for a batch of <c>b = x.Length / Dims</c>
    /// vectors: given <c>∂L/∂y</c> (<paramref name="gradOutput"/>, <c>b × NumEmbeddings</c>), writes
    /// <c>∂L/∂x = gradOutput · Weight</c> into <paramref name="gradX"/> (<c>b × Dims</c>) and the dense table gradient
    /// <c>∂L/∂Weight = gradOutputᵀ · x</c> into <paramref name="gradWeight"/> (<c>NumEmbeddings × Dims</c>). Either
    /// destination may be empty to skip it; both are overwritten. The weights are not changed (pass the table
    /// gradient to an optimizer). This is what 1-N training of a knowledge-graph model and a tied softmax head need.
    /// </summary>
    /// <remarks>
    /// Both are blocked matrix products over the stored layouts (the table and <paramref name="gradOutput"/> are
    /// read in place, nothing is transposed), split over threads by tiles of the result; the result does not
    /// depend on the thread count. 16-bit tables are widened to float32 once per call for <c>∂L/∂x</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">A span's length does not match the batch, or a destination is too short.</exception>
    /// <exception cref="InvalidOperationException">The layer reads a quantized table (no dense Weight).</exception>
    public void AsLinearBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gradOutput, Span<float> gradX, Span<float> gradWeight)
    {
        const string op = "embedding.as_linear_backward";
        if (Dims == 0 ? x.Length != 0 : x.Length % Dims != 0)
            ThrowHelper.Argument(op, nameof(x), $"x has {x.Length} values, not a multiple of Dims = {Dims}");
        int batch = Dims == 0 ? 0 : x.Length / Dims;
        Guard.Length(op, gradOutput.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        if (!gradX.IsEmpty)
            Guard.MinLength(op, gradX.Length, (long)batch * Dims, $"batch × Dims = {batch} × {Dims}");
        if (!gradWeight.IsEmpty)
            Guard.MinLength(op, gradWeight.Length, (long)NumEmbeddings * Dims, $"NumEmbeddings × Dims = {NumEmbeddings} × {Dims}");
        var table = Weight;
        Linear.Backward(table, x, batch, gradOutput, gradX, gradWeight, ParallelWork.DefaultThreads);
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

    /// <summary>
    /// <c>gradX = gradOutput · W</c> (skipped when empty) and <c>gradWeight = gradOutputᵀ · x</c> (skipped when empty),
    /// both through <see cref="Gemm.Multiply"/> on the stored layouts; arguments are validated by the caller.
    /// </summary>
    public static void Backward(EmbeddingTable w, ReadOnlySpan<float> x, int batch, ReadOnlySpan<float> gradOutput, Span<float> gradX, Span<float> gradWeight, int threads)
    {
        int n = w.NumEmbeddings, d = w.Dims;
        float[]? widened = null;
        if (!gradX.IsEmpty && w.DType != DType.Float32)
        {
            widened = new float[(long)n * d];
            for (int v = 0; v < n; v++)
                w.ReadRowUnchecked(v, widened.AsSpan(v * d, d));
        }
        fixed (float* xp = x)
        fixed (float* gp = gradOutput)
        fixed (float* gxp = gradX)
        fixed (float* gwp = gradWeight)
        fixed (float* wide = widened)
        {
            if (!gradX.IsEmpty)
            {
                float* wp = widened is null ? (float*)w.Pointer : wide;
                Gemm.Multiply(gp, false, n, wp, d, batch, n, d, gxp, d, threads);
            }
            if (!gradWeight.IsEmpty)
            {
                if (batch == 0)
                    gradWeight[..(n * d)].Clear();
                else
                    Gemm.Multiply(gp, true, n, xp, d, n, batch, d, gwp, d, threads);
            }
        }
    }

    /// <summary>Plain loops of <see cref="Backward"/> in double precision, for tests.</summary>
    public static void BackwardReference(EmbeddingTable w, ReadOnlySpan<float> x, int batch, ReadOnlySpan<float> gradOutput, Span<float> gradX, Span<float> gradWeight)
    {
        int n = w.NumEmbeddings, d = w.Dims;
        var row = new float[d];
        for (int b = 0; b < batch && !gradX.IsEmpty; b++)
        {
            for (int k = 0; k < d; k++)
            {
                double acc = 0;
                for (int v = 0; v < n; v++)
                {
                    w.ReadRowUnchecked(v, row);
                    acc += (double)gradOutput[b * n + v] * row[k];
                }
                gradX[b * d + k] = (float)acc;
            }
        }
        for (int v = 0; v < n && !gradWeight.IsEmpty; v++)
        {
            for (int k = 0; k < d; k++)
            {
                double acc = 0;
                for (int b = 0; b < batch; b++)
                    acc += (double)gradOutput[b * n + v] * x[b * d + k];
                gradWeight[v * d + k] = (float)acc;
            }
        }
    }

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
