namespace EmbedSharp.Optimizers;

/// <summary>
/// Optimizer state for a table, allocated lazily in pages of <see cref="PageRows"/> rows: a page exists
/// only once one of its rows has been updated, so state for rows never touched is never materialised.
/// Page allocation is lock-free (compare-and-swap), so Hogwild workers may allocate concurrently.
/// </summary>
internal sealed class RowStateStore
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;

    private float[]?[] _pages;

    public RowStateStore(int numEmbeddings, int width)
    {
        NumEmbeddings = numEmbeddings;
        Width = width;
        _pages = new float[]?[width == 0 ? 0 : (numEmbeddings + PageRows - 1) >> PageShift];
    }

    public int NumEmbeddings { get; }

    /// <summary>Floats of state per row.</summary>
    public int Width { get; }

    public int PageCount => _pages.Length;

    public bool IsAllocated(int page) => Volatile.Read(ref _pages[page]) is not null;

    public float[]? Page(int page) => Volatile.Read(ref _pages[page]);

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

    /// <summary>The state of <paramref name="row"/>, allocating (and initialising) its page on first use.</summary>
    public Span<float> Row<TRule>(int row, in TRule rule) where TRule : struct, ISparseUpdateRule
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        float[]? page = Volatile.Read(ref _pages[p]);
        if (page is null)
        {
            var fresh = new float[PageRows * Width];
            for (int r = 0; r < PageRows; r++)
                rule.InitializeState(fresh.AsSpan(r * Width, Width));
            page = Interlocked.CompareExchange(ref _pages[p], fresh, null) ?? fresh;
        }
        return page.AsSpan((row & (PageRows - 1)) * Width, Width);
    }

    /// <summary>Replaces all pages at once (after a load was fully validated).</summary>
    public void Replace(float[]?[] pages)
    {
        System.Diagnostics.Debug.Assert(pages.Length == _pages.Length);
        _pages = pages;
    }
}
