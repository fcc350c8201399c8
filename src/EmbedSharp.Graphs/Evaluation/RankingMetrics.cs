namespace EmbedSharp.Graphs.Evaluation;

/// <summary>
/// Link-prediction metrics over the ranks of the true entity: mean reciprocal rank, mean rank and
/// Hits@k, all on the realistic rank (the mean of the optimistic and pessimistic ranks under ties).
/// </summary>
/// <param name="Mrr">Mean of 1 / rank.</param>
/// <param name="MeanRank">Mean rank (1 is best).</param>
/// <param name="HitsAt1">Fraction of queries with rank ≤ 1.</param>
/// <param name="HitsAt3">Fraction with rank ≤ 3.</param>
/// <param name="HitsAt10">Fraction with rank ≤ 10.</param>
/// <param name="Triples">Triples evaluated.</param>
/// <param name="Queries">Queries ranked (two per triple when both sides are ranked).</param>
public sealed record RankingMetrics(double Mrr, double MeanRank, double HitsAt1, double HitsAt3, double HitsAt10, int Triples, long Queries)
{
    /// <summary>Metrics of an empty evaluation (all zero).</summary>
    public static RankingMetrics Empty { get; } = new(0, 0, 0, 0, 0, 0, 0);
}

/// <summary>Which queries each triple gives.</summary>
public enum RankingSides
{
    /// <summary>Both the tail query <c>(h, r, ?)</c> and the head query <c>(?, r, t)</c> (the standard protocol).</summary>
    Both = 0,

    /// <summary>Only <c>(h, r, ?)</c>.</summary>
    TailOnly = 1,

    /// <summary>Only <c>(?, r, t)</c>.</summary>
    HeadOnly = 2,
}

/// <summary>Settings of <see cref="LinkPrediction.Evaluate"/>.</summary>
public sealed class EvaluationOptions
{
    /// <summary>Queries scored at once; memory is <c>SliceSize × NumEntities</c> floats (default 256).</summary>
    public int SliceSize { get; init; } = 256;

    /// <summary>Which sides to rank (default both).</summary>
    public RankingSides Sides { get; init; } = RankingSides.Both;

    /// <summary>Called after each slice with (queries done, queries in all).</summary>
    public Action<long, long>? Progress { get; init; }
}
