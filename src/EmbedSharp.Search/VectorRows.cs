using EmbedSharp.Diagnostics;

namespace EmbedSharp.Search;

/// <summary>The check every index's batch add makes before it changes anything.</summary>
internal static class VectorRows
{
    /// <summary>
    /// The number of <paramref name="dims"/>-long rows in <paramref name="vectors"/>; throws if the length is
    /// not a whole number of rows or a value is NaN or infinite.
    /// </summary>
    public static int Count(string op, ReadOnlySpan<float> vectors, int dims)
    {
        if (vectors.Length % dims != 0)
            ThrowHelper.Argument(op, nameof(vectors), $"{vectors.Length} values is not a whole number of {dims}-long vectors");
        int bad = Distances.FirstNonFinite(vectors);
        if (bad >= 0)
            ThrowHelper.Argument(op, nameof(vectors), $"vectors[{bad}] (vector {bad / dims}) is {vectors[bad]}; vectors must be finite");
        return vectors.Length / dims;
    }
}
