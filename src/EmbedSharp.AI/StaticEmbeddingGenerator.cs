using EmbedSharp.Diagnostics;
using EmbedSharp.Search.Hybrid;
using Microsoft.Extensions.AI;

namespace EmbedSharp.AI;

/// <summary>
/// A Microsoft.Extensions.AI embedding generator over in-process static vectors: each text becomes
/// one vector through an <see cref="ITextEmbedder"/> (SIF or mean word vectors,
/// <see cref="WordVectorEmbedder"/>, or any table + tokenizer, <see cref="TokenTableEmbedder"/>).
/// No network, no model server: a batch is embedded on the calling thread.
/// </summary>
/// <remarks>
/// <see cref="EmbeddingGenerationOptions.Dimensions"/> must be null or equal to the embedder's
/// <c>Dims</c> (static vectors cannot be shortened without changing their geometry).
/// </remarks>
public sealed class StaticEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ITextEmbedder _embedder;
    private readonly EmbeddingGeneratorMetadata _metadata;
    private bool _disposed;

    /// <summary>A generator over <paramref name="embedder"/>, reporting <paramref name="modelId"/> as its model.</summary>
    public StaticEmbeddingGenerator(ITextEmbedder embedder, string modelId = "embedsharp-static")
    {
        _embedder = Guard.NotNull("embedding_generator", embedder);
        ModelId = Guard.NotNull("embedding_generator", modelId);
        _metadata = new EmbeddingGeneratorMetadata("embedsharp", null, modelId, embedder.Dims);
    }

    /// <summary>The model id stamped on every embedding.</summary>
    public string ModelId { get; }

    /// <inheritdoc/>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        const string op = "embedding_generator.generate";
        ObjectDisposedException.ThrowIf(_disposed, this);
        Guard.NotNull(op, values);
        if (options?.Dimensions is int d && d != _embedder.Dims)
            ThrowHelper.Argument(op, nameof(options), $"Dimensions = {d} was asked for but the vectors have {_embedder.Dims}; leave Dimensions null or set it to {_embedder.Dims}");
        var result = new GeneratedEmbeddings<Embedding<float>>();
        var created = DateTimeOffset.UtcNow;
        foreach (string? text in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (text is null)
                ThrowHelper.Argument(op, nameof(values), "a value is null; give text (an empty string embeds to the zero vector)");
            var v = new float[_embedder.Dims];
            _embedder.Embed(text, v);
            result.Add(new Embedding<float>(v) { ModelId = ModelId, CreatedAt = created });
        }
        return Task.FromResult(result);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata))
            return _metadata;
        if (serviceType.IsInstanceOfType(_embedder))
            return _embedder;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc/>
    public void Dispose() => _disposed = true;
}
