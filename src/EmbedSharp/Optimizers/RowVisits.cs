using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmbedSharp.Sparse;

namespace EmbedSharp.Optimizers;

/// <summary>
/// One entry kind of a step's visit plan, as <see cref="FusedSparseBackward{TRule}"/>'s row loop reads
/// it: entry k names a table row and where its gradient comes from. Implemented by structs, so the
/// loop is compiled once per source with no dispatch: <see cref="MaterializedVisit"/> (a coalesced
/// <see cref="SparseGradient"/>), <see cref="PageVisit"/> (every row of one state page, for
/// <see cref="UntouchedRows.Dense"/>), <see cref="SingleVisit"/> (rows fed by one position, in batch
/// order) and <see cref="SegmentVisit"/> (rows fed by several positions, ascending).
/// </summary>
internal interface IRowVisit
{
    /// <summary>Whether <see cref="Skip"/> can be true (the loop tests it only then).</summary>
    static abstract bool MaySkip { get; }

    /// <summary>Whether the loop prefetches the rows of entries ahead (random rows; a page walk is sequential).</summary>
    static abstract bool Prefetches { get; }

    /// <summary>True when every entry's gradient is one upstream row at scale 1 (<see cref="Units"/>).</summary>
    bool UnitSingles { get; }

    /// <summary>True when a gradient is a sum of several finite rows, which can overflow (the guard checks it).</summary>
    bool MayOverflow { get; }

    /// <summary>The table row of entry <paramref name="k"/>.</summary>
    int Row(int k);

    /// <summary>True when entry <paramref name="k"/> is passed over (called before <see cref="Gradient"/>, in order).</summary>
    bool Skip(int k);

    /// <summary>Starts loading the upstream gradient of entry <paramref name="k"/>.</summary>
    void PrefetchGradient(int k);

    /// <summary>
    /// The gradient of entry <paramref name="k"/>: a row of the source, or its sum written into
    /// <paramref name="scratch"/>; a single position at scale 1 comes back as the upstream row itself
    /// when <paramref name="unsummed"/> (the rule accepts it for <c>0 + g</c>).
    /// </summary>
    ReadOnlySpan<float> Gradient(int k, Span<float> scratch, bool unsummed);

    /// <summary>The entries as plain arrays for the plain loop, when <see cref="UnitSingles"/> (else empty).</summary>
    UnitRows Units { get; }
}

/// <summary>
/// Entries whose gradient is one upstream row at scale 1, as the plain loop reads them: entry k's table row is
/// <c>Rows[k]</c> and its gradient the upstream row <c>Source.Source(Positions[k])</c>. The loop takes raw pointers
/// to these once, instead of asking the visit per entry (which reloaded the spans and bounds-checked them per row).
/// </summary>
internal readonly ref struct UnitRows(ReadOnlySpan<int> rows, ReadOnlySpan<int> positions, GradientSource source)
{
    /// <summary>The table row of each entry.</summary>
    public ReadOnlySpan<int> Rows { get; } = rows;

    /// <summary>The batch position of each entry (as many as <see cref="Rows"/>).</summary>
    public ReadOnlySpan<int> Positions { get; } = positions;

    /// <summary>The upstream gradient and its position → row map.</summary>
    public GradientSource Source { get; } = source;
}

/// <summary>The rows of a coalesced <see cref="SparseGradient"/>, each scaled by its clipping factor.</summary>
internal readonly struct MaterializedVisit(SparseGradient gradient, float[]? factors) : IRowVisit
{
    public static bool MaySkip => false;

    public static bool Prefetches => true;

    public bool UnitSingles => false;

    public bool MayOverflow => false;

    public int Row(int k) => gradient.Rows[k];

    public bool Skip(int k) => false;

    public void PrefetchGradient(int k)
    {
    }

    public ReadOnlySpan<float> Gradient(int k, Span<float> scratch, bool unsummed)
    {
        ReadOnlySpan<float> g = gradient.GetRow(k);
        if (factors is null || factors[k] == 1f)
            return g;
        System.Numerics.Tensors.TensorPrimitives.Multiply(g, factors[k], scratch);
        return scratch[..g.Length];
    }

    public UnitRows Units => default;
}

/// <summary>
/// Every row of one state page, in order: a row of the gradient gets its (scaled) row, any other row a
/// zero gradient, or is passed over when the rule leaves it unchanged (<see cref="UntouchedRows.Dense"/>).
/// </summary>
internal struct PageVisit(SparseGradient gradient, float[]? factors, int first, bool visitAll, float[] zeros) : IRowVisit
{
    private int _next = NextListed(gradient.Rows, first);

    private static int NextListed(ReadOnlySpan<int> rows, int first)
    {
        int k = rows.BinarySearch(first);
        return k < 0 ? ~k : k;
    }

    public static bool MaySkip => true;

    public static bool Prefetches => false;

    public readonly bool UnitSingles => false;

    public readonly bool MayOverflow => false;

    public readonly int Row(int k) => first + k;

    private readonly bool Listed(int k) => _next < gradient.Count && gradient.Rows[_next] == first + k;

    public readonly bool Skip(int k) => !visitAll && !Listed(k);

