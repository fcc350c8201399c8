namespace EmbedSharp.Formats;

/// <summary>
/// Reads an embedding file one row at a time, so a conversion never holds the whole table.
/// </summary>
/// <remarks>
/// <see cref="Count"/> is the number of rows the reader will return when the format states it up
/// front (word2vec headers, .npy shapes, fastText dictionaries), after <see cref="ReadOptions.Limit"/>;
/// it is null when it is only known at the end (GloVe from a stream that cannot seek). Every defect
/// in the data throws <see cref="EmbeddingFormatException"/>.
/// </remarks>
public abstract class VectorRowReader : IDisposable
{
    /// <summary>Length of each row.</summary>
    public abstract int Dims { get; }

    /// <summary>Rows this reader returns, when known before reading them.</summary>
    public abstract long? Count { get; }

    /// <summary>True when rows carry words (false for a bare .npy).</summary>
    public virtual bool HasWords => true;

    /// <summary>
    /// Reads the next row into <paramref name="destination"/> (at least <see cref="Dims"/> long).
    /// </summary>
    /// <param name="destination">Receives the vector.</param>
    /// <param name="word">The row's word, or null when <see cref="HasWords"/> is false.</param>
    /// <param name="count">The word's count when the file stores one, else -1.</param>
    /// <returns>False at the end of the data.</returns>
    public abstract bool TryReadRow(Span<float> destination, out string? word, out long count);

    /// <summary>True when <see cref="Count"/> was checked against the file length, so it may size an allocation.</summary>
    internal virtual bool CountIsVerified => false;

    /// <summary>Releases what the reader holds (never the stream it was given).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>
/// Writes an embedding file one row at a time. Call <see cref="Complete"/> after the last row; it
/// checks that the promised number of rows arrived and flushes what the format keeps until the end.
/// </summary>
public abstract class VectorRowWriter : IDisposable
{
    /// <summary>Writes one row.</summary>
    /// <param name="word">The row's word (required by every format with a vocabulary).</param>
    /// <param name="row">The vector, exactly <c>Dims</c> long.</param>
    /// <param name="count">The word's count, or -1 when unknown.</param>
    public abstract void WriteRow(string? word, ReadOnlySpan<float> row, long count = -1);

    /// <summary>Finishes the file.</summary>
    /// <exception cref="InvalidOperationException">Fewer or more rows were written than announced.</exception>
    public abstract void Complete();

    /// <summary>Releases what the writer holds (never the stream it was given).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
