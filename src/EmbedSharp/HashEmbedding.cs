using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Initializers;
using EmbedSharp.Sparse;
using EmbedSharp.Vocabularies;

namespace EmbedSharp;

/// <summary>The two gradients of a <see cref="HashEmbedding"/> backward pass.</summary>
/// <param name="Components">Gradient of the shared component table (<c>numBuckets × dims</c>).</param>
/// <param name="Importance">Gradient of the importance table (<c>numImportanceRows × numHashes</c>).</param>
public sealed record HashEmbeddingGradient(SparseGradient Components, SparseGradient Importance);

/// <summary>
/// Hash embeddings (Svenstrup, Hansson and Winther 2017): an id picks <c>k</c> component vectors from
/// one shared pool of <c>B</c> rows with <c>k</c> independent hash functions, and mixes them with <c>k</c>
/// learned importance weights of its own (themselves found by hashing into <c>K</c> rows).
/// </summary>
/// <remarks>
/// <c>e(x) = Σ_{i&lt;k} P[r(x), i] · C[h_i(x)]</c> with <c>h_i(x) = IdHashing.Bucket(x, Seed + i, B)</c> and
/// <c>r(x) = IdHashing.Bucket(x, Seed + k, K)</c>. Two ids get the same vector only if all <c>k</c>
/// buckets <b>and</b> the importance row coincide, so with <c>n</c> ids about <c>n·(1 − (1 − B^−k)^(n−1))</c>
/// share all their components, versus <c>n·(1 − (1 − 1/B)^(n−1))</c> under the plain hashing trick.
/// Any 64-bit id is accepted (use <see cref="IdHashing.TokenId"/> for strings). Components start
/// as <c>N(0, 1)</c> and importance weights as <c>N(0, 1/k)</c>, so a fresh embedding has unit variance
/// per coordinate.
/// </remarks>
public sealed class HashEmbedding : IDisposable
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numBuckets">Component rows <c>B</c>.</param>
    /// <param name="dims">Vector length.</param>
    /// <param name="numHashes">Hash functions <c>k</c> (≥ 1; the paper uses 2).</param>
    /// <param name="numImportanceRows">Importance rows <c>K</c> (the token space; as large as memory allows).</param>
    /// <param name="seed">Seed of the hash functions and the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive (dims may be 0).</exception>
    public HashEmbedding(int numBuckets, int dims, int numHashes, int numImportanceRows, ulong seed = 0)
    {
        const string op = "hash_embedding.create";
        Guard.Positive(op, numBuckets);
        Guard.NonNegative(op, dims);
        Guard.Positive(op, numHashes);
        Guard.Positive(op, numImportanceRows);
        NumHashes = numHashes;
        Seed = seed;
        Components = new Embedding(numBuckets, dims, new EmbeddingOptions { Initializer = Initializer.Normal(0, 1), Seed = seed });
        Importance = new Embedding(numImportanceRows, numHashes,
            new EmbeddingOptions { Initializer = Initializer.Normal(0, 1 / Math.Sqrt(numHashes)), Seed = IdHashing.Mix(seed) });
    }

    /// <summary>The shared component pool <c>C</c>, <c>B × dims</c>.</summary>
    public Embedding Components { get; }

    /// <summary>The importance weights <c>P</c>, <c>K × k</c>.</summary>
    public Embedding Importance { get; }

    /// <summary>Number of hash functions <c>k</c>.</summary>
    public int NumHashes { get; }

    /// <summary>Vector length.</summary>
    public int Dims => Components.Dims;

    /// <summary>The hash seed.</summary>
    public ulong Seed { get; }

    /// <summary>
    /// Writes the component buckets (<c>buckets[t·k + i] = h_i(indices[t])</c>) and importance rows
    /// (<c>importanceRows[t] = r(indices[t])</c>) of each id.
    /// </summary>
    /// <exception cref="ArgumentException">A destination is too short.</exception>
    public void GetBuckets(ReadOnlySpan<long> indices, Span<int> buckets, Span<int> importanceRows)
    {
        const string op = "hash_embedding.buckets";
        Guard.MinLength(op, buckets.Length, (long)indices.Length * NumHashes, "indices.Length × numHashes");
        Guard.MinLength(op, importanceRows.Length, indices.Length, "one row per id");
        int k = NumHashes;
        for (int i = 0; i < k; i++)
        {
            ulong key = IdHashing.Mix(Seed + (ulong)i);
            for (int t = 0; t < indices.Length; t++)
                buckets[t * k + i] = IdHashing.BucketUnchecked(indices[t], key, Components.NumEmbeddings);
        }
        IdHashing.Buckets(indices, Seed + (ulong)k, Importance.NumEmbeddings, importanceRows);
    }

    /// <summary>Writes <c>e(indices[t])</c> to <c>destination[t·dims ..]</c> (see the class remarks for the formula).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>indices.Length · dims</c>.</exception>
    public void Forward(ReadOnlySpan<long> indices, Span<float> destination)
    {
        const string op = "hash_embedding.forward";
        int d = Dims, k = NumHashes;
        Guard.MinLength(op, destination.Length, (long)indices.Length * d, "indices.Length × dims");
        (_, float[] components, float[] weights) = Gather(indices);
        for (int t = 0; t < indices.Length; t++)
        {
            Span<float> dst = destination.Slice(t * d, d);
            dst.Clear();
            for (int i = 0; i < k; i++)
                TensorPrimitives.MultiplyAdd(components.AsSpan((t * k + i) * d, d), weights[t * k + i], dst, dst);
        }
    }

    /// <summary>
    /// Gradients of <c>loss = Σ Forward(indices) ⊙ gradOutput</c>:
    /// <c>∂C[h_i(x)] += P[r(x), i] · g</c> and <c>∂P[r(x), i] += C[h_i(x)] · g</c>, summed over positions.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="gradOutput"/> does not hold <c>indices.Length · dims</c> values.</exception>
    /// <exception cref="InvalidOperationException">A table is frozen.</exception>
    public HashEmbeddingGradient Backward(ReadOnlySpan<long> indices, ReadOnlySpan<float> gradOutput)
    {
        const string op = "hash_embedding.backward";
        int d = Dims, k = NumHashes;
        Guard.Length(op, gradOutput.Length, (long)indices.Length * d, "indices.Length × dims");
        (int[] buckets, float[] components, float[] weights) = Gather(indices);
        int[] rows = new int[indices.Length];
        IdHashing.Buckets(indices, Seed + (ulong)k, Importance.NumEmbeddings, rows);
        float[] gradComponents = new float[(long)indices.Length * k * d];
        float[] gradWeights = new float[(long)indices.Length * k];
        for (int t = 0; t < indices.Length; t++)
        {
            ReadOnlySpan<float> g = gradOutput.Slice(t * d, d);
            for (int i = 0; i < k; i++)
            {
                int j = t * k + i;
                TensorPrimitives.Multiply(g, weights[j], gradComponents.AsSpan(j * d, d));
                gradWeights[j] = TensorPrimitives.Dot(components.AsSpan(j * d, d), g);
            }
        }
        return new HashEmbeddingGradient(Components.Backward(buckets, gradComponents), Importance.Backward(rows, gradWeights));
    }

    private (int[] Buckets, float[] Components, float[] Weights) Gather(ReadOnlySpan<long> indices)
    {
        int k = NumHashes;
        int[] buckets = new int[(long)indices.Length * k];
        int[] rows = new int[indices.Length];
        GetBuckets(indices, buckets, rows);
        float[] components = new float[(long)buckets.Length * Dims];
        Components.Forward(buckets, components);
        float[] weights = new float[(long)indices.Length * k];
        Importance.Forward(rows, weights);
        return (buckets, components, weights);
    }

    /// <summary>Frees both tables.</summary>
    public void Dispose()
    {
        Components.Dispose();
        Importance.Dispose();
    }
}
