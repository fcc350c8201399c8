using System.Globalization;
using System.Numerics.Tensors;
using EmbedSharp.Diagnostics;
using EmbedSharp.Graphs.Data;
using EmbedSharp.Graphs.Evaluation;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;
using EmbedSharp.Search;

namespace EmbedSharp.Graphs.Models;

/// <summary>
/// A knowledge-graph embedding model: an entity <see cref="Embedding"/> and a relation <see cref="Embedding"/>,
/// and a scoring function f(h, r, t), higher = more plausible. Every model here is written as a query
/// map and a comparison: a query <c>(anchor, r, side)</c> becomes a vector q, and f is q compared with
/// the candidate's row (a dot product for DistMult and ComplEx, a distance for TransE and RotatE), so
/// scoring a batch of queries against every entity is one matrix product over the entity table
/// (<see cref="Embedding.AsLinear(ReadOnlySpan{float}, Span{float})"/>) for the dot-product models.
/// </summary>
/// <remarks>Scoring may run on several threads at once; training must not run beside it.</remarks>
public abstract class KgModel : ILinkScorer, IDisposable
{
    private protected KgModel(string name, int numEntities, int numRelations, int entityDims, int relationDims, KgModelOptions options, ScoreKind kind, float gamma)
    {
        Name = name;
        NumEntities = numEntities;
        NumRelations = numRelations;
        Options = options;
        Kind = kind;
        Gamma = gamma;
        int relationRows = options.InverseRelations ? checked(2 * numRelations) : numRelations;
        var random = new SeededRandom(options.Seed);
        Entities = new Embedding(numEntities, entityDims, new EmbeddingOptions { Initializer = EntityInitializer(), Seed = random.NextUInt64() });
        Relations = new Embedding(relationRows, relationDims, new EmbeddingOptions { Initializer = RelationInitializer(), Seed = random.NextUInt64() });
    }

    /// <summary>The model's name: <c>transe</c>, <c>distmult</c>, <c>complex</c> or <c>rotate</c>.</summary>
    public string Name { get; }

    /// <summary>Number of entities (rows of <see cref="Entities"/>).</summary>
    public int NumEntities { get; }

    /// <summary>Number of relations in the data (the relation table has twice as many rows with inverse relations).</summary>
    public int NumRelations { get; }

    /// <summary>Shape settings the model was created with.</summary>
    public KgModelOptions Options { get; }

    /// <summary>Margin γ of a distance model (0 for the dot-product models).</summary>
    public float Gamma { get; }

    /// <summary>Entity vectors, <c>NumEntities × EntityDims</c>.</summary>
    public Embedding Entities { get; }

    /// <summary>Relation vectors (RotatE: phases in radians), one row per relation and, with inverse relations, one more per inverse.</summary>
    public Embedding Relations { get; }

    /// <summary>Whether the coordinates are complex (ComplEx, RotatE: rows are [re | im]).</summary>
    public virtual bool IsComplex => false;

    internal ScoreKind Kind { get; }

    /// <summary>Initial entity weights.</summary>
    private protected abstract Initializer EntityInitializer();

    /// <summary>Initial relation weights.</summary>
    private protected abstract Initializer RelationInitializer();

    /// <summary>q for the query of <paramref name="anchor"/> and relation row <paramref name="relation"/> (head side: the anchor is the tail).</summary>
    internal abstract void Query(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, Span<float> q);

    /// <summary><c>gAnchor += ∂q/∂anchor ᵀ gq</c>, <c>gRelation += ∂q/∂relation ᵀ gq</c>.</summary>
    internal abstract void QueryBackward(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, ReadOnlySpan<float> gq, Span<float> gAnchor, Span<float> gRelation);

    /// <summary>The relation row and the side the query map runs on, for a relation id and a side (inverse relations turn head queries into tail queries).</summary>
    internal (int Row, bool HeadSide) ResolveRelation(int relation, QuerySide side) =>
        Options.InverseRelations && side == QuerySide.Head ? (relation + NumRelations, false) : (relation, side == QuerySide.Head);

    /// <summary>The score of one triple.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    public float Score(int head, int relation, int tail)
    {
        const string op = "kg.score";
        Guard.InRange(op, head, 0, NumEntities);
        Guard.InRange(op, tail, 0, NumEntities);
        Guard.InRange(op, relation, 0, NumRelations);
        var (row, headSide) = ResolveRelation(relation, QuerySide.Tail);
        var q = new float[Entities.Dims];
        Query(Entities.Weight.GetRow<float>(head), Relations.Weight.GetRow<float>(row), headSide, q);
        return Gamma + ScoreKernels.Score(Kind, q, Entities.Weight.GetRow<float>(tail));
    }

