namespace EmbedSharp.Stores;

/// <summary>
/// Optimizer state for the rows (or slots) of a store, <see cref="Width"/> floats a row. Memory comes in
/// segments of about 2 MiB (large-object heap: never copied by the collector) allocated on first use; each
/// page of 64 rows is filled with the rule's initial row (<see cref="Template"/>) the first time one of its rows
/// is touched. Segments and pages are claimed with compare-exchange, so shards that share a page may touch it
/// concurrently (one initialises, the other waits), as core's <c>RowStateStore</c>.
/// </summary>
internal sealed class StateRows
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;
    private const int Empty = 0, Initializing = 1, Ready = 2;
    private readonly int _segmentShift;
    private float[]?[] _segments;
    private int[] _pages;

    public StateRows(long rows, float[] template)
    {
        Template = template;
        Width = template.Length;
        // Rows per segment: a power of two ≥ one page, about 2 MiB of state.
        int perSegment = Math.Max(PageRows, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (2 << 20) / Math.Max(1, Width * sizeof(float)))));
        _segmentShift = System.Numerics.BitOperations.Log2((uint)perSegment);
        _segments = new float[]?[Width == 0 ? 0 : (int)((rows + perSegment - 1) >> _segmentShift)];
        _pages = new int[Width == 0 ? 0 : (int)((rows + PageRows - 1) >> PageShift)];
    }

    /// <summary>Floats of state per row.</summary>
    public int Width { get; }

    /// <summary>The initial state of a row.</summary>
    public float[] Template { get; }

    /// <summary>Bytes held by allocated segments.</summary>
    public long AllocatedBytes => _segments.Sum(s => s is null ? 0L : s.Length * (long)sizeof(float));

    /// <summary>The state of <paramref name="row"/>, initialising its page on first use.</summary>
    public Span<float> Row(int row)
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        if (Volatile.Read(ref _pages[p]) != Ready)
            Initialize(p);
        return _segments[row >> _segmentShift].AsSpan((row & ((1 << _segmentShift) - 1)) * Width, Width);
    }

    /// <summary>Starts loading the state of <paramref name="row"/> if its page exists (a hint: never allocates, never faults).</summary>
    public unsafe void Prefetch(int row)
    {
        if (Width == 0 || !System.Runtime.Intrinsics.X86.Sse.IsSupported || Volatile.Read(ref _pages[row >> PageShift]) != Ready)
            return;
        float[] segment = _segments[row >> _segmentShift]!;
        ref float first = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(segment);
        byte* p = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.CompilerServices.Unsafe.Add(ref first, (row & ((1 << _segmentShift) - 1)) * Width));
        for (int offset = 0; offset < Width * sizeof(float) && offset < 2048; offset += 64)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + offset);
    }

    /// <summary>Copies the state of <paramref name="row"/> (the template if its page was never touched) into <paramref name="destination"/>.</summary>
    public void CopyRow(int row, Span<float> destination)
    {
        if (Width == 0)
            return;
        if (Volatile.Read(ref _pages[row >> PageShift]) != Ready)
            Template.CopyTo(destination);
        else
            _segments[row >> _segmentShift].AsSpan((row & ((1 << _segmentShift) - 1)) * Width, Width).CopyTo(destination);
    }

    /// <summary>Returns <paramref name="row"/> to the initial state.</summary>
    public void Reset(int row)
    {
        if (Width != 0 && Volatile.Read(ref _pages[row >> PageShift]) == Ready)
            Template.CopyTo(_segments[row >> _segmentShift].AsSpan((row & ((1 << _segmentShift) - 1)) * Width, Width));
    }

    private void Initialize(int page)
    {
        if (Interlocked.CompareExchange(ref _pages[page], Initializing, Empty) == Empty)
        {
            try
            {
                int segment = (page << PageShift) >> _segmentShift;
                float[] rows = Volatile.Read(ref _segments[segment]) ?? Allocate(segment);
                int first = (page << PageShift) & ((1 << _segmentShift) - 1);
                for (int r = 0; r < PageRows; r++)
                    Template.CopyTo(rows, (first + r) * Width);
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

    private float[] Allocate(int segment)
    {
        var rows = GC.AllocateUninitializedArray<float>((1 << _segmentShift) * Width);
        return Interlocked.CompareExchange(ref _segments[segment], rows, null) ?? rows;
    }
}
