using EmbedSharp.Diagnostics;

namespace EmbedSharp.Training.Losses;

/// <summary>
/// The binary Huffman tree over word counts that hierarchical softmax walks (Morin &amp; Bengio 2005,
/// word2vec's <c>CreateBinaryTree</c>): frequent words get short codes, so the expected path length is
/// minimal. Word <c>w</c>'s path is the inner nodes <see cref="GetPoints"/> (ids <c>0 … V−2</c>, rows of
/// the output matrix) and the branch bits <see cref="GetCode"/> taken at each.
/// </summary>
/// <remarks>
/// <para>P(w | h) = Π_k σ((1 − 2·code_k) · h·u_{point_k}), the product along the path from the root.</para>
/// <para>Construction: the two lightest nodes are merged repeatedly, the first of the two taking branch
/// bit 0 and the second bit 1; on equal weights the inner node is taken before the leaf. This is the
/// two-pointer walk of word2vec.c and fastText over leaves sorted by decreasing count (the counts are
/// sorted here first, stably, so any order is accepted); inner node <c>k</c> is the <c>k</c>-th one created.</para>
/// </remarks>
public sealed class HuffmanTree
{
    private readonly byte[] _codes;
    private readonly int[] _points;
    private readonly int[] _offsets;

    /// <summary>Builds the tree. One word gets an empty path (its probability is 1).</summary>
    /// <exception cref="ArgumentException"><paramref name="counts"/> is empty or has a negative count.</exception>
    public HuffmanTree(ReadOnlySpan<long> counts)
    {
        const string op = "huffman.create";
        int v = counts.Length;
        if (v == 0)
            ThrowHelper.Argument(op, nameof(counts), "counts is empty; a Huffman tree needs at least one word");
        for (int i = 0; i < v; i++)
            if (counts[i] < 0)
                ThrowHelper.Argument(op, nameof(counts), $"counts[{i}] = {counts[i]} is negative; counts must be ≥ 0");
        NumWords = v;
        // Leaves in decreasing count order; inner nodes are appended as they are created (nondecreasing weight).
        int[] order = new int[v];
        for (int i = 0; i < v; i++)
            order[i] = i;
        long[] keys = counts.ToArray();
        Array.Sort(order, (a, b) => keys[b] != keys[a] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        int nodes = 2 * v - 1;
        long[] weight = new long[nodes];
        int[] parent = new int[nodes];
        byte[] bit = new byte[nodes];
        for (int i = 0; i < v; i++)
            weight[i] = counts[order[i]];
        // Leaves are scanned from the lightest (index v−1) down, inner nodes from v upward.
        int leaf = v - 1, inner = v;
        for (int n = v; n < nodes; n++)
        {
            int a = Lightest(ref leaf, ref inner, n, weight);
            int b = Lightest(ref leaf, ref inner, n, weight);
            weight[n] = weight[a] + weight[b];
            parent[a] = n;
            parent[b] = n;
            bit[b] = 1;
        }
        // Walk each leaf to the root; store the path root-first.
        _offsets = new int[v + 1];
        var lengths = new int[v];
        for (int i = 0; i < v; i++)
        {
            int depth = 0;
            for (int n = i; n != nodes - 1; n = parent[n])
                depth++;
            lengths[order[i]] = depth;
        }
        for (int w = 0; w < v; w++)
            _offsets[w + 1] = _offsets[w] + lengths[w];
        _codes = new byte[_offsets[v]];
        _points = new int[_offsets[v]];
        for (int i = 0; i < v; i++)
        {
            int w = order[i];
            int depth = lengths[w];
            int k = depth - 1;
            for (int n = i; n != nodes - 1; n = parent[n], k--)
            {
                _codes[_offsets[w] + k] = bit[n];
                _points[_offsets[w] + k] = parent[n] - v; // inner node id 0 … V−2
            }
        }
    }

    private static int Lightest(ref int leaf, ref int inner, int created, long[] weight)
    {
        if (leaf >= 0 && (inner >= created || weight[leaf] < weight[inner]))
            return leaf--;
        return inner++;
    }

    /// <summary>Number of words (leaves).</summary>
    public int NumWords { get; }

    /// <summary>Number of inner nodes, <c>V − 1</c> (rows of the output matrix that hierarchical softmax uses).</summary>
    public int NumInnerNodes => NumWords - 1;

    /// <summary>The branch bits from the root to word <paramref name="word"/>.</summary>
    public ReadOnlySpan<byte> GetCode(int word)
    {
        Guard.InRange("huffman.code", word, 0, NumWords);
        return _codes.AsSpan(_offsets[word], _offsets[word + 1] - _offsets[word]);
    }

    /// <summary>The inner nodes (output rows) on the path from the root to word <paramref name="word"/>.</summary>
    public ReadOnlySpan<int> GetPoints(int word)
    {
        Guard.InRange("huffman.points", word, 0, NumWords);
        return _points.AsSpan(_offsets[word], _offsets[word + 1] - _offsets[word]);
    }

    internal byte[] Codes => _codes;
    internal int[] Points => _points;
    internal int[] Offsets => _offsets;
}