    /// <inheritdoc/>
    public void ScoreAll(ReadOnlySpan<int> anchors, ReadOnlySpan<int> relations, QuerySide side, Span<float> scores)
    {
        const string op = "kg.score_all";
        Guard.Length(op, relations.Length, anchors.Length, "anchors.Length");
        Guard.MinLength(op, scores.Length, (long)anchors.Length * NumEntities, "anchors.Length × NumEntities");
        foreach (int a in anchors)
            Guard.InRange(op, a, 0, NumEntities, nameof(anchors));
        foreach (int r in relations)
            Guard.InRange(op, r, 0, NumRelations, nameof(relations));
        int d = Entities.Dims, count = anchors.Length;
        var q = new float[(long)count * d];
        for (int i = 0; i < count; i++)
        {
            var (row, headSide) = ResolveRelation(relations[i], side);
            Query(Entities.Weight.GetRow<float>(anchors[i]), Relations.Weight.GetRow<float>(row), headSide, q.AsSpan(i * d, d));
        }
        ScoreQueries(q, count, scores);
    }

    /// <summary>Scores <paramref name="count"/> query vectors against every entity: one GEMM for dot products (and for L2, through ‖q‖² + ‖e‖² − 2 q·e), a parallel loop otherwise.</summary>
    internal void ScoreQueries(float[] q, int count, Span<float> scores)
    {
        int d = Entities.Dims, n = NumEntities;
        if (count == 0 || n == 0)
            return;
        switch (Kind)
        {
            case ScoreKind.Dot:
                Entities.AsLinear(q.AsSpan(0, count * d), scores);
                return;
            case ScoreKind.L2:
            {
                Entities.AsLinear(q.AsSpan(0, count * d), scores);
                var entityNorms = new float[n];
                var table = Entities.Weight;
                for (int e = 0; e < n; e++)
                {
                    var row = table.GetRow<float>(e);
                    entityNorms[e] = TensorPrimitives.Dot<float>(row, row);
                }
                for (int i = 0; i < count; i++)
                {
                    var qi = q.AsSpan(i * d, d);
                    float qn = TensorPrimitives.Dot<float>(qi, qi);
                    var s = scores.Slice(i * n, n);
                    for (int e = 0; e < n; e++)
                        s[e] = Gamma - MathF.Sqrt(MathF.Max(0, qn + entityNorms[e] - 2 * s[e]));
                }
                return;
            }
            default:
            {
                var table = Entities.Weight;
                bool l1 = Kind == ScoreKind.L1;
                float gamma = Gamma;
                unsafe
                {
                    fixed (float* sp = scores)
                    {
                        nint sAddress = (nint)sp;
                        const int block = 256;
                        int blocks = (n + block - 1) / block;
                        Parallel.For(0, blocks, b =>
                        {
                            var s = new Span<float>((float*)sAddress, count * n);
                            int e1 = Math.Min(n, (b + 1) * block);
                            for (int e = b * block; e < e1; e++)
                            {
                                var row = table.GetRow<float>(e);
                                for (int i = 0; i < count; i++)
                                {
                                    var qi = q.AsSpan(i * d, d);
                                    s[i * n + e] = gamma - (l1 ? ScoreKernels.L1Distance(qi, row) : ScoreKernels.ComplexL1Distance(qi, row));
                                }
                            }
                        });
                    }
                }
                return;
            }
        }
    }

    /// <summary>The <paramref name="k"/> most plausible tails of <c>(head, relation, ?)</c>, best first, leaving out <paramref name="exclude"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id or k is out of range.</exception>
    public Neighbor[] Predict(int head, int relation, int k, ReadOnlySpan<int> exclude = default) =>
        Predict(head, relation, QuerySide.Tail, k, exclude);

    /// <summary>The <paramref name="k"/> most plausible answers of a query on either side, best first.</summary>
    public Neighbor[] Predict(int anchor, int relation, QuerySide side, int k, ReadOnlySpan<int> exclude = default)
    {
        const string op = "kg.predict";
        Guard.NonNegative(op, k);
        var scores = new float[NumEntities];
        ScoreAll([anchor], [relation], side, scores);
        return VectorSearch.TopK(scores, k, largest: true, exclude);
    }

    /// <summary>The <paramref name="k"/> entities whose rows have the highest cosine similarity with <paramref name="entity"/>'s (itself left out).</summary>
    public Neighbor[] MostSimilar(int entity, int k)
    {
        const string op = "kg.most_similar";
        Guard.InRange(op, entity, 0, NumEntities);
        Guard.NonNegative(op, k);
        return VectorSearch.Search(Entities.Weight, Entities.Weight.GetRow<float>(entity), k, SimilarityMetric.Cosine, exclude: [entity]);
    }

