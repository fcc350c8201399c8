using System.Runtime.InteropServices;
using EmbedSharp.Tables;

namespace EmbedSharp.Stores;

/// <summary>
/// Optimizer state for the rows (or slots) of a store, <see cref="Width"/> floats a row, in native segments of
/// about 2 MiB allocated on first use: 2 MiB-aligned and advised to use huge pages, as core's
/// <c>RowStateStore</c> and the tables. Each page of 64 rows is filled with the rule's initial row
/// (<see cref="Template"/>) the first time one of its rows is touched. Segments and pages are claimed with
/// compare-exchange, so shards that share a page may touch it concurrently (one initialises, the other waits).
/// </summary>
/// <remarks>
/// An update reads the state of random rows of a large table; from the 4 KiB pages of managed arrays nearly every
/// such row also missed the TLB, which cost the store about a third of its update throughput next to core's fused
/// step (whose state already lived on 2 MiB pages). Segments are freed by <see cref="Dispose"/> or the finalizer;
/// a store that swaps in restored state leaves the old one to the finalizer.
/// </remarks>
internal sealed unsafe class StateRows : IDisposable
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;
    private const int Empty = 0, Initializing = 1, Ready = 2;
    private const int SegmentBytes = 2 * 1024 * 1024;
    private readonly int _segmentShift;
    private readonly nint[] _segments;
    private readonly int[] _pages;
    private int _disposed;

    public StateRows(long rows, float[] template)
    {
        Template = template;
        Width = template.Length;
        // Rows per segment: a power of two ≥ one page, about 2 MiB of state.
        int perSegment = Math.Max(PageRows, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, SegmentBytes / Math.Max(1, Width * sizeof(float)))));
        _segmentShift = System.Numerics.BitOperations.Log2((uint)perSegment);
        _segments = new nint[Width == 0 ? 0 : (int)((rows + perSegment - 1) >> _segmentShift)];
        _pages = new int[Width == 0 ? 0 : (int)((rows + PageRows - 1) >> PageShift)];
    }

    ~StateRows() => Free();

    /// <summary>Floats of state per row.</summary>
    public int Width { get; }

    /// <summary>The initial state of a row.</summary>
    public float[] Template { get; }

    /// <summary>Bytes held by allocated segments.</summary>
    public long AllocatedBytes
    {
        get
        {
            long n = 0;
            for (int s = 0; s < _segments.Length; s++)
                if (Volatile.Read(ref _segments[s]) != 0)
                    n += (long)SegmentByteCount;
            return n;
        }
    }

    private nuint SegmentByteCount => ((nuint)1 << _segmentShift) * (nuint)Width * sizeof(float);

    /// <summary>The state of <paramref name="row"/>, initialising its page on first use.</summary>
    public Span<float> Row(int row)
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        if (Volatile.Read(ref _pages[p]) != Ready)
            Initialize(p);
        return new Span<float>(RowPointer(row), Width);
    }

    /// <summary>Starts loading the state of <paramref name="row"/> if its page exists (a hint: never allocates, never faults).</summary>
    public void Prefetch(int row)
    {
        if (Width == 0 || !System.Runtime.Intrinsics.X86.Sse.IsSupported || Volatile.Read(ref _pages[row >> PageShift]) != Ready)
            return;
        Optimizers.RowPrefetch.Lines((byte*)RowPointer(row), (nint)Width * sizeof(float));
    }

    /// <summary>Copies the state of <paramref name="row"/> (the template if its page was never touched) into <paramref name="destination"/>.</summary>
    public void CopyRow(int row, Span<float> destination)
    {
        if (Width == 0)
            return;
        if (Volatile.Read(ref _pages[row >> PageShift]) != Ready)
            Template.CopyTo(destination);
        else
            new ReadOnlySpan<float>(RowPointer(row), Width).CopyTo(destination);
    }

    /// <summary>Returns <paramref name="row"/> to the initial state.</summary>
    public void Reset(int row)
    {
        if (Width != 0 && Volatile.Read(ref _pages[row >> PageShift]) == Ready)
            Template.CopyTo(new Span<float>(RowPointer(row), Width));
    }

    /// <summary>Frees the segments; later use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>The first float of <paramref name="row"/>'s state; its page must be ready.</summary>
    private float* RowPointer(int row)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        nint segment = Volatile.Read(ref _segments[row >> _segmentShift]);
        return (float*)segment + (nint)(row & ((1 << _segmentShift) - 1)) * Width;
    }

    private void Initialize(int page)
    {
        if (Interlocked.CompareExchange(ref _pages[page], Initializing, Empty) == Empty)
        {
            try
            {
                EnsureSegment((page << PageShift) >> _segmentShift);
                float* first = RowPointer(page << PageShift);
                for (int r = 0; r < PageRows; r++)
                    Template.CopyTo(new Span<float>(first + (nint)r * Width, Width));
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
            Initialize(page); // the initialising thread failed (out of memory): try again here
    }

    private void EnsureSegment(int segment) => NativeAllocation.EnsureSegment(ref _segments[segment], SegmentByteCount);

    private void Free()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        for (int s = 0; s < _segments.Length; s++)
        {
            nint p = Interlocked.Exchange(ref _segments[s], 0);
            if (p == 0)
                continue;
            NativeMemory.AlignedFree((void*)p);
            GC.RemoveMemoryPressure((long)SegmentByteCount);
        }
    }
}
