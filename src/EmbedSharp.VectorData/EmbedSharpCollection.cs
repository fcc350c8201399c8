using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EmbedSharp.Search;
using EmbedSharp.Search.Hnsw;
using EmbedSharp.Search.Hybrid;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData;

/// <summary>
/// A collection of records in an <see cref="EmbedSharpVectorStore"/>: records by key, their vectors in
/// an EmbedSharp index (<see cref="HnswIndex"/> for <c>IndexKind.Hnsw</c>, <see cref="ExactIndex"/> for
/// <c>Flat</c>), full-text data properties in a BM25 index for hybrid search. With a store folder every
/// change is saved (index file + records as JSON lines, each written atomically) before the call returns.
/// </summary>
/// <remarks>Calls are serialised by a lock; filters are LINQ expressions compiled to delegates.</remarks>
// Size: ~460 lines because VectorStoreCollection's abstract surface (CRUD by key and batch, search,
// hybrid search, filters, persistence) is one class by the abstraction's design; each member is short.
public sealed class EmbedSharpCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>, IKeywordHybridSearchable<TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly EmbedSharpVectorStore _store;
    private readonly RecordModel<TRecord> _model;
    private readonly object _lock = new();
    private readonly Dictionary<TKey, int> _idOf = [];
    private readonly List<TRecord?> _records = [];
    private IVectorIndex? _index;
    private Bm25Index? _bm25;

    internal EmbedSharpCollection(EmbedSharpVectorStore store, string name, VectorStoreCollectionDefinition? definition)
    {
        _store = store;
        Name = name;
        _model = RecordModel<TRecord>.Build(name, definition, store.EmbeddingGenerator);
        if (_model.Key.PropertyType != typeof(TKey))
            throw new ArgumentException($"[vector_store] collection '{name}': TKey is {typeof(TKey).Name} but the key property '{_model.Key.Name}' is {_model.Key.PropertyType.Name}");
        lock (store.Sync)
        {
            if (store.Folder is not null && Directory.Exists(FolderPath))
                Load();
            else if (store.Live.ContainsKey(name))
                Create();
        }
    }

    /// <inheritdoc/>
    public override string Name { get; }

    private string FolderPath => Path.Combine(_store.Folder!, Name);

    /// <summary>Live records.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _idOf.Count;
        }
    }

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        lock (_store.Sync)
            return Task.FromResult(_store.Exists(Name));
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        lock (_store.Sync)
            lock (_lock)
            {
                if (_store.Exists(Name))
                {
                    if (_index is null && _store.Folder is not null && Directory.Exists(FolderPath))
                        Load();
                    else
                        _index ??= NewIndex();
                    return Task.CompletedTask;
                }
                Create();
                Save();
            }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        lock (_store.Sync)
            lock (_lock)
            {
                (_index as IDisposable)?.Dispose();
                _index = null;
                _bm25 = null;
                _idOf.Clear();
                _records.Clear();
                _store.Live.TryRemove(Name, out _);
                if (_store.Folder is not null && Directory.Exists(FolderPath))
                    Directory.Delete(FolderPath, recursive: true);
            }
        return Task.CompletedTask;
    }

    private void Create()
    {
        _index = NewIndex();
        _bm25 = _model.FullText.Count > 0 ? new Bm25Index() : null;
        _store.Live[Name] = true;
    }

    private IVectorIndex NewIndex() => _model.IndexKind == IndexKind.Flat
        ? new ExactIndex(_model.Dims, _model.Metric)
        : new HnswIndex(_model.Dims, _model.Metric, new HnswOptions { M = 16, EfConstruction = 100, EfSearch = 64 });

    private IVectorIndex RequireIndex()
    {
        if (_index is null)
            throw new VectorStoreException($"[vector_store] collection '{Name}' does not exist; call EnsureCollectionExistsAsync first");
        return _index;
    }

    // ---- CRUD --------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            RequireIndex();
            return Task.FromResult(_idOf.TryGetValue(key, out int id) ? Present(_records[id]!, options?.IncludeVectors ?? false) : null);
        }
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await GetAsync(key, options, cancellationToken).ConfigureAwait(false) is { } record)
                yield return record;
        }
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var predicate = filter.Compile();
        List<TRecord> matches;
        lock (_lock)
        {
            RequireIndex();
            matches = _records.Where(r => r is not null && predicate(r)).Select(r => r!).ToList();
        }
        IEnumerable<TRecord> ordered = matches;
        if (options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()) is { } orderBy)
        {
            IOrderedEnumerable<TRecord>? sorted = null;
            foreach (var sort in orderBy.Values)
            {
                var selector = sort.PropertySelector.Compile();
                sorted = sorted is null
                    ? (sort.Ascending ? matches.OrderBy(selector, Comparer<object?>.Default) : matches.OrderByDescending(selector, Comparer<object?>.Default))
                    : (sort.Ascending ? sorted.ThenBy(selector, Comparer<object?>.Default) : sorted.ThenByDescending(selector, Comparer<object?>.Default));
            }
            ordered = sorted ?? ordered;
        }
        foreach (var r in ordered.Skip(options.Skip).Take(top))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Present(r, options.IncludeVectors);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default) => UpsertAsync([record], cancellationToken);

    /// <inheritdoc/>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        // Vectors first (generation may call out and fail): nothing changes until every record has one.
        var vectors = new List<float[]>(list.Count);
        foreach (var record in list)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            float[]? v;
            if (_model.GeneratesVectors)
            {
                string text = (string?)_model.Vector.GetValue(record) ?? "";
                var generator = (IEmbeddingGenerator<string, Embedding<float>>)_model.Generator!;
                v = (await generator.GenerateAsync([text], null, cancellationToken).ConfigureAwait(false))[0].Vector.ToArray();
            }
            else
            {
                v = _model.VectorOf(record);
            }
            if (v is null || v.Length != _model.Dims)
                throw new ArgumentException($"[vector_store.upsert] collection '{Name}': record vector has {v?.Length ?? 0} values; the collection's vectors have {_model.Dims}");
            if (v.Any(x => !float.IsFinite(x)))
                throw new ArgumentException($"[vector_store.upsert] collection '{Name}': a record vector holds NaN or infinity");
            vectors.Add(v);
        }
        lock (_lock)
        {
            var index = RequireIndex();
            for (int i = 0; i < list.Count; i++)
            {
                var record = list[i];
                if (typeof(TKey) == typeof(Guid) && (Guid)_model.Key.GetValue(record)! == Guid.Empty)
                    _model.Key.SetValue(record, Guid.NewGuid());
                var key = (TKey)_model.Key.GetValue(record)!;
                if (key is string s && s.Length == 0)
                    throw new ArgumentException($"[vector_store.upsert] collection '{Name}': a string key must not be empty");
                if (_idOf.Remove(key, out int old))
                {
                    index.Remove(old);
                    _bm25?.Remove(old);
                    _records[old] = null;
                }
                int id = index.Add(vectors[i]);
                _bm25?.Add(FullText(record));
                while (_records.Count <= id)
                    _records.Add(null);
                _records[id] = record;
                _idOf[key] = id;
            }
            Save();
        }
    }

    /// <inheritdoc/>
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    /// <inheritdoc/>
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_lock)
        {
            var index = RequireIndex();
            foreach (var key in keys)
            {
                if (_idOf.Remove(key, out int id))
                {
                    index.Remove(id);
                    _bm25?.Remove(id);
                    _records[id] = null;
                }
            }
            Save();
        }
        return Task.CompletedTask;
    }

    // ---- search ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var query = await QueryVector(searchValue, cancellationToken).ConfigureAwait(false);
        var results = Dense(query, top + options.Skip, options.Filter, options.ScoreThreshold, options.IncludeVectors);
        foreach (var r in results.Skip(options.Skip).Take(top))
            yield return r;
    }

    /// <summary>
    /// Hybrid search: the dense ranking and a BM25 ranking of the <paramref name="keywords"/> over the
    /// full-text-indexed data properties, fused by reciprocal rank (scores are the fused RRF scores).
    /// </summary>
    /// <exception cref="InvalidOperationException">The record has no full-text-indexed data property.</exception>
    public async IAsyncEnumerable<VectorSearchResult<TRecord>> HybridSearchAsync<TInput>(TInput searchValue, ICollection<string> keywords, int top,
        HybridSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(keywords);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new HybridSearchOptions<TRecord>();
        if (_model.FullText.Count == 0)
            throw new InvalidOperationException($"[vector_store.hybrid_search] collection '{Name}' has no full-text-indexed data property; mark one with [VectorStoreData(IsFullTextIndexed = true)]");
        var query = await QueryVector(searchValue, cancellationToken).ConfigureAwait(false);
        List<VectorSearchResult<TRecord>> fused = [];
        lock (_lock)
        {
            var index = RequireIndex();
            var filter = Filter(options.Filter);
            int candidates = Math.Max(50, 2 * (top + options.Skip));
            var dense = index.Search(query, candidates, filter);
            var keyword = _bm25!.Search(string.Join(' ', keywords), candidates, filter);
            foreach (var n in RankFusion.Reciprocal([dense, keyword], top + options.Skip))
            {
                if (options.ScoreThreshold is double t && n.Score < t)
                    continue;
                fused.Add(new VectorSearchResult<TRecord>(Present(_records[n.Index]!, options.IncludeVectors), n.Score));
            }
        }
        foreach (var r in fused.Skip(options.Skip).Take(top))
            yield return r;
    }

    private List<VectorSearchResult<TRecord>> Dense(float[] query, int count, Expression<Func<TRecord, bool>>? filter, double? threshold, bool includeVectors)
    {
        lock (_lock)
        {
            var index = RequireIndex();
            var hits = index.Search(query, count, Filter(filter));
            var results = new List<VectorSearchResult<TRecord>>(hits.Length);
            foreach (var h in hits)
            {
                double score = _model.Score(h.Score);
                if (threshold is double t && !_model.Passes(score, t))
                    continue;
                results.Add(new VectorSearchResult<TRecord>(Present(_records[h.Index]!, includeVectors), score));
            }
            return results;
        }
    }

    private SearchFilter? Filter(Expression<Func<TRecord, bool>>? filter)
    {
        if (filter is null)
            return null;
        var predicate = filter.Compile();
        var records = _records;
        return SearchFilter.Where(id => id < records.Count && records[id] is { } r && predicate(r));
    }

    private async Task<float[]> QueryVector<TInput>(TInput searchValue, CancellationToken cancellationToken)
    {
        float[] v = searchValue switch
        {
            ReadOnlyMemory<float> m => m.ToArray(),
            float[] a => a,
            Embedding<float> e => e.Vector.ToArray(),
            string text when _model.Generator is IEmbeddingGenerator<string, Embedding<float>> g =>
                (await g.GenerateAsync([text], null, cancellationToken).ConfigureAwait(false))[0].Vector.ToArray(),
            string => throw new InvalidOperationException($"[vector_store.search] collection '{Name}' has no embedding generator to turn a text query into a vector"),
            null => throw new ArgumentNullException(nameof(searchValue)),
            _ => throw new NotSupportedException($"[vector_store.search] a {typeof(TInput).Name} query is not supported; valid: ReadOnlyMemory<float>, float[], Embedding<float>, string (with an embedding generator)"),
        };
        if (v.Length != _model.Dims)
            throw new ArgumentException($"[vector_store.search] the query has {v.Length} values; the collection's vectors have {_model.Dims}");
        return v;
    }

    private TRecord Present(TRecord record, bool includeVectors) => includeVectors ? record : _model.WithoutVector(record);

    private string FullText(TRecord record) => string.Join('\n', _model.FullText.Select(p => p.GetValue(record)?.ToString() ?? ""));

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(VectorStoreCollectionMetadata))
            return new VectorStoreCollectionMetadata { VectorStoreSystemName = "embedsharp", VectorStoreName = _store.Folder, CollectionName = Name };
        if (serviceType == typeof(IVectorIndex) || serviceType.IsInstanceOfType(_index))
            return _index;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    // ---- persistence -------------------------------------------------------------------------

    private const string IndexFileName = "index.bin";
    private const string RecordsFileName = "records.jsonl";

    private void Save()
    {
        if (_store.Folder is null || _index is null)
            return;
        Directory.CreateDirectory(FolderPath);
        IndexFile.Save(_index, Path.Combine(FolderPath, IndexFileName));
        string records = Path.Combine(FolderPath, RecordsFileName);
        string temp = records + ".tmp";
        using (var w = new StreamWriter(temp))
        {
            for (int id = 0; id < _records.Count; id++)
            {
                if (_records[id] is { } r)
                    w.WriteLine(JsonSerializer.Serialize(new StoredRecord(id, JsonSerializer.SerializeToElement(r))));
            }
        }
        File.Move(temp, records, overwrite: true);
    }

    private void Load()
    {
        string indexPath = Path.Combine(FolderPath, IndexFileName), recordsPath = Path.Combine(FolderPath, RecordsFileName);
        if (!File.Exists(indexPath) || !File.Exists(recordsPath))
            throw new VectorStoreException($"[vector_store.open] {FolderPath} lacks {IndexFileName} or {RecordsFileName}; the folder is not a collection we wrote");
        var index = IndexFile.Open(indexPath);
        if (index.Dims != _model.Dims || index.Metric != _model.Metric)
            throw new VectorStoreException($"[vector_store.open] {indexPath} holds {index.Dims}-long {index.Metric} vectors but {typeof(TRecord).Name} declares {_model.Dims}-long {_model.Metric}");
        int line = 0;
        foreach (string text in File.ReadLines(recordsPath))
        {
            line++;
            StoredRecord? stored;
            TRecord? record;
            try
            {
                stored = JsonSerializer.Deserialize<StoredRecord>(text);
                record = stored is null ? null : stored.Record.Deserialize<TRecord>();
            }
            catch (JsonException e)
            {
                throw new VectorStoreException($"[vector_store.open] {recordsPath} line {line}: {e.Message}", e);
            }
            if (stored is null || record is null || (uint)stored.Id >= (uint)index.NumEmbeddings)
                throw new VectorStoreException($"[vector_store.open] {recordsPath} line {line}: the record's id is outside the index's 0..{index.NumEmbeddings - 1}");
            while (_records.Count <= stored.Id)
                _records.Add(null);
            _records[stored.Id] = record;
            _idOf[(TKey)_model.Key.GetValue(record)!] = stored.Id;
        }
        while (_records.Count < index.NumEmbeddings)
            _records.Add(null);
        if (_model.FullText.Count > 0)
        {
            _bm25 = new Bm25Index();
            for (int id = 0; id < index.NumEmbeddings; id++)
            {
                _bm25.Add(_records[id] is { } r ? FullText(r) : "");
                if (_records[id] is null)
                    _bm25.Remove(id);
            }
        }
        _index = index;
        _store.Live[Name] = true;
    }

    private sealed record StoredRecord(int Id, JsonElement Record);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
    }
}
