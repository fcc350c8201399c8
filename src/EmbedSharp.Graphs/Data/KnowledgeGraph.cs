using EmbedSharp.Diagnostics;

namespace EmbedSharp.Graphs.Data;

/// <summary>
/// A knowledge graph's splits over one entity and one relation vocabulary. The vocabularies come from
/// the training split (in order of first appearance); validation and test triples may only name what
/// training saw, since a model has no row for anything else.
/// </summary>
public sealed class KnowledgeGraph
{
    private const string Op = "kg.read";

    /// <summary>A graph over given vocabularies and id triples (every id is checked).</summary>
    /// <exception cref="ArgumentException">An id is out of range of its vocabulary.</exception>
    public KnowledgeGraph(GraphVocabulary entities, GraphVocabulary relations, Triple[] train, Triple[]? valid = null, Triple[]? test = null)
    {
        const string op = "kg.create";
        Entities = Guard.NotNull(op, entities);
        Relations = Guard.NotNull(op, relations);
        Train = Guard.NotNull(op, train);
        Valid = valid ?? [];
        Test = test ?? [];
        foreach (var (name, split) in new[] { ("train", Train), ("valid", Valid), ("test", Test) })
            Check(op, name, split, entities.Count, relations.Count);
    }

    /// <summary>Entity names ↔ ids.</summary>
    public GraphVocabulary Entities { get; }

    /// <summary>Relation names ↔ ids (without inverse relations; see <see cref="WithInverses"/>).</summary>
    public GraphVocabulary Relations { get; }

    /// <summary>Training triples.</summary>
    public Triple[] Train { get; }

    /// <summary>Validation triples (empty when the data set has none).</summary>
    public Triple[] Valid { get; }

    /// <summary>Test triples (empty when the data set has none, as in the WN18RR copy we ship against).</summary>
    public Triple[] Test { get; }

    /// <summary>
    /// Reads the splits. Entities and relations are numbered from <paramref name="train"/>; a validation
    /// or test line that names an entity or relation training never saw is an error naming its file and
    /// line. Everything is parsed and checked before the graph exists, so nothing is half-loaded.
    /// </summary>
    /// <param name="train">Training triples; they number the entities and relations.</param>
    /// <param name="valid">Validation triples, or null.</param>
    /// <param name="test">Test triples, or null.</param>
    /// <param name="includeUnseenEntities">
    /// When true, entities that only valid or test name are added to the vocabulary (after the training
    /// ones) instead of being an error. Published WN18RR numbers are computed this way: its valid and test
    /// splits name a few hundred entities that training never does, and those queries are ranked with
    /// untrained rows. Relations must always appear in training.
    /// </param>
    /// <exception cref="InvalidDataException">A malformed line, an empty file, or an unknown name (file and line in the message).</exception>
    public static KnowledgeGraph Read(TripleSource train, TripleSource? valid = null, TripleSource? test = null, bool includeUnseenEntities = false)
    {
        ArgumentNullException.ThrowIfNull(train);
        var trainNames = TripleParser.Parse(train, Op);
        var validNames = valid is null ? null : TripleParser.Parse(valid, Op);
        var testNames = test is null ? null : TripleParser.Parse(test, Op);
        var entities = new GraphVocabulary();
        var relations = new GraphVocabulary();
        var trainIds = new Triple[trainNames.Count];
        for (int i = 0; i < trainIds.Length; i++)
        {
            var n = trainNames[i];
            trainIds[i] = new Triple(entities.GetOrAdd(n.Head), relations.GetOrAdd(n.Relation), entities.GetOrAdd(n.Tail));
        }
        if (includeUnseenEntities)
        {
            foreach (var n in (validNames ?? []).Concat(testNames ?? []))
            {
                entities.GetOrAdd(n.Head);
                entities.GetOrAdd(n.Tail);
            }
        }
        var graph = new KnowledgeGraph(entities, relations, trainIds,
            validNames is null ? null : Resolve(valid!, validNames, entities, relations),
            testNames is null ? null : Resolve(test!, testNames, entities, relations));
        return graph;
    }

    /// <summary>
    /// Reads triples of another file against existing vocabularies (as <c>kg evaluate --test</c> does for
    /// a trained model); an unknown name is an error naming the file and line.
    /// </summary>
    /// <exception cref="InvalidDataException">A malformed line, an empty file, or an unknown name.</exception>
    public static Triple[] ReadAgainst(TripleSource source, GraphVocabulary entities, GraphVocabulary relations)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(entities);
        ArgumentNullException.ThrowIfNull(relations);
        return Resolve(source, TripleParser.Parse(source, Op), entities, relations);
    }

    private static Triple[] Resolve(TripleSource source, List<TripleParser.NameTriple> names, GraphVocabulary entities, GraphVocabulary relations)
    {
        var result = new Triple[names.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var n = names[i];
            result[i] = new Triple(Lookup(source, n.Line, n.Head, entities, "entity"), Lookup(source, n.Line, n.Relation, relations, "relation"), Lookup(source, n.Line, n.Tail, entities, "entity"));
        }
        return result;
    }

    private static int Lookup(TripleSource source, int line, string name, GraphVocabulary vocabulary, string kind)
    {
        if (!vocabulary.TryGetId(name, out int id))
            throw new InvalidDataException($"[{Op}] {source.Name}:{line}: {kind} '{name}' never appears in the training triples; a model has no vector for it (remove the line or add a training triple that names it)");
        return id;
    }

    /// <summary>
    /// The triples followed by their inverses: <c>(t, r + numRelations, h)</c> for each <c>(h, r, t)</c>
    /// (Lacroix et al. 2018's reciprocal relations; a model then has <c>2 · numRelations</c> relation rows).
    /// </summary>
    public static Triple[] WithInverses(ReadOnlySpan<Triple> triples, int numRelations)
    {
        Guard.NonNegative("kg.with_inverses", numRelations);
        var result = new Triple[triples.Length * 2];
        for (int i = 0; i < triples.Length; i++)
        {
            var t = triples[i];
            result[i] = t;
            result[triples.Length + i] = new Triple(t.Tail, t.Relation + numRelations, t.Head);
        }
        return result;
    }

    /// <summary>The filter of known true triples: train, valid and test together (the standard filtered setting).</summary>
    public FilterIndex AllKnown() => FilterIndex.Build(Entities.Count, Train, Valid, Test);

    internal static void Check(string op, string split, ReadOnlySpan<Triple> triples, int numEntities, int numRelations)
    {
        for (int i = 0; i < triples.Length; i++)
        {
            var t = triples[i];
            if ((uint)t.Head >= (uint)numEntities || (uint)t.Tail >= (uint)numEntities || (uint)t.Relation >= (uint)numRelations)
                ThrowHelper.Argument(op, split, $"{split} triple {i} = {t} names an id outside 0..{numEntities - 1} (entities) or 0..{numRelations - 1} (relations)");
        }
    }
}
