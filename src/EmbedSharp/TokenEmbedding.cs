using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Positional;
using EmbedSharp.Sparse;

namespace EmbedSharp;

/// <summary>Which absolute position signal a <see cref="TokenEmbedding"/> adds.</summary>
public enum PositionEncoding
{
    /// <summary>No position signal (for models that use RoPE or ALiBi inside attention).</summary>
    None = 0,

    /// <summary>Fixed sinusoids (<see cref="Sinusoidal"/>), layout from <see cref="TokenEmbeddingOptions.SinusoidalLayout"/>.</summary>
    Sinusoidal = 1,

    /// <summary>A learned table of <see cref="TokenEmbeddingOptions.MaxPositions"/> rows (<see cref="LearnedPositionalEmbedding"/>).</summary>
    Learned = 2,
}

/// <summary>Configuration of a <see cref="TokenEmbedding"/>.</summary>
public sealed record TokenEmbeddingOptions
{
    /// <summary>Multiply token vectors by <c>√dims</c> (Vaswani et al. §3.4; fairseq's <c>embed_scale</c>).</summary>
    public bool ScaleBySqrtDims { get; init; }

    /// <summary>The position signal.</summary>
    public PositionEncoding PositionEncoding { get; init; } = PositionEncoding.Sinusoidal;

    /// <summary>Layout of the sinusoidal encoding.</summary>
    public SinusoidalLayout SinusoidalLayout { get; init; } = SinusoidalLayout.Interleaved;

    /// <summary>Rows of the learned position table (BERT and GPT-2 use 512 and 1024).</summary>
    public int MaxPositions { get; init; } = 512;

    /// <summary>Segment (token type) vocabulary; 0 disables segments, BERT uses 2.</summary>
    public int NumSegments { get; init; }

    /// <summary>Options of the token table (padding row, initializer, dtype, …).</summary>
    public EmbeddingOptions? TokenOptions { get; init; }

    /// <summary>Options of the learned position table.</summary>
    public EmbeddingOptions? PositionOptions { get; init; }

    /// <summary>Options of the segment table.</summary>
    public EmbeddingOptions? SegmentOptions { get; init; }
}

/// <summary>Gradients of a <see cref="TokenEmbedding"/> backward pass; null for parts the layer does not have.</summary>
/// <param name="Tokens">Token table gradient.</param>
/// <param name="Positions">Learned position table gradient.</param>
/// <param name="Segments">Segment table gradient.</param>
public sealed record TokenEmbeddingGradient(SparseGradient Tokens, SparseGradient? Positions, SparseGradient? Segments);

/// <summary>
/// The input stack of a Transformer: <c>out[b, s] = c · E[indices[b, s]] + PE[offset + s] + T[segmentIds[b, s]]</c>,
/// with <c>c = √dims</c> when <see cref="TokenEmbeddingOptions.ScaleBySqrtDims"/> is set (else 1), <c>PE</c> the
/// sinusoidal or learned positions (or nothing) and <c>T</c> the optional segment table (BERT's token types).
/// </summary>
/// <remarks>
/// The output head can share the token table: <see cref="Logits"/> is <c>Tokens.AsLinear</c>, so logits are
/// <c>h · Eᵀ</c> with the very same weights (weight tying, Press and Wolf 2017), and training both
/// the input and the output through the one table needs no copy. Dropout and layer norm are left to
/// the model.
/// </remarks>
public sealed class TokenEmbedding : IDisposable
{
    /// <summary>Creates the stack with a new token table.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or option is out of range (odd dims with sinusoidal positions, negative segment count, …).</exception>
    public TokenEmbedding(int numEmbeddings, int dims, TokenEmbeddingOptions? options = null)
        : this(CreateTokens(numEmbeddings, dims, options), options)
    {
    }

