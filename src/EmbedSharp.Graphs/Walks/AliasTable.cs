using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Graphs.Walks;

/// <summary>
/// Walker's alias method: draws index i with probability wᵢ / Σw in O(1) after O(n) set-up (Vose's
/// construction, stable under rounding).
/// </summary>
public sealed class AliasTable
{
    private readonly float[] _probability;
    private readonly int[] _alias;

    /// <summary>A table over non-negative finite weights with a positive sum.</summary>
    /// <exception cref="ArgumentException">A weight is negative or not finite, or all are zero, or there are none.</exception>
    public AliasTable(ReadOnlySpan<float> weights)
    {
        const string op = "alias_table";
        if (weights.IsEmpty)
            ThrowHelper.Argument(op, nameof(weights), "there are no weights; give at least one");
        double sum = 0;
        foreach (float w in weights)
        {
            if (!(w >= 0) || !float.IsFinite(w))
                ThrowHelper.Argument(op, nameof(weights), $"weight {w} is negative or not finite; weights must be finite and ≥ 0");
            sum += w;
        }
        if (sum <= 0)
            ThrowHelper.Argument(op, nameof(weights), "every weight is 0; at least one must be > 0");
        int n = weights.Length;
        _probability = new float[n];
        _alias = new int[n];
        var scaled = new double[n];
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (int i = 0; i < n; i++)
        {
            scaled[i] = weights[i] * n / sum;
            (scaled[i] < 1 ? small : large).Push(i);
        }
        while (small.Count > 0 && large.Count > 0)
        {
            int s = small.Pop(), l = large.Pop();
            _probability[s] = (float)scaled[s];
            _alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1;
            (scaled[l] < 1 ? small : large).Push(l);
        }
        while (large.Count > 0)
        {
            int l = large.Pop();
            _probability[l] = 1;
            _alias[l] = l;
        }
        while (small.Count > 0)
        {
            int s = small.Pop();
            _probability[s] = 1;
            _alias[s] = s;
        }
    }

    /// <summary>Number of outcomes.</summary>
    public int Count => _probability.Length;

    /// <summary>One draw.</summary>
    public int Sample(SeededRandom random)
    {
        int i = random.NextInt(_probability.Length);
        return random.NextSingle() < _probability[i] ? i : _alias[i];
    }
}
