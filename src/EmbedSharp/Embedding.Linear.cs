using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp;

public sealed partial class Embedding
{
    /// <summary>
    /// The tied output projection (MLX's <c>as_linear</c>): <c>destination[b, v] = Σ_d x[b, d] · Weight[v, d]</c>,
    /// i.e. <c>x · Weightᵀ</c> for a batch of <c>x.Length / Dims</c> vectors. <see cref="Scale"/> is not applied.
    /// </summary>
    /// <remarks>
    /// Weight rows are read in blocks (widened once per block for 16-bit storage) and each block is
    /// dotted with every vector of the batch, so one pass over the table serves the whole batch.
    /// Large products are split over threads by blocks of rows. NaN in x or the weights propagates.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of Dims-long vectors, or <paramref name="destination"/> is too short.</exception>
    public void AsLinear(ReadOnlySpan<float> x, Span<float> destination)
    {
        const string op = "embedding.as_linear";
        if (Dims == 0 ? x.Length != 0 : x.Length % Dims != 0)
            ThrowHelper.Argument(op, nameof(x), $"x has {x.Length} values, not a multiple of Dims = {Dims}");
        int batch = Dims == 0 ? 0 : x.Length / Dims;
        Guard.MinLength(op, destination.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        Linear.Project(Weight, x, batch, destination);
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
        Linear.Project(Weight, flat, batch, output);
        shape[^1] = NumEmbeddings;
        return Tensor.Create(output, shape);
    }
}

/// <summary><c>x · Wᵀ</c> over an <see cref="EmbeddingTable"/>, with a plain reference.</summary>
internal static class Linear
{
    private const int RowsPerBlock = 64;
    private const long ParallelThreshold = 1 << 20; // multiply-adds below which one thread is faster

    public static void Project(EmbeddingTable w, ReadOnlySpan<float> x, int batch, Span<float> destination)
    {
        int rows = w.NumEmbeddings, dims = w.Dims;
        if (batch == 0 || rows == 0)
            return;
        if (dims == 0)
        {
            destination.Slice(0, batch * rows).Clear();
            return;
        }
        int blocks = (rows + RowsPerBlock - 1) / RowsPerBlock;
        long work = (long)rows * dims * batch;
        if (work < ParallelThreshold || Environment.ProcessorCount == 1)
        {
            float[] scratch = new float[RowsPerBlock * dims];
            for (int b = 0; b < blocks; b++)
                ProjectBlock(w, x, batch, destination, b, scratch);
            return;
        }
        // Spans cannot cross into lambdas; pin the inputs to arrays for the parallel path.
        float[] xs = x.Slice(0, batch * dims).ToArray();
        float[] outs = new float[batch * rows];
        Parallel.For(0, blocks, () => new float[RowsPerBlock * dims],
            (b, _, scratch) => { ProjectBlock(w, xs, batch, outs, b, scratch); return scratch; }, _ => { });
        outs.CopyTo(destination);
    }

    private static void ProjectBlock(EmbeddingTable w, ReadOnlySpan<float> x, int batch, Span<float> destination, int block, float[] scratch)
    {
        int rows = w.NumEmbeddings, dims = w.Dims;
        int r0 = block * RowsPerBlock;
        int n = Math.Min(RowsPerBlock, rows - r0);
        for (int i = 0; i < n; i++)
            w.ReadRowUnchecked(r0 + i, scratch.AsSpan(i * dims, dims));
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> xb = x.Slice(b * dims, dims);
            Span<float> ob = destination.Slice(b * rows + r0, n);
            for (int i = 0; i < n; i++)
                ob[i] = TensorPrimitives.Dot(scratch.AsSpan(i * dims, dims), xb);
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
