using EmbedSharp.Diagnostics;
using EmbedSharp.Sparse;

namespace EmbedSharp;

/// <summary>
/// Learned absolute positions (BERT, GPT-2): an <see cref="Embedding"/> whose row <c>p</c> is the vector of
/// position <c>p</c>, for positions <c>0 … MaxPositions−1</c>.
/// </summary>
/// <remarks>
/// Unlike sinusoidal encodings these do not extrapolate: a position at or past
/// <see cref="MaxPositions"/> has no row, and asking for one raises an error naming the position and the
/// maximum, instead of the generic index error a plain lookup would give. GPT-2 initialises the table
/// as <c>N(0, 0.02²)</c> (<c>Initializer.Gpt2</c>); the default here is the options' initializer.
/// </remarks>
public sealed class LearnedPositionalEmbedding : IDisposable
{
    /// <summary>Creates the table.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range, or an option is invalid.</exception>
    public LearnedPositionalEmbedding(int maxPositions, int dims, EmbeddingOptions? options = null)
    {
        Guard.Positive("positional.learned", maxPositions);
        Embedding = new Embedding(maxPositions, dims, options);
    }

    /// <summary>The position table.</summary>
    public Embedding Embedding { get; }

    /// <summary>Longest sequence (number of position rows).</summary>
    public int MaxPositions => Embedding.NumEmbeddings;

    /// <summary>Vector length.</summary>
    public int Dims => Embedding.Dims;

    /// <summary>Writes the vectors of positions <c>offset … offset + seqLength − 1</c> (<c>seqLength × Dims</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative, or <c>offset + seqLength &gt; MaxPositions</c>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Forward(int seqLength, Span<float> destination, int offset = 0) =>
        Embedding.Forward(Positions("positional.learned.forward", seqLength, offset), destination);

    /// <summary>
    /// Adds the position vectors to a block <paramref name="x"/> of shape <c>[n, seqLength, Dims]</c>:
    /// <c>x[b, s, :] += P[offset + s, :]</c> for every <c>b</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative, or <c>offset + seqLength &gt; MaxPositions</c>.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a whole number of <c>seqLength × Dims</c> blocks.</exception>
    public void AddTo(Span<float> x, int seqLength, int offset = 0)
    {
        const string op = "positional.learned.add";
        int[] positions = Positions(op, seqLength, offset);
        int block = CheckBlocks(op, x.Length, seqLength);
        if (block == 0)
            return;
        float[] pe = new float[block];
        Embedding.Forward(positions, pe);
        for (int start = 0; start < x.Length; start += block)
            System.Numerics.Tensors.TensorPrimitives.Add(x.Slice(start, block), pe, x.Slice(start, block));
    }

    /// <summary>
    /// Gradient of <c>loss = Σ (x + P) ⊙ gradOutput</c> with respect to the table, for a
    /// <c>[n, seqLength, Dims]</c> <paramref name="gradOutput"/>: row <c>offset + s</c> gets <c>Σ_b gradOutput[b, s]</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative, or <c>offset + seqLength &gt; MaxPositions</c>.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradOutput"/> is not a whole number of blocks.</exception>
    /// <exception cref="InvalidOperationException">The table is frozen.</exception>
    public SparseGradient Backward(ReadOnlySpan<float> gradOutput, int seqLength, int offset = 0)
    {
        const string op = "positional.learned.backward";
        int[] positions = Positions(op, seqLength, offset);
        int block = CheckBlocks(op, gradOutput.Length, seqLength);
        int n = block == 0 ? 0 : gradOutput.Length / block;
        int[] all = new int[(long)n * seqLength];
        for (int b = 0; b < n; b++)
            positions.CopyTo(all, b * seqLength);
        return Embedding.Backward(all, gradOutput[..(n * block)]);
    }

    private int[] Positions(string op, int seqLength, int offset)
    {
        Guard.NonNegative(op, seqLength);
        Guard.NonNegative(op, offset);
        if ((long)offset + seqLength > MaxPositions)
            ThrowHelper.ArgumentOutOfRange(op, nameof(seqLength), seqLength,
                $"position {(long)offset + seqLength - 1} (offset {offset} + seqLength {seqLength} − 1) is past the maximum length: learned positions cover 0..{MaxPositions - 1} (MaxPositions {MaxPositions}) and do not extrapolate; truncate the sequence or use a larger table");
        int[] p = new int[seqLength];
        for (int s = 0; s < seqLength; s++)
            p[s] = offset + s;
        return p;
    }

    private int CheckBlocks(string op, int length, int seqLength)
    {
        long block = (long)seqLength * Dims;
        if (block == 0 ? length != 0 : length % block != 0)
            ThrowHelper.Argument(op, "x", $"the block has {length} values, not a whole number of [seqLength = {seqLength}, Dims = {Dims}] blocks");
        return (int)block;
    }

    /// <summary>Frees the table.</summary>
    public void Dispose() => Embedding.Dispose();
}
