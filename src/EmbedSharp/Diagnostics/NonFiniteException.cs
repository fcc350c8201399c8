namespace EmbedSharp.Diagnostics;

/// <summary>
/// A training step met NaN or ±∞, in the gradient or in an updated row. Thrown instead of writing a
/// non-finite value into the table or the optimizer state.
/// </summary>
public sealed class NonFiniteException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteException(string message, long step, int row, int dimension) : base(message)
    {
        Step = step;
        Row = row;
        Dimension = dimension;
    }

    /// <summary>The optimizer step (1-based) that failed.</summary>
    public long Step { get; }

    /// <summary>The table row whose gradient or update was not finite.</summary>
    public int Row { get; }

    /// <summary>The first offending element within the row.</summary>
    public int Dimension { get; }
}
