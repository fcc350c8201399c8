using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Sparse;

namespace EmbedSharp;

/// <summary>Gradients of a <see cref="MixedDimensionEmbedding"/> backward pass.</summary>
/// <param name="Blocks">Sparse gradient of each block's table (row indices local to the block).</param>
/// <param name="Projections">Dense gradient of each block's projection, <c>blockDims[b] × Dims</c> row-major.</param>
public sealed record MixedDimensionGradient(SparseGradient[] Blocks, float[][] Projections);

/// <summary>
/// Mixed-dimension embeddings (Ginart et al. 2019): the id space is cut into consecutive blocks
/// (typically frequency bands, most frequent first), block <c>b</c> stores <c>n_b × d_b</c> vectors with its
/// own width <c>d_b</c>, and a learned <c>d_b × D</c> projection brings every vector to the common width <c>D</c>.
/// </summary>
/// <remarks>
/// For id <c>x</c> in block <c>b</c> (starting at id <c>s_b</c>): <c>out = E_b[x − s_b] · P_b</c>. Frequent indices get
/// wide vectors, rare indices narrow ones, so memory follows usefulness. <see cref="PowerLawDims"/> gives the
/// paper's width rule. Tables start <c>N(0, 1)</c> and projections <c>N(0, 1/d_b)</c>, so outputs start with
/// about unit variance.
/// </remarks>
public sealed class MixedDimensionEmbedding : IDisposable
{
    private readonly int[] _starts;
    private readonly float[][] _projections;
    private readonly Embedding[] _blocks;

    /// <summary>Creates the layer.</summary>
    /// <param name="blockSizes">Ids per block, in id order; each ≥ 1.</param>
    /// <param name="blockDims">Width of each block; each ≥ 1.</param>
    /// <param name="dims">Common output width <c>D</c>.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentException">The two lists differ in length or are empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the blocks exceed <see cref="int.MaxValue"/> indices.</exception>
    public MixedDimensionEmbedding(ReadOnlySpan<int> blockSizes, ReadOnlySpan<int> blockDims, int dims, ulong seed = 0)
    {
        const string op = "mixed_embedding.create";
        if (blockSizes.IsEmpty)
            ThrowHelper.Argument(op, nameof(blockSizes), "at least one block is needed");
        Guard.Length(op, blockDims.Length, blockSizes.Length, "one width per block");
        Guard.NonNegative(op, dims);
        long total = 0;
        for (int b = 0; b < blockSizes.Length; b++)
        {
            if (blockSizes[b] <= 0)
                ThrowHelper.ArgumentOutOfRange(op, nameof(blockSizes), blockSizes[b], $"blockSizes[{b}] = {blockSizes[b]}; every block needs ≥ 1 id");
            if (blockDims[b] <= 0)
                ThrowHelper.ArgumentOutOfRange(op, nameof(blockDims), blockDims[b], $"blockDims[{b}] = {blockDims[b]}; every width must be ≥ 1");
            total += blockSizes[b];
        }
        if (total > int.MaxValue)
            ThrowHelper.ArgumentOutOfRange(op, nameof(blockSizes), total, $"the blocks hold {total} indices, more than {int.MaxValue}");
        NumEmbeddings = (int)total;
        Dims = dims;
        _starts = new int[blockSizes.Length + 1];
        _blocks = new Embedding[blockSizes.Length];
        _projections = new float[blockSizes.Length][];
        var random = new Numerics.SeededRandom(seed);
        for (int b = 0; b < blockSizes.Length; b++)
        {
            _starts[b + 1] = _starts[b] + blockSizes[b];
            _blocks[b] = new Embedding(blockSizes[b], blockDims[b], new EmbeddingOptions { Initializer = Initializer.Normal(0, 1), Seed = random.NextUInt64() });
            float[] p = new float[(long)blockDims[b] * dims];
            double std = 1 / Math.Sqrt(blockDims[b]);
            for (int i = 0; i < p.Length; i++)
                p[i] = (float)(random.NextNormal() * std);
            _projections[b] = p;
        }
    }

    /// <summary>Total indices over all blocks.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Common output width <c>D</c>.</summary>
    public int Dims { get; }

    /// <summary>The per-block tables (row indices local to each block).</summary>
    public IReadOnlyList<Embedding> Blocks => _blocks;

    /// <summary>First id of block <paramref name="block"/>.</summary>
    public int BlockStart(int block)
    {
        Guard.InRange("mixed_embedding.block", block, 0, Blocks.Count);
        return _starts[block];
    }

    /// <summary>The projection of block <paramref name="block"/>, <c>blockDims[b] × Dims</c> row-major (writable: it is a parameter).</summary>
    public Span<float> Projection(int block)
    {
        Guard.InRange("mixed_embedding.projection", block, 0, Blocks.Count);
        return _projections[block];
    }

