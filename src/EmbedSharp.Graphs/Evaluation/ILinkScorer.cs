using EmbedSharp.Graphs.Data;

namespace EmbedSharp.Graphs.Evaluation;

/// <summary>Anything that scores a batch of queries against every entity (higher = more plausible).</summary>
public interface ILinkScorer
{
    /// <summary>Number of candidate entities each query is scored against.</summary>
    int NumEntities { get; }

    /// <summary>Number of relations (original ids, without inverses) a query may name.</summary>
    int NumRelations { get; }

    /// <summary>
    /// <c>scores[i · NumEntities + e]</c> = plausibility of entity <c>e</c> as the answer of query i:
    /// <c>(anchors[i], relations[i], e)</c> for <see cref="QuerySide.Tail"/>, <c>(e, relations[i], anchors[i])</c>
    /// for <see cref="QuerySide.Head"/>. Ids are validated by the caller.
    /// </summary>
    void ScoreAll(ReadOnlySpan<int> anchors, ReadOnlySpan<int> relations, QuerySide side, Span<float> scores);
}
