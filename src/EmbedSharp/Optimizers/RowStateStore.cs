using System.Runtime.InteropServices;
using EmbedSharp.Tables;

namespace EmbedSharp.Optimizers;

/// <summary>
/// Optimizer state for a table: one native block of <c>NumEmbeddings × Width</c> floats, initialised
/// lazily in pages of <see cref="PageRows"/> rows, so state for rows never touched is never written.
/// </summary>
/// <remarks>
/// <para>The block is reserved, not cleared: on Linux the kernel backs it only where it is written,
/// and large blocks are advised to use 2 MiB pages like the tables themselves. A sparse step reads the
/// state of random rows; from 4 KiB pages each such row also missed the TLB, and visiting rows in
/// batch order (so the gradient streams) lost more than it gained (LazyAdam, 1M × 128, one core:
/// 5.5 M rows/s from 64-row managed pages, 8 from this block).</para>
/// <para>A page is initialised by the first thread that needs it (compare-and-swap on its flag); Hogwild
/// workers needing the same page meanwhile wait for it. The block is freed by <see cref="Dispose"/> or
/// the finalizer.</para>
/// </remarks>
internal sealed unsafe class RowStateStore : IDisposable
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;

    private const int Empty = 0, Initializing = 1, Ready = 2;

    private float* _block;
    private readonly long _bytes;
    private int[] _pages;

    public RowStateStore(int numEmbeddings, int width)
    {
        NumEmbeddings = numEmbeddings;
        Width = width;
        _pages = new int[width == 0 ? 0 : (numEmbeddings + PageRows - 1) >> PageShift];
        if (width > 0 && numEmbeddings > 0)
        {
            // Whole pages, so the last page's rows past NumEmbeddings are addressable too.
            nuint floats = (nuint)_pages.Length * PageRows * (nuint)width;
            _bytes = (long)(floats * sizeof(float));
            _block = (float*)NativeAllocation.AllocateUninitialized(floats * sizeof(float));
            GC.AddMemoryPressure(_bytes);
        }
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

    /// <summary>The rows of <paramref name="page"/>, whether or not it holds state yet.</summary>
    public Span<float> PageRowsOf(int page) => new(Block + (nint)page * PageRows * Width, PageRows * Width);

    /// <summary>The first float of <paramref name="row"/>'s state (allocated or not; for prefetching).</summary>
    public float* RowPointer(int row) => Block + (nint)row * Width;

    /// <summary>The state of <paramref name="row"/>, initialising its page on first use.</summary>
    public Span<float> Row<TRule>(int row, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        if (Volatile.Read(ref _pages[p]) != Ready)
            Initialize(p, rule);
        return new Span<float>(Block + (nint)row * Width, Width);
    }

    private void Initialize<TRule>(int page, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (Interlocked.CompareExchange(ref _pages[page], Initializing, Empty) == Empty)
        {
            Span<float> rows = PageRowsOf(page);
            for (int r = 0; r < PageRows; r++)
                rule.InitializeState(rows.Slice(r * Width, Width));
            Volatile.Write(ref _pages[page], Ready);
            return;
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref _pages[page]) != Ready)
            spin.SpinOnce();
    }

    /// <summary>Replaces the state by <paramref name="pages"/> (null: no state), after a load was fully validated.</summary>
    public void Replace(float[]?[] pages)
    {
        System.Diagnostics.Debug.Assert(pages.Length == _pages.Length);
        for (int p = 0; p < pages.Length; p++)
        {
            if (pages[p] is float[] values)
            {
                values.CopyTo(PageRowsOf(p));
                Volatile.Write(ref _pages[p], Ready);
            }
            else
            {
                Volatile.Write(ref _pages[p], Empty);
            }
        }
    }

    private float* Block => _block != null ? _block : throw new ObjectDisposedException(nameof(RowStateStore));

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        float* block = _block;
        _block = null;
        if (block != null)
        {
            NativeMemory.AlignedFree(block);
            GC.RemoveMemoryPressure(_bytes);
        }
    }
}