    /// <summary>
    /// The paper's width rule: <c>d_b = max(1, round(baseDims · (f_b / f_0)^alpha))</c> for blocks of mean
    /// frequency <c>f_b</c> (block 0 the most frequent, getting <paramref name="baseDims"/>); <c>alpha</c> in
    /// <c>[0, 1]</c>, 0 giving uniform widths.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A frequency is not finite and positive, <paramref name="baseDims"/> is not positive, or <paramref name="alpha"/> is outside [0, 1].</exception>
    public static int[] PowerLawDims(ReadOnlySpan<double> blockFrequencies, int baseDims, double alpha)
    {
        const string op = "mixed_embedding.dims";
        Guard.Positive(op, baseDims);
        if (!(alpha >= 0 && alpha <= 1))
            ThrowHelper.ArgumentOutOfRange(op, nameof(alpha), alpha, $"alpha {alpha} is out of range; valid values are 0..1");
        foreach (double f in blockFrequencies)
            Guard.PositiveFinite(op, f, nameof(blockFrequencies));
        int[] dims = new int[blockFrequencies.Length];
        for (int b = 0; b < dims.Length; b++)
            dims[b] = (int)Math.Max(1, Math.Round(baseDims * Math.Pow(blockFrequencies[b] / blockFrequencies[0], alpha)));
        return dims;
    }

    /// <summary>Writes <c>out[t] = E_b[indices[t] − s_b] · P_b</c> for each id.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>[0, NumEmbeddings)</c> (nothing is written).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Forward(ReadOnlySpan<int> indices, Span<float> destination)
    {
        const string op = "mixed_embedding.forward";
        CheckIds(op, indices);
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        float[] row = new float[MaxBlockDims()];
        for (int t = 0; t < indices.Length; t++)
        {
            int b = BlockOf(indices[t]);
            int db = Blocks[b].Dims;
            Blocks[b].Forward([indices[t] - _starts[b]], row.AsSpan(0, db));
            Project(row.AsSpan(0, db), _projections[b], destination.Slice(t * Dims, Dims));
        }
    }

    /// <summary>Plain reference of <see cref="Forward"/> (scalar loops over the weights), for tests.</summary>
    internal void ForwardReference(ReadOnlySpan<int> indices, Span<float> destination)
    {
        for (int t = 0; t < indices.Length; t++)
        {
            int b = BlockOf(indices[t]);
            int db = Blocks[b].Dims;
            float[] e = new float[db];
            Blocks[b].Weight.ReadRow(indices[t] - _starts[b], e);
            for (int c = 0; c < Dims; c++)
            {
                float s = 0;
                for (int j = 0; j < db; j++)
                    s += e[j] * Blocks[b].Scale * _projections[b][j * Dims + c];
                destination[t * Dims + c] = s;
            }
        }
    }

    /// <summary>
    /// Gradients of <c>loss = Σ Forward(indices) ⊙ gradOutput</c>: <c>∂E_b[r] += P_b · g</c> and
    /// <c>∂P_b += E_b[r]ᵀ · g</c> for every id in block <c>b</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradOutput"/> does not hold <c>indices.Length · Dims</c> values.</exception>
    /// <exception cref="InvalidOperationException">A block table is frozen.</exception>
    public MixedDimensionGradient Backward(ReadOnlySpan<int> indices, ReadOnlySpan<float> gradOutput)
    {
        const string op = "mixed_embedding.backward";
        CheckIds(op, indices);
        Guard.Length(op, gradOutput.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        int nb = Blocks.Count;
        var local = new List<int>[nb];
        var gradRows = new List<float>[nb];
        var projGrads = new float[nb][];
        for (int b = 0; b < nb; b++)
        {
            local[b] = [];
            gradRows[b] = [];
            projGrads[b] = new float[_projections[b].Length];
        }
        float[] e = new float[MaxBlockDims()];
        for (int t = 0; t < indices.Length; t++)
        {
            int b = BlockOf(indices[t]);
            int db = Blocks[b].Dims;
            ReadOnlySpan<float> g = gradOutput.Slice(t * Dims, Dims);
            local[b].Add(indices[t] - _starts[b]);
            Blocks[b].Forward([indices[t] - _starts[b]], e.AsSpan(0, db));
            for (int j = 0; j < db; j++)
            {
                ReadOnlySpan<float> pj = _projections[b].AsSpan(j * Dims, Dims);
                gradRows[b].Add(TensorPrimitives.Dot(pj, g));
                TensorPrimitives.MultiplyAdd(g, e[j], projGrads[b].AsSpan(j * Dims, Dims), projGrads[b].AsSpan(j * Dims, Dims));
            }
        }
        var blocks = new SparseGradient[nb];
        for (int b = 0; b < nb; b++)
            blocks[b] = Blocks[b].Backward(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(local[b]),
                System.Runtime.InteropServices.CollectionsMarshal.AsSpan(gradRows[b]));
        return new MixedDimensionGradient(blocks, projGrads);
    }

    private static void Project(ReadOnlySpan<float> e, float[] projection, Span<float> destination)
    {
        int dims = destination.Length;
        destination.Clear();
        for (int j = 0; j < e.Length; j++)
            TensorPrimitives.MultiplyAdd(projection.AsSpan(j * dims, dims), e[j], destination, destination);
    }

    private int BlockOf(int id)
    {
        int b = Array.BinarySearch(_starts, id);
        return b >= 0 ? b : ~b - 1;
    }

    private int MaxBlockDims()
    {
        int m = 0;
        foreach (Embedding e in Blocks)
            m = Math.Max(m, e.Dims);
        return m;
    }

    private void CheckIds(string op, ReadOnlySpan<int> indices)
    {
        int firstBad = EmbedSharp.Numerics.Kernels.FirstOutOfRange(indices, NumEmbeddings);
        if (firstBad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[firstBad], firstBad, NumEmbeddings);
    }

    /// <summary>Frees every block table.</summary>
    public void Dispose()
    {
        foreach (Embedding e in Blocks)
            e.Dispose();
    }
}
