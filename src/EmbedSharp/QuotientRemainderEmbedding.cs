using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Sparse;
using EmbedSharp.Vocabularies;

namespace EmbedSharp;

/// <summary>How the two rows of a <see cref="QuotientRemainderEmbedding"/> combine (DLRM's <c>mult</c> and <c>add</c>).</summary>
public enum QrCombiner
{
    /// <summary>Element-wise product, <c>Q[q] ⊙ R[r]</c>.</summary>
    Product = 0,

    /// <summary>Sum, <c>Q[q] + R[r]</c>.</summary>
    Sum = 1,
}

/// <summary>The two gradients of a <see cref="QuotientRemainderEmbedding"/> backward pass.</summary>
/// <param name="Quotient">Gradient of the quotient table.</param>
/// <param name="Remainder">Gradient of the remainder table.</param>
public sealed record QuotientRemainderGradient(SparseGradient Quotient, SparseGradient Remainder);

/// <summary>
/// Compositional embeddings by the quotient–remainder trick (Shi et al. 2020, DLRM's
/// <c>QREmbeddingBag</c>): <c>N</c> indices share two tables of <c>⌈N/m⌉</c> and <c>m</c> rows, and every id still
/// gets a distinct pair of rows.
/// </summary>
/// <remarks>
/// <c>e(x) = Q[x / m] ∘ R[x mod m]</c> with <c>∘</c> the <see cref="Combiner"/>. Memory drops from
/// <c>N·d</c> to <c>(⌈N/m⌉ + m)·d</c>, smallest at <c>m ≈ √N</c>. Initial weights (our choice, documented so
/// results are reproducible): for <see cref="QrCombiner.Sum"/> both tables <c>N(0, ½)</c> so the sum is
/// <c>N(0, 1)</c>; for <see cref="QrCombiner.Product"/> the remainder table is <c>N(0, 1)</c> and the
/// quotient table <c>N(1, 0.1²)</c>, so products start near the remainder rows but already differ.
/// </remarks>
public sealed class QuotientRemainderEmbedding : IDisposable
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numEmbeddings">Size of the id space <c>N</c> (may exceed <see cref="int.MaxValue"/>).</param>
    /// <param name="dims">Vector length.</param>
    /// <param name="collisions">The modulus <c>m</c> (rows of the remainder table).</param>
    /// <param name="combiner">How the two rows combine.</param>
    /// <param name="seed">Seed of the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range, the quotient table would exceed <see cref="int.MaxValue"/> rows, or the combiner is unknown.</exception>
    public QuotientRemainderEmbedding(long numEmbeddings, int dims, int collisions, QrCombiner combiner = QrCombiner.Product, ulong seed = 0)
    {
        const string op = "qr_embedding.create";
        Guard.NonNegative(op, dims);
        if (!Enum.IsDefined(combiner))
            ThrowHelper.ArgumentOutOfRange(op, nameof(combiner), combiner, $"combiner {combiner} is unknown; valid values are Product, Sum");
        int qRows = QuotientRemainder.QuotientRows(numEmbeddings, collisions);
        NumEmbeddings = numEmbeddings;
        Collisions = collisions;
        Combiner = combiner;
        Initializer qInit = combiner == QrCombiner.Sum ? Initializer.Normal(0, Math.Sqrt(0.5)) : Initializer.Normal(1, 0.1);
        Initializer rInit = combiner == QrCombiner.Sum ? Initializer.Normal(0, Math.Sqrt(0.5)) : Initializer.Normal(0, 1);
        Quotient = new Embedding(qRows, dims, new EmbeddingOptions { Initializer = qInit, Seed = seed });
        Remainder = new Embedding(collisions, dims, new EmbeddingOptions { Initializer = rInit, Seed = IdHashing.Mix(seed) });
    }

    /// <summary>Size of the id space.</summary>
    public long NumEmbeddings { get; }

    /// <summary>The modulus <c>m</c>.</summary>
    public int Collisions { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Remainder.Dims;

    /// <summary>How rows combine.</summary>
    public QrCombiner Combiner { get; }

    /// <summary>The quotient table, <c>⌈N/m⌉ × dims</c>.</summary>
    public Embedding Quotient { get; }

    /// <summary>The remainder table, <c>m × dims</c>.</summary>
    public Embedding Remainder { get; }

    /// <summary>Writes <c>e(indices[t])</c> to <c>destination[t·dims ..]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside <c>[0, NumEmbeddings)</c> (nothing is written).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void Forward(ReadOnlySpan<long> indices, Span<float> destination)
    {
        const string op = "qr_embedding.forward";
        Guard.MinLength(op, destination.Length, (long)indices.Length * Dims, "indices.Length × dims");
        (_, _, float[] q, float[] r) = Gather(indices);
        Span<float> dst = destination[..(indices.Length * Dims)];
        if (Combiner == QrCombiner.Product)
            TensorPrimitives.Multiply(q, r, dst);
        else
            TensorPrimitives.Add(q, r, dst);
    }

    /// <summary>
    /// Gradients of <c>loss = Σ Forward(indices) ⊙ gradOutput</c>: for Sum both tables get <c>g</c>; for Product
    /// the quotient row gets <c>g ⊙ R[r]</c> and the remainder row <c>g ⊙ Q[q]</c>, summed over positions.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradOutput"/> does not hold <c>indices.Length · dims</c> values.</exception>
    /// <exception cref="InvalidOperationException">A table is frozen.</exception>
    public QuotientRemainderGradient Backward(ReadOnlySpan<long> indices, ReadOnlySpan<float> gradOutput)
    {
        const string op = "qr_embedding.backward";
        Guard.Length(op, gradOutput.Length, (long)indices.Length * Dims, "indices.Length × dims");
        (int[] qi, int[] ri, float[] q, float[] r) = Gather(indices);
        if (Combiner == QrCombiner.Sum)
            return new QuotientRemainderGradient(Quotient.Backward(qi, gradOutput), Remainder.Backward(ri, gradOutput));
        // Reuse the gathered rows as the gradient buffers: gq = g ⊙ R, gr = g ⊙ Q.
        float[] gq = r, gr = q;
        TensorPrimitives.Multiply(gradOutput, r, gq);
        TensorPrimitives.Multiply(gradOutput, q, gr);
        return new QuotientRemainderGradient(Quotient.Backward(qi, gq), Remainder.Backward(ri, gr));
    }

    private (int[] Qi, int[] Ri, float[] Q, float[] R) Gather(ReadOnlySpan<long> indices)
    {
        int[] qi = new int[indices.Length], ri = new int[indices.Length];
        QuotientRemainder.Split(indices, NumEmbeddings, Collisions, qi, ri);
        float[] q = new float[(long)indices.Length * Dims], r = new float[(long)indices.Length * Dims];
        Quotient.Forward(qi, q);
        Remainder.Forward(ri, r);
        return (qi, ri, q, r);
    }

    /// <summary>Frees both tables.</summary>
    public void Dispose()
    {
        Quotient.Dispose();
        Remainder.Dispose();
    }
}
