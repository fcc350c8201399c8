using System.Reflection;
using EmbedSharp.Search;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbedSharp.VectorData;

/// <summary>
/// How a record type maps onto a collection: its key, data and vector properties, read from
/// <see cref="VectorStoreKeyAttribute"/> / <see cref="VectorStoreDataAttribute"/> /
/// <see cref="VectorStoreVectorAttribute"/> or from a <see cref="VectorStoreCollectionDefinition"/>.
/// </summary>
internal sealed class RecordModel<TRecord>
{
    private RecordModel(PropertyInfo key, PropertyInfo vector, List<PropertyInfo> data, List<PropertyInfo> fullText, int dims,
        SimilarityMetric metric, string distance, string indexKind, IEmbeddingGenerator? generator)
    {
        Key = key;
        Vector = vector;
        Data = data;
        FullText = fullText;
        Dims = dims;
        Metric = metric;
        Distance = distance;
        IndexKind = indexKind;
        Generator = generator;
    }

    public PropertyInfo Key { get; }

    public PropertyInfo Vector { get; }

    public List<PropertyInfo> Data { get; }

    public List<PropertyInfo> FullText { get; }

    public int Dims { get; }

    public SimilarityMetric Metric { get; }

    public string Distance { get; }

    public string IndexKind { get; }

    public IEmbeddingGenerator? Generator { get; }

    /// <summary>Whether the vector property holds text that an embedding generator turns into the vector.</summary>
    public bool GeneratesVectors => Vector.PropertyType == typeof(string);

    public static RecordModel<TRecord> Build(string collection, VectorStoreCollectionDefinition? definition, IEmbeddingGenerator? storeGenerator)
    {
        string where = $"[vector_store] collection '{collection}' of {typeof(TRecord).Name}";
        var props = typeof(TRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance);
        PropertyInfo Prop(string name) => props.FirstOrDefault(p => p.Name == name)
            ?? throw new ArgumentException($"{where}: the definition names property '{name}', which {typeof(TRecord).Name} does not have");
        PropertyInfo? key = null, vector = null;
        var data = new List<PropertyInfo>();
        var fullText = new List<PropertyInfo>();
        int dims = 0;
        string? distance = null, kind = null;
        IEmbeddingGenerator? generator = definition?.EmbeddingGenerator ?? storeGenerator;
        if (definition is not null)
        {
            foreach (var p in definition.Properties)
            {
                switch (p)
                {
                    case VectorStoreKeyProperty:
                        key = Prop(p.Name);
                        break;
                    case VectorStoreDataProperty d:
                        data.Add(Prop(p.Name));
                        if (d.IsFullTextIndexed)
                            fullText.Add(Prop(p.Name));
                        break;
                    case VectorStoreVectorProperty v:
                        if (vector is not null)
                            throw new NotSupportedException($"{where}: more than one vector property; this store indexes one");
                        vector = Prop(p.Name);
                        dims = v.Dimensions;
                        distance = v.DistanceFunction;
                        kind = v.IndexKind;
                        generator = v.EmbeddingGenerator ?? generator;
                        break;
                }
            }
        }
        else
        {
            foreach (var p in props)
            {
                if (p.GetCustomAttribute<VectorStoreKeyAttribute>() is not null)
                    key = p;
                if (p.GetCustomAttribute<VectorStoreDataAttribute>() is { } d)
                {
                    data.Add(p);
                    if (d.IsFullTextIndexed)
                        fullText.Add(p);
                }
                if (p.GetCustomAttribute<VectorStoreVectorAttribute>() is { } v)
                {
                    if (vector is not null)
                        throw new NotSupportedException($"{where}: more than one [VectorStoreVector] property; this store indexes one");
                    vector = p;
                    dims = v.Dimensions;
                    distance = v.DistanceFunction;
                    kind = v.IndexKind;
                }
            }
        }
        if (key is null)
            throw new ArgumentException($"{where}: no key property; mark one with [VectorStoreKey]");
        if (key.PropertyType != typeof(Guid) && key.PropertyType != typeof(string) && key.PropertyType != typeof(int) && key.PropertyType != typeof(long))
            throw new NotSupportedException($"{where}: key type {key.PropertyType.Name} is not supported; valid: Guid, string, int, long");
        if (vector is null)
            throw new ArgumentException($"{where}: no vector property; mark one with [VectorStoreVector(dimensions)]");
        var vt = vector.PropertyType;
        if (vt != typeof(ReadOnlyMemory<float>) && vt != typeof(ReadOnlyMemory<float>?) && vt != typeof(float[]) && vt != typeof(Embedding<float>) && vt != typeof(string))
            throw new NotSupportedException($"{where}: vector type {vt.Name} is not supported; valid: ReadOnlyMemory<float>, float[], Embedding<float>, or string with an embedding generator");
        if (vt == typeof(string) && generator is not IEmbeddingGenerator<string, Embedding<float>>)
            throw new ArgumentException($"{where}: the vector property '{vector.Name}' is a string, so the collection needs an IEmbeddingGenerator<string, Embedding<float>> (definition, vector property or store options)");
        if (dims <= 0)
            throw new ArgumentException($"{where}: vector dimensions {dims} must be positive");
        distance ??= DistanceFunction.CosineSimilarity;
        kind ??= Microsoft.Extensions.VectorData.IndexKind.Hnsw;
        var metric = distance switch
        {
            DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => SimilarityMetric.Cosine,
            DistanceFunction.DotProductSimilarity or DistanceFunction.NegativeDotProductSimilarity => SimilarityMetric.Dot,
            DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => SimilarityMetric.L2,
            _ => throw new NotSupportedException($"{where}: distance function {distance} is not supported; valid: CosineSimilarity, CosineDistance, DotProductSimilarity, NegativeDotProductSimilarity, EuclideanDistance, EuclideanSquaredDistance"),
        };
        if (kind is not (Microsoft.Extensions.VectorData.IndexKind.Hnsw or Microsoft.Extensions.VectorData.IndexKind.Flat))
            throw new NotSupportedException($"{where}: index kind {kind} is not supported; valid: Hnsw, Flat");
        return new RecordModel<TRecord>(key, vector, data, fullText, dims, metric, distance, kind, generator);
    }

    /// <summary>The score a caller sees for our index's score under the property's distance function.</summary>
    public double Score(float ours) => Distance switch
    {
        DistanceFunction.CosineDistance => 1 - ours,
        DistanceFunction.NegativeDotProductSimilarity => -ours,
        DistanceFunction.EuclideanSquaredDistance => (double)ours * ours,
        _ => ours,
    };

    /// <summary>Whether a score passes a threshold: similarities must reach it, distances must not exceed it.</summary>
    public bool Passes(double score, double threshold) => Distance switch
    {
        DistanceFunction.CosineDistance or DistanceFunction.NegativeDotProductSimilarity or DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => score <= threshold,
        _ => score >= threshold,
    };

    /// <summary>The float vector of a record's vector property (null when unset).</summary>
    public float[]? VectorOf(TRecord record) => Vector.GetValue(record) switch
    {
        ReadOnlyMemory<float> m => m.ToArray(),
        float[] a => a,
        Embedding<float> e => e.Vector.ToArray(),
        _ => null,
    };

    /// <summary>A shallow copy of the record without its vector (RecordRetrievalOptions.IncludeVectors = false).</summary>
    public TRecord WithoutVector(TRecord record)
    {
        if (GeneratesVectors)
            return record;
        var clone = (TRecord)typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(record, null)!;
        Vector.SetValue(clone, Vector.PropertyType.IsValueType ? Activator.CreateInstance(Vector.PropertyType) : null);
        return clone;
    }
}
