using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbedSharp.Search;

/// <summary>
/// The pre-filter's candidate collection for one query: the best <see cref="Keep"/> rows by integer score
/// (higher first, equal scores by the lower row id), gathered without a heap. A running threshold (the
/// <see cref="Keep"/>-th best score so far) is compared against a whole vector of scores at once; only rows
/// at or above it are appended to a buffer, and when the buffer fills, a selection keeps the best
/// <see cref="Keep"/> and raises the threshold. Nearly every row is rejected by one compare per 8 or 16 rows.
/// </summary>
/// <remarks>
/// <para>A pair is stored as one <c>long</c>, <c>score · 2³² + (int.MaxValue − id)</c>, so "better" is simply
/// "larger" and the selection works on plain numbers. Ids must be in 0…int.MaxValue.</para>
/// <para>The estimate the pre-filter's bound speaks of is <c>Offset + T·score</c> in float with <c>T &gt; 0</c>,
/// which never decreases as the integer score grows; so the rows left out have estimates at or below every
/// row kept, which is all the bound needs.</para>
/// </remarks>
internal sealed class Int8Candidates
{
    private readonly long[] _buffer;
    private int _count;
    private int _threshold = int.MinValue;

    /// <summary>A collector of the best <paramref name="keep"/> (≥ 1) rows.</summary>
    public Int8Candidates(int keep)
    {
        Keep = keep;
        _buffer = new long[Math.Max(2 * keep, keep + 64)];
    }

    /// <summary>Rows kept at most.</summary>
    public int Keep { get; }

    /// <summary>The running threshold: rows scoring below it can no longer enter (<c>int.MinValue</c> until <see cref="Keep"/> rows were seen).</summary>
    public int Threshold => _threshold;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Pack(int score, int id) => ((long)score << 32) | (uint)(int.MaxValue - id);

    private static int ScoreOf(long key) => (int)(key >> 32);

    private static int IdOf(long key) => int.MaxValue - (int)(uint)key;

    /// <summary>
    /// Offers the rows <c>r0 … r0 + n − 1</c> with integer scores <paramref name="scores"/>; a row whose bit is set in
    /// <paramref name="removed"/> (when given) is skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Add(int* scores, int n, int r0, ulong[]? removed)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= n - 16; j += 16)
            {
                ulong mask = Vector512.GreaterThanOrEqual(Vector512.Load(scores + j), Vector512.Create(_threshold)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int t = j + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    Offer(scores[t], r0 + t, removed);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= n - 8; j += 8)
            {
                uint mask = Vector256.GreaterThanOrEqual(Vector256.Load(scores + j), Vector256.Create(_threshold)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int t = j + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    Offer(scores[t], r0 + t, removed);
                }
            }
        }
        for (; j < n; j++)
            Offer(scores[j], r0 + j, removed);
        // The first threshold as soon as Keep rows were seen, rather than when the buffer first fills.
        if (_threshold == int.MinValue && _count >= Keep)
            Cut();
    }

    /// <summary>One row: appended when it is at or above the threshold (and not removed); a full buffer is cut back to <see cref="Keep"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Offer(int score, int id, ulong[]? removed)
    {
        if (score < _threshold)
            return;
        if (removed is not null && (removed[id >> 6] & (1UL << id)) != 0)
            return;
        _buffer[_count++] = Pack(score, id);
        if (_count == _buffer.Length)
            Cut();
    }

    /// <summary>Adds every row kept by <paramref name="other"/> (another part of the same scan).</summary>
    public void Merge(Int8Candidates other)
    {
        for (int i = 0; i < other._count; i++)
        {
            long key = other._buffer[i];
            if (ScoreOf(key) < _threshold)
                continue;
            _buffer[_count++] = key;
            if (_count == _buffer.Length)
                Cut();
        }
    }

    /// <summary>The kept rows, best first, each with its estimate <c>offset + t · score</c> (evaluated in float, as the bound assumes).</summary>
    public Neighbor[] ToSorted(float offset, float t)
    {
        var kept = SortedPairs();
        var result = new Neighbor[kept.Length];
        for (int i = 0; i < kept.Length; i++)
            result[i] = new Neighbor(kept[i].Id, offset + t * kept[i].Score);
        return result;
    }

    /// <summary>The kept (score, row) pairs, best first.</summary>
    internal (int Score, int Id)[] SortedPairs()
    {
        Cut();
        var kept = _buffer.AsSpan(0, _count);
        kept.Sort();
        var result = new (int Score, int Id)[_count];
        for (int i = 0; i < _count; i++)
        {
            long key = kept[_count - 1 - i];
            result[i] = (ScoreOf(key), IdOf(key));
        }
        return result;
    }

    /// <summary>Keeps the best <see cref="Keep"/> of the buffer and raises the threshold to the worst of them.</summary>
    private void Cut()
    {
        if (_count < Keep)
            return;
        if (_count > Keep)
        {
            SelectLargest(_buffer.AsSpan(0, _count), Keep);
            _count = Keep;
        }
        long worst = long.MaxValue;
        for (int i = 0; i < _count; i++)
            worst = Math.Min(worst, _buffer[i]);
        _threshold = ScoreOf(worst);
    }

    /// <summary>
    /// Moves the <paramref name="keep"/> largest values of <paramref name="values"/> to its front (in no order):
    /// quickselect with a median-of-three pivot, falling back to a sort when it stops shrinking fast enough.
    /// </summary>
    internal static void SelectLargest(Span<long> values, int keep)
    {
        if (keep <= 0 || keep >= values.Length)
            return;
        int lo = 0, hi = values.Length - 1, budget = 2 * (BitOperations.Log2((uint)values.Length) + 1);
        while (hi > lo)
        {
            if (budget-- == 0)
            {
                values[lo..(hi + 1)].Sort(static (a, b) => b.CompareTo(a));
                return;
            }
            int mid = lo + ((hi - lo) >> 1);
            long a = values[lo], b = values[mid], c = values[hi];
            long pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            // Three-way partition, larger first: [lo, lt) > pivot, [lt, gt] == pivot, (gt, hi] < pivot.
            int lt = lo, gt = hi, i = lo;
            while (i <= gt)
            {
                long v = values[i];
                if (v > pivot)
                {
                    (values[lt], values[i]) = (values[i], values[lt]);
                    lt++;
                    i++;
                }
                else if (v < pivot)
                {
                    (values[gt], values[i]) = (values[i], values[gt]);
                    gt--;
                }
                else
                {
                    i++;
                }
            }
            if (keep < lt)
                hi = lt - 1;
            else if (keep > gt + 1)
                lo = gt + 1;
            else
                return;
        }
    }

    /// <summary>The reference: the best <paramref name="keep"/> of (score, row) pairs by plain sorting, best first.</summary>
    internal static (int Score, int Id)[] Reference(ReadOnlySpan<int> scores, int r0, int keep, ulong[]? removed)
    {
        var all = new List<(int Score, int Id)>();
        for (int j = 0; j < scores.Length; j++)
        {
            int id = r0 + j;
            if (removed is null || (removed[id >> 6] & (1UL << id)) == 0)
                all.Add((scores[j], id));
        }
        all.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return [.. all.Take(keep)];
    }
}
