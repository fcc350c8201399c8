using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData store that keeps collections in process, backed by EmbedSharp's
/// indexes, and — given a folder — persists each collection to <c>folder/name/</c> after every change.
/// </summary>
public sealed class EmbedSharpVectorStore : VectorStore
{
    /// <summary>A store in memory only (<paramref name="folder"/> null) or persisted under <paramref name="folder"/>.</summary>
    /// <param name="folder">Folder for the collections (created when missing); null keeps them in memory.</param>
    /// <param name="embeddingGenerator">Default generator for collections whose vector property is text.</param>
    public EmbedSharpVectorStore(string? folder = null, IEmbeddingGenerator? embeddingGenerator = null)
    {
        if (folder is not null)
        {
            Folder = Path.GetFullPath(folder);
            Directory.CreateDirectory(Folder);
        }
        EmbeddingGenerator = embeddingGenerator;
    }

    /// <summary>The persistence folder (null: memory only).</summary>
    public string? Folder { get; }

    /// <summary>The default embedding generator.</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; }

    internal object Sync { get; } = new();

    /// <summary>Collections created in this process (the folder's are found on disk).</summary>
    internal ConcurrentDictionary<string, bool> Live { get; } = new(StringComparer.Ordinal);

    internal bool Exists(string name) => Live.ContainsKey(name) || (Folder is not null && Directory.Exists(Path.Combine(Folder, name)));

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The name is not a plain folder name, or the record type has no key/vector or unsupported ones.</exception>
    public override VectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        CheckName(name);
        return new EmbedSharpCollection<TKey, TRecord>(this, name, definition);
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">Always: records here are CLR types with attributes or a definition over a class.</exception>
    public override VectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition) =>
        throw new NotSupportedException("[vector_store] dynamic (dictionary) collections are not supported; use GetCollection<TKey, TRecord> with a record class");

    /// <inheritdoc/>
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        HashSet<string> names;
        lock (Sync)
        {
            names = [.. Live.Keys];
            if (Folder is not null)
                names.UnionWith(Directory.GetDirectories(Folder).Select(Path.GetFileName).OfType<string>());
        }
        foreach (string n in names.Order(StringComparer.Ordinal))
            yield return n;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        lock (Sync)
            return Task.FromResult(Exists(name));
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        lock (Sync)
        {
            Live.TryRemove(name, out _);
            if (Folder is not null && Directory.Exists(Path.Combine(Folder, name)))
                Directory.Delete(Path.Combine(Folder, name), recursive: true);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(VectorStoreMetadata))
            return new VectorStoreMetadata { VectorStoreSystemName = "embedsharp", VectorStoreName = Folder };
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Collection names become folder names: letters, digits, '-', '_' and '.', not starting with '.'.</summary>
    private static void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Length > 128 || name[0] == '.' || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException($"[vector_store] collection name '{name}' is not allowed; use 1-128 ASCII letters, digits, '-', '_' or '.', not starting with '.'");
    }
}

/// <summary>Registers an <see cref="EmbedSharpVectorStore"/> with dependency injection.</summary>
public static class EmbedSharpVectorStoreServiceCollectionExtensions
{
    /// <summary>Adds a singleton <see cref="VectorStore"/> (and <see cref="EmbedSharpVectorStore"/>) persisted under <paramref name="folder"/> (null: memory only).</summary>
    public static IServiceCollection AddEmbedSharpVectorStore(this IServiceCollection services, string? folder = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp => new EmbedSharpVectorStore(folder, sp.GetService<IEmbeddingGenerator>()));
        services.AddSingleton<VectorStore>(sp => sp.GetRequiredService<EmbedSharpVectorStore>());
        return services;
    }

    /// <summary>Adds a singleton collection <paramref name="name"/> of the registered store.</summary>
    public static IServiceCollection AddEmbedSharpCollection<TKey, TRecord>(this IServiceCollection services, string name)
        where TKey : notnull
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp => (EmbedSharpCollection<TKey, TRecord>)sp.GetRequiredService<EmbedSharpVectorStore>().GetCollection<TKey, TRecord>(name));
        services.AddSingleton<VectorStoreCollection<TKey, TRecord>>(sp => sp.GetRequiredService<EmbedSharpCollection<TKey, TRecord>>());
        return services;
    }
}