    /// <summary>Creates the stack over an existing token table, which it then owns (disposes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public TokenEmbedding(Embedding tokens, TokenEmbeddingOptions? options = null)
    {
        const string op = "token_embedding.create";
        Guard.NotNull(op, tokens);
        options ??= new TokenEmbeddingOptions();
        Validate(op, tokens.Dims, options);
        Options = options;
        Tokens = tokens;
        TokenScale = options.ScaleBySqrtDims ? MathF.Sqrt(tokens.Dims) : 1f;
        if (options.PositionEncoding == PositionEncoding.Learned)
            Positions = new LearnedPositionalEmbedding(options.MaxPositions, tokens.Dims, options.PositionOptions);
        if (options.NumSegments > 0)
            Segments = new Embedding(options.NumSegments, tokens.Dims, options.SegmentOptions);
    }

    /// <summary>The options.</summary>
    public TokenEmbeddingOptions Options { get; }

    /// <summary>The token table <c>E</c> (also the tied output head).</summary>
    public Embedding Tokens { get; }

    /// <summary>The learned position table, or null.</summary>
    public LearnedPositionalEmbedding? Positions { get; }

    /// <summary>The segment table, or null.</summary>
    public Embedding? Segments { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Tokens.Dims;

    /// <summary>The factor <c>c</c> on token vectors.</summary>
    public float TokenScale { get; }

    /// <summary>
    /// Computes the stack for a row-major <c>[batch, seqLength]</c> id block into <c>[batch, seqLength, Dims]</c>.
    /// </summary>
    /// <param name="indices">Token indices, <c>batch · seqLength</c> of them.</param>
    /// <param name="seqLength">Sequence length (positions <c>offset … offset + seqLength − 1</c>).</param>
    /// <param name="destination">Output, at least <c>indices.Length · Dims</c>.</param>
    /// <param name="segmentIds">Segment id per token, or empty for segment 0 (required to be empty when there are no segments).</param>
    /// <param name="offset">First position (for incremental decoding).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id, segment id or position is out of range (nothing is written).</exception>
    /// <exception cref="ArgumentException">The lengths disagree.</exception>
    public void Forward(ReadOnlySpan<int> indices, int seqLength, Span<float> destination, ReadOnlySpan<int> segmentIds = default, int offset = 0)
    {
        const string op = "token_embedding.forward";
        int[] segments = CheckInputs(op, indices, seqLength, segmentIds, offset);
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        Span<float> dst = destination[..(indices.Length * Dims)];
        Tokens.Forward(indices, dst);
        if (TokenScale != 1f)
            TensorPrimitives.Multiply(dst, TokenScale, dst);
        if (seqLength == 0 || Dims == 0)
            return;
        int block = seqLength * Dims;
        float[]? pe = null;
        if (Options.PositionEncoding == PositionEncoding.Sinusoidal)
        {
            pe = new float[block];
            int[] positions = new int[seqLength];
            for (int s = 0; s < seqLength; s++)
                positions[s] = offset + s;
            Sinusoidal.Encode(positions, Dims, Options.SinusoidalLayout, pe);
        }
        else if (Positions is not null)
        {
            pe = new float[block];
            Positions.Forward(seqLength, pe, offset);
        }
        if (pe is not null)
            for (int start = 0; start < dst.Length; start += block)
                TensorPrimitives.Add(dst.Slice(start, block), pe, dst.Slice(start, block));
        if (Segments is not null)
        {
            float[] seg = new float[dst.Length];
            Segments.Forward(segments, seg);
            TensorPrimitives.Add(dst, seg, dst);
        }
    }

    /// <summary>
    /// Gradients of <c>loss = Σ Forward(...) ⊙ gradOutput</c>: the token rows get <c>c · g</c>, learned
    /// position rows the sum of <c>g</c> over the batch, segment rows the sum over their positions.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id, segment id or position is out of range.</exception>
    /// <exception cref="ArgumentException">The lengths disagree.</exception>
    /// <exception cref="InvalidOperationException">A table is frozen (freeze parts you do not train and skip their gradients by calling their own <c>Backward</c>).</exception>
    public TokenEmbeddingGradient Backward(ReadOnlySpan<int> indices, int seqLength, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<int> segmentIds = default, int offset = 0)
    {
        const string op = "token_embedding.backward";
        int[] segments = CheckInputs(op, indices, seqLength, segmentIds, offset);
        Guard.Length(op, gradOutput.Length, (long)indices.Length * Dims, "indices.Length × Dims");
        SparseGradient tokens;
        if (TokenScale != 1f)
        {
            float[] scaled = new float[gradOutput.Length];
            TensorPrimitives.Multiply(gradOutput, TokenScale, scaled);
            tokens = Tokens.Backward(indices, scaled);
        }
        else
        {
            tokens = Tokens.Backward(indices, gradOutput);
        }
        SparseGradient? positions = Positions?.Backward(gradOutput, seqLength, offset);
        SparseGradient? seg = Segments?.Backward(segments, gradOutput);
        return new TokenEmbeddingGradient(tokens, positions, seg);
    }

    /// <summary>
    /// The tied output head: <c>destination[b, v] = Σ_d hidden[b, d] · E[v, d]</c> (see <see cref="Embedding.AsLinear(ReadOnlySpan{float}, Span{float})"/>).
    /// </summary>
    public void Logits(ReadOnlySpan<float> hidden, Span<float> destination) => Tokens.AsLinear(hidden, destination);

    private int[] CheckInputs(string op, ReadOnlySpan<int> indices, int seqLength, ReadOnlySpan<int> segmentIds, int offset)
    {
        Guard.NonNegative(op, seqLength);
        Guard.NonNegative(op, offset);
        if (seqLength == 0 ? !indices.IsEmpty : indices.Length % seqLength != 0)
            ThrowHelper.Argument(op, nameof(indices), $"indices has {indices.Length} values, not a whole number of sequences of seqLength {seqLength}");
        if (Positions is not null && (long)offset + seqLength > Positions.MaxPositions)
            ThrowHelper.ArgumentOutOfRange(op, nameof(seqLength), seqLength,
                $"position {(long)offset + seqLength - 1} is past the maximum length: learned positions cover 0..{Positions.MaxPositions - 1} (MaxPositions {Positions.MaxPositions}) and do not extrapolate");
        int bad = Numerics.Kernels.FirstOutOfRange(indices, Tokens.NumEmbeddings);
        if (bad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(indices), indices[bad], bad, Tokens.NumEmbeddings);
        if (Segments is null)
        {
            if (!segmentIds.IsEmpty)
                ThrowHelper.Argument(op, nameof(segmentIds), "segmentIds were given but the layer has no segment table (NumSegments 0)");
            return [];
        }
        if (segmentIds.IsEmpty)
            return new int[indices.Length];
        Guard.Length(op, segmentIds.Length, indices.Length, "one segment id per token");
        bad = Numerics.Kernels.FirstOutOfRange(segmentIds, Segments.NumEmbeddings);
        if (bad >= 0)
            ThrowHelper.IndexOutOfRange(op, nameof(segmentIds), segmentIds[bad], bad, Segments.NumEmbeddings);
        return segmentIds.ToArray();
    }

    private static Embedding CreateTokens(int numEmbeddings, int dims, TokenEmbeddingOptions? options)
    {
        Validate("token_embedding.create", dims, options ?? new TokenEmbeddingOptions());
        return new Embedding(numEmbeddings, dims, options?.TokenOptions);
    }

    private static void Validate(string op, int dims, TokenEmbeddingOptions options)
    {
        if (!Enum.IsDefined(options.PositionEncoding))
            ThrowHelper.ArgumentOutOfRange(op, nameof(options.PositionEncoding), options.PositionEncoding, "PositionEncoding is unknown; valid values are None, Sinusoidal, Learned");
        if (options.PositionEncoding == PositionEncoding.Sinusoidal)
            Sinusoidal.Validate(op, dims, options.SinusoidalLayout, Sinusoidal.DefaultBase);
        if (options.PositionEncoding == PositionEncoding.Learned)
            Guard.Positive(op, options.MaxPositions);
        Guard.NonNegative(op, options.NumSegments);
    }

    /// <summary>Frees every table.</summary>
    public void Dispose()
    {
        Tokens.Dispose();
        Positions?.Dispose();
        Segments?.Dispose();
    }
}
