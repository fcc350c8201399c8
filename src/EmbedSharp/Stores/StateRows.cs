namespace EmbedSharp.Stores;

/// <summary>
/// Optimizer state for the rows (or slots) of a store, <see cref="Width"/> floats a row, in pages of 64 rows
/// allocated on first use and filled with the rule's initial row (<see cref="Template"/>). Pages are published
/// with a compare-exchange, so shards that share a page may allocate it concurrently.
/// </summary>
internal sealed class StateRows
{
    public const int PageShift = 6;
    public const int PageRows = 1 << PageShift;
    private float[]?[] _pages;

    public StateRows(long rows, float[] template)
    {
        Template = template;
        Width = template.Length;
        _pages = new float[]?[Width == 0 ? 0 : (int)((rows + PageRows - 1) >> PageShift)];
    }

    /// <summary>Floats of state per row.</summary>
    public int Width { get; }

    /// <summary>The initial state of a row.</summary>
    public float[] Template { get; }

    /// <summary>Pages allocated so far.</summary>
    public int AllocatedPages => _pages.Count(p => p is not null);

    /// <summary>Bytes held by allocated pages.</summary>
    public long AllocatedBytes => (long)AllocatedPages * PageRows * Width * sizeof(float);

    /// <summary>Grows the row capacity (dynamic tables); existing pages stay.</summary>
    public void EnsureRows(long rows)
    {
        int pages = Width == 0 ? 0 : (int)((rows + PageRows - 1) >> PageShift);
        if (pages > _pages.Length)
            Array.Resize(ref _pages, Math.Max(pages, _pages.Length * 2));
    }

    /// <summary>The state of <paramref name="row"/>, allocating its page on first use.</summary>
    public Span<float> Row(int row)
    {
        if (Width == 0)
            return default;
        int p = row >> PageShift;
        float[] page = Volatile.Read(ref _pages[p]) ?? Allocate(p);
        return page.AsSpan((row & (PageRows - 1)) * Width, Width);
    }

    /// <summary>Copies the state of <paramref name="row"/> (the template if never touched) into <paramref name="destination"/>.</summary>
    public void CopyRow(int row, Span<float> destination)
    {
        if (Width == 0)
            return;
        float[]? page = Volatile.Read(ref _pages[row >> PageShift]);
        if (page is null)
            Template.CopyTo(destination);
        else
            page.AsSpan((row & (PageRows - 1)) * Width, Width).CopyTo(destination);
    }

    /// <summary>Returns <paramref name="row"/> to the initial state.</summary>
    public void Reset(int row)
    {
        if (Width == 0)
            return;
        float[]? page = Volatile.Read(ref _pages[row >> PageShift]);
        if (page is not null)
            Template.CopyTo(page.AsSpan((row & (PageRows - 1)) * Width, Width));
    }

    private float[] Allocate(int p)
    {
        var page = new float[PageRows * Width];
        for (int r = 0; r < PageRows; r++)
            Template.CopyTo(page, r * Width);
        return Interlocked.CompareExchange(ref _pages[p], page, null) ?? page;
    }
}
