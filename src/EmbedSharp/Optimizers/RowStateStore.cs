using System.Runtime.InteropServices;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>
/// Optimizer state for a table, <see cref="Width"/> floats per row, in native segments of at most
/// 2 MiB allocated on first use and initialised lazily in pages of <see cref="PageRows"/> rows: state
/// for rows never touched is never written, and a segment nobody touched is never allocated.
/// </summary>
/// <remarks>
/// <para>Segments are 2 MiB-aligned and, on Linux, advised to use 2 MiB pages like the tables. A sparse
/// step reads the state of random rows; from 4 KiB pages each such row also missed the TLB, and visiting
/// rows in batch order (so the gradient streams) lost more than it gained (LazyAdam, 1M × 128, one core:
/// 5.5 M rows/s from 64-row managed pages, about 8 from 2 MiB pages).</para>
/// <para>A segment is allocated, and a page initialised, by the first thread that needs it (compare-and-swap);
/// Hogwild workers needing the same page meanwhile wait for it. Segments are freed by
/// <see cref="Dispose"/> or the finalizer.</para>
/// </remarks>
internal sealed unsafe class RowStateStore : IDisposable
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;

    private const int Empty = 0, Initializing = 1, Ready = 2;
    private const int SegmentBytes = 2 * 1024 * 1024;

    private readonly nint[] _segments;
    private readonly int[] _pages;
    private readonly int _segmentShift;
    private int _disposed;

    public RowStateStore(int numEmbeddings, int width)
    {
        NumEmbeddings = numEmbeddings;
        Width = width;
        _pages = new int[width == 0 ? 0 : (numEmbeddings + PageRows - 1) >> PageShift];
        // Rows per segment: the largest power of two of whole pages that fits 2 MiB (one page when a page alone is larger).
        long rowBytes = Math.Max(1L, (long)width * sizeof(float));
        int shift = PageShift;
        while (shift < 30 && (rowBytes << (shift + 1)) <= SegmentBytes)
            shift++;
        _segmentShift = shift;
        _segments = new nint[_pages.Length == 0 ? 0 : (int)(((long)_pages.Length * PageRows + (1L << shift) - 1) >> shift)];
    }

    ~RowStateStore() => Free();

    public int NumEmbeddings { get; }

    /// <summary>Floats of state per row.</summary>
    public int Width { get; }

    public int PageCount => _pages.Length;

    public bool IsAllocated(int page) => Volatile.Read(ref _pages[page]) == Ready;

    /// <summary>Number of pages holding state.</summary>
    public int AllocatedPages
    {
        get
        {
            int n = 0;
            for (int p = 0; p < _pages.Length; p++)
                if (IsAllocated(p))
                    n++;
            return n;
        }
    }

    /// <summary>The rows of an allocated <paramref name="page"/>.</summary>
    public Span<float> PageRowsOf(int page) => new(RowPointer(page << PageShift), PageRows * Width);

    /// <summary>The first float of <paramref name="row"/>'s state; its page must be allocated.</summary>
    public float* RowPointer(int row)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        nint segment = Volatile.Read(ref _segments[row >> _segmentShift]);
        return (float*)segment + (nint)(row & ((1 << _segmentShift) - 1)) * Width;
    }

    /// <summary>The state of <paramref name="row"/>, initialising its page (and allocating its segment) on first use.</summary>
    public Span<float> Row<TRule>(int row, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        if (Volatile.Read(ref _pages[p]) != Ready)
            Initialize(p, rule);
        return new Span<float>(RowPointer(row), Width);
    }

    private void Initialize<TRule>(int page, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (Interlocked.CompareExchange(ref _pages[page], Initializing, Empty) == Empty)
        {
            try
            {
                EnsureSegment((page << PageShift) >> _segmentShift);
                Span<float> rows = PageRowsOf(page);
                for (int r = 0; r < PageRows; r++)
                    rule.InitializeState(rows.Slice(r * Width, Width));
            }
            catch
            {
                Volatile.Write(ref _pages[page], Empty);
                throw;
            }
            Volatile.Write(ref _pages[page], Ready);
            return;
        }
        var spin = new SpinWait();
        int state;
        while ((state = Volatile.Read(ref _pages[page])) == Initializing)
            spin.SpinOnce();
        if (state != Ready)
            Initialize(page, rule); // the initialising thread failed (out of memory): try again here
    }

    /// <summary>Bytes of one segment: its rows' state.</summary>
    private nuint SegmentByteCount => ((nuint)1 << _segmentShift) * (nuint)Width * sizeof(float);

    private void EnsureSegment(int segment) => NativeAllocation.EnsureSegment(ref _segments[segment], SegmentByteCount);

    /// <summary>Replaces the state by <paramref name="pages"/> (null: no state), after a load was fully validated.</summary>
    public void Replace(float[]?[] pages)
    {
        System.Diagnostics.Debug.Assert(pages.Length == _pages.Length);
        for (int p = 0; p < pages.Length; p++)
        {
            if (pages[p] is float[] values)
            {
                EnsureSegment((p << PageShift) >> _segmentShift);
                values.CopyTo(PageRowsOf(p));
                Volatile.Write(ref _pages[p], Ready);
            }
            else
            {
                Volatile.Write(ref _pages[p], Empty);
            }
        }
    }

    /// <summary>Copies the state of rows <c>[first, first + count)</c> into <paramref name="destination"/>, the initial state for rows of pages never allocated.</summary>
    public void CopyRowsTo<TRule>(int first, int count, Span<float> destination, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        for (int r = first; r < first + count; r++)
        {
            Span<float> row = destination.Slice((r - first) * Width, Width);
            if (IsAllocated(r >> PageShift))
                new ReadOnlySpan<float>(RowPointer(r), Width).CopyTo(row);
            else
                rule.InitializeState(row);
        }
    }

    /// <summary>
    /// Writes rows <c>[first, first + count)</c> from <paramref name="source"/>; rows whose
    /// <paramref name="present"/> is false (null: all present) are reset to the initial state if their page
    /// holds state and left without state otherwise.
    /// </summary>
    public void WriteRows<TRule>(int first, int count, ReadOnlySpan<float> source, Func<int, bool>? present, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        for (int r = first; r < first + count; r++)
        {
            ReadOnlySpan<float> values = source.Slice((r - first) * Width, Width);
            if (present is null || present(r))
                values.CopyTo(Row(r, rule));
            else if (IsAllocated(r >> PageShift))
                rule.InitializeState(new Span<float>(RowPointer(r), Width));
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        nuint bytes = SegmentByteCount;
        for (int s = 0; s < _segments.Length; s++)
        {
            nint segment = Interlocked.Exchange(ref _segments[s], 0);
            if (segment != 0)
            {
                NativeMemory.AlignedFree((void*)segment);
                GC.RemoveMemoryPressure((long)bytes);
            }
        }
    }
}