    /// <summary>
    /// The settings that, with the two tables, rebuild the model (<see cref="FromTables"/>): model name,
    /// dims, inverse relations, γ, norm, entity and relation counts. Values are invariant-culture text.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["model"] = Name,
        ["dims"] = Options.Dims.ToString(CultureInfo.InvariantCulture),
        ["inverse_relations"] = Options.InverseRelations ? "true" : "false",
        ["gamma"] = Gamma.ToString("R", CultureInfo.InvariantCulture),
        ["norm"] = Options.Norm.ToString(CultureInfo.InvariantCulture),
        ["num_entities"] = NumEntities.ToString(CultureInfo.InvariantCulture),
        ["num_relations"] = NumRelations.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A new model of the named kind (<c>transe</c>, <c>distmult</c>, <c>complex</c>, <c>rotate</c>) with freshly drawn weights.</summary>
    /// <exception cref="ArgumentException">The name is unknown or an option is out of range.</exception>
    public static KgModel Create(string name, int numEntities, int numRelations, KgModelOptions? options = null)
    {
        const string op = "kg.create_model";
        options ??= new KgModelOptions();
        Guard.Positive(op, numEntities);
        Guard.Positive(op, numRelations);
        Guard.Positive(op, options.Dims, "Dims");
        if (options.Gamma is float g)
            Guard.Finite(op, g, "Gamma");
        if (options.InitScale is float s)
            Guard.PositiveFinite(op, s, "InitScale");
        return (name ?? "").ToLowerInvariant() switch
        {
            "transe" => new TransE(numEntities, numRelations, options),
            "distmult" => new DistMult(numEntities, numRelations, options),
            "complex" => new ComplEx(numEntities, numRelations, options),
            "rotate" => new RotatE(numEntities, numRelations, options),
            _ => throw new ArgumentException(ThrowHelper.Format(op, $"unknown model '{name}'; valid values are transe, distmult, complex, rotate"), nameof(name)),
        };
    }

    /// <summary>The names <see cref="Create"/> knows.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = ["transe", "distmult", "complex", "rotate"];

    /// <summary>
    /// Rebuilds a saved model from its <see cref="Settings"/> and its two tables (row-major floats). Every
    /// setting and both shapes are checked before anything is allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">A setting is missing or malformed, or a table's shape disagrees with the settings.</exception>
    public static KgModel FromTables(IReadOnlyDictionary<string, string> settings, ReadOnlySpan<float> entities, ReadOnlySpan<float> relations)
    {
        const string op = "kg.load";
        ArgumentNullException.ThrowIfNull(settings);
        string name = Get(settings, "model");
        if (!ModelNames.Contains(name))
            throw new InvalidDataException($"[{op}] model '{name}' is unknown; valid values are {string.Join(", ", ModelNames)}");
        int dims = GetInt(settings, "dims", 1, 1 << 20);
        int numEntities = GetInt(settings, "num_entities", 1, int.MaxValue);
        int numRelations = GetInt(settings, "num_relations", 1, int.MaxValue / 2);
        int norm = GetInt(settings, "norm", 1, 2);
        string inverse = Get(settings, "inverse_relations");
        if (inverse is not ("true" or "false"))
            throw new InvalidDataException($"[{op}] setting inverse_relations = '{inverse}'; valid values are true, false");
        if (!float.TryParse(Get(settings, "gamma"), NumberStyles.Float, CultureInfo.InvariantCulture, out float gamma) || !float.IsFinite(gamma))
            throw new InvalidDataException($"[{op}] setting gamma = '{settings["gamma"]}' is not a finite number");
        bool isComplex = name is "complex" or "rotate";
        long entityDims = isComplex ? 2L * dims : dims;
        long relationDims = name == "complex" ? 2L * dims : dims;
        long relationRows = inverse == "true" ? 2L * numRelations : numRelations;
        if (entities.Length != numEntities * entityDims)
            throw new InvalidDataException($"[{op}] the entity table holds {entities.Length} values but the settings need {numEntities} × {entityDims}");
        if (relations.Length != relationRows * relationDims)
            throw new InvalidDataException($"[{op}] the relation table holds {relations.Length} values but the settings need {relationRows} × {relationDims}");
        var model = Create(name, numEntities, numRelations, new KgModelOptions { Dims = dims, InverseRelations = inverse == "true", Gamma = gamma, Norm = norm });
        model.Entities.Weight.CopyFrom(entities);
        model.Relations.Weight.CopyFrom(relations);
        return model;
    }

    private static string Get(IReadOnlyDictionary<string, string> settings, string key) =>
        settings.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"[kg.load] setting '{key}' is missing; a saved model names model, dims, inverse_relations, gamma, norm, num_entities, num_relations");

    private static int GetInt(IReadOnlyDictionary<string, string> settings, string key, int min, int max)
    {
        string text = Get(settings, key);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new InvalidDataException($"[kg.load] setting {key} = '{text}'; valid values are integers {min}..{max}");
        return value;
    }

    /// <summary>Frees both tables.</summary>
    public void Dispose()
    {
        Entities.Dispose();
        Relations.Dispose();
        GC.SuppressFinalize(this);
    }
}