    public readonly void PrefetchGradient(int k)
    {
    }

    public ReadOnlySpan<float> Gradient(int k, Span<float> scratch, bool unsummed)
    {
        if (!Listed(k))
            return zeros;
        ReadOnlySpan<float> g = new MaterializedVisit(gradient, factors).Gradient(_next, scratch, unsummed);
        _next++;
        return g;
    }

    public readonly UnitRows Units => default;
}

/// <summary>Rows fed by one position each, in batch order (their upstream rows stream front to back).</summary>
internal readonly ref struct SingleVisit(GradientSource source, ReadOnlySpan<int> rows, ReadOnlySpan<int> positions) : IRowVisit
{
    private readonly GradientSource _source = source;
    private readonly ReadOnlySpan<int> _rows = rows, _positions = positions;

    public static bool MaySkip => false;

    public static bool Prefetches => true;

    public bool UnitSingles => _source.PositionScale.IsEmpty && _source.Scale == 1f;

    public bool MayOverflow => !UnitSingles;

    public int Row(int k) => _rows[k];

    public bool Skip(int k) => false;

    public void PrefetchGradient(int k) => RowPrefetch.Gradient(_source, _source.Source(_positions[k]));

    public ReadOnlySpan<float> Gradient(int k, Span<float> scratch, bool unsummed)
    {
        if (!UnitSingles)
        {
            _source.Sum(_positions.Slice(k, 1), scratch);
            return scratch[.._source.Dims];
        }
        ReadOnlySpan<float> g = _source.GradRows.Slice(_source.Source(_positions[k]) * _source.Dims, _source.Dims);
        if (unsummed)
            return g;
        AddZero(g, scratch);
        return scratch[..g.Length];
    }

    public UnitRows Units => UnitSingles ? new UnitRows(_rows, _positions, _source) : default;

    /// <summary><c>destination = 0 + source</c>: a single position's sum at scale 1 (what <see cref="GradientSource.Sum(ReadOnlySpan{int}, Span{float})"/> computes), inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddZero(ReadOnlySpan<float> source, Span<float> destination)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float s = ref MemoryMarshal.GetReference(source);
            ref float d = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - 8; i += 8)
                (Vector256.LoadUnsafe(ref s, (nuint)i) + Vector256<float>.Zero).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < source.Length; i++)
            destination[i] = source[i] + 0f;
    }
}

/// <summary>Rows fed by several positions, ascending: each row's positions summed in batch order.</summary>
internal readonly ref struct SegmentVisit(GradientSource source, RowGroups groups) : IRowVisit
{
    private readonly GradientSource _source = source;
    private readonly ReadOnlySpan<int> _rows = groups.Rows, _starts = groups.Starts, _positions = groups.Positions;

    public static bool MaySkip => false;

    public static bool Prefetches => true;

    public bool UnitSingles => false;

    public bool MayOverflow => true;

    public int Row(int k) => _rows[k];

    public bool Skip(int k) => false;

    public void PrefetchGradient(int k) => RowPrefetch.Gradient(_source, _source.Source(_positions[_starts[k]]));

    public ReadOnlySpan<float> Gradient(int k, Span<float> scratch, bool unsummed)
    {
        _source.Sum(_positions[_starts[k].._starts[k + 1]], scratch);
        return scratch[.._source.Dims];
    }

    public UnitRows Units => default;
}

/// <summary>Prefetches of the first lines of a row (random rows of a large table miss every cache).</summary>
internal static unsafe class RowPrefetch
{
    /// <summary>Bytes of a row prefetched at most: 32 lines.</summary>
    public const int MaxBytes = 2048;

    /// <summary>Starts loading the first lines (up to <see cref="MaxBytes"/>) of the <paramref name="bytes"/> at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines(byte* p, nint bytes) => Numerics.Kernels.PrefetchRow(p, Math.Min(bytes, MaxBytes));

    /// <summary>Starts loading upstream gradient row <paramref name="sourceRow"/>.</summary>
    public static void Gradient(in GradientSource source, int sourceRow)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
            return;
        int dims = source.Dims;
        fixed (float* g = source.GradRows)
            Lines((byte*)(g + (nint)sourceRow * dims), (nint)dims * sizeof(float));
    }
}

/// <summary>The non-finite guard's forms, as type arguments of the row loop.</summary>
internal interface IRowGuard
{
    /// <summary>Whether the guard is on (summed gradients are checked).</summary>
    static abstract bool Checks { get; }
}

/// <summary>No guard: rows are updated as they come.</summary>
internal readonly struct NoGuard : IRowGuard
{
    public static bool Checks => false;
}

/// <summary>
/// The guard's cheap form, for a stateless rule on a float32 table whose gradient is within the rule's
/// <see cref="ISparseUpdateRule.SafeGradientBound"/>: finite weights cannot leave the update non-finite,
/// so only weights already non-finite are refused, before anything changes.
/// </summary>
internal readonly struct PrecheckGuard : IRowGuard
{
    public static bool Checks => true;
}

/// <summary>The guard's full form: each row and its state are backed up, updated and checked, and restored when not finite.</summary>
internal readonly struct BackupGuard : IRowGuard
{
    public static bool Checks => true;
}
