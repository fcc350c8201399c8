using System.Runtime.CompilerServices;

namespace EmbedSharp.Diagnostics;

/// <summary>
/// Argument checks for public entry points. Each check names the operation and the argument and
/// states the valid values. Internal code uses <see cref="System.Diagnostics.Debug.Assert(bool)"/> instead.
/// </summary>
public static class Guard
{
    /// <summary>Requires <c>value ≥ 0</c>.</summary>
    public static void NonNegative(string op, long value, [CallerArgumentExpression(nameof(value))] string paramName = "")
    {
        if (value < 0)
            ThrowHelper.ArgumentOutOfRange(op, paramName, value, $"{paramName} must be ≥ 0 but was {value}");
    }

    /// <summary>Requires <c>value &gt; 0</c>.</summary>
    public static void Positive(string op, long value, [CallerArgumentExpression(nameof(value))] string paramName = "")
    {
        if (value <= 0)
            ThrowHelper.ArgumentOutOfRange(op, paramName, value, $"{paramName} must be > 0 but was {value}");
    }

    /// <summary>Requires a finite <c>value &gt; 0</c>.</summary>
    public static void PositiveFinite(string op, double value, [CallerArgumentExpression(nameof(value))] string paramName = "")
    {
        if (!(value > 0) || double.IsInfinity(value))
            ThrowHelper.ArgumentOutOfRange(op, paramName, value, $"{paramName} must be a finite number > 0 but was {value}");
    }

    /// <summary>Requires a finite value.</summary>
    public static void Finite(string op, double value, [CallerArgumentExpression(nameof(value))] string paramName = "")
    {
        if (!double.IsFinite(value))
            ThrowHelper.ArgumentOutOfRange(op, paramName, value, $"{paramName} must be finite but was {value}");
    }

    /// <summary>Requires <c>lo ≤ value &lt; hiExclusive</c>.</summary>
    public static void InRange(string op, long value, long lo, long hiExclusive, [CallerArgumentExpression(nameof(value))] string paramName = "")
    {
        if (value < lo || value >= hiExclusive)
            ThrowHelper.ArgumentOutOfRange(op, paramName, value, $"{paramName} = {value} is out of range; valid values are {lo}..{hiExclusive - 1}");
    }

    /// <summary>Requires a span of exactly <paramref name="expected"/> elements.</summary>
    public static void Length(string op, int actual, long expected, string what, [CallerArgumentExpression(nameof(actual))] string paramName = "")
    {
        if (actual != expected)
        {
            paramName = SpanName(paramName);
            ThrowHelper.Argument(op, paramName, $"{paramName} has {actual} elements but {expected} are needed ({what})");
        }
    }

    /// <summary>Requires a span of at least <paramref name="expected"/> elements.</summary>
    public static void MinLength(string op, int actual, long expected, string what, [CallerArgumentExpression(nameof(actual))] string paramName = "")
    {
        if (actual < expected)
        {
            paramName = SpanName(paramName);
            ThrowHelper.Argument(op, paramName, $"{paramName} has {actual} elements but at least {expected} are needed ({what})");
        }
    }

    // `destination.Length` → `destination`: the caller passes the length, the message names the argument.
    private static string SpanName(string expression) =>
        expression.EndsWith(".Length", StringComparison.Ordinal) ? expression[..^".Length".Length] : expression;

    /// <summary>Requires a non-null reference.</summary>
    public static T NotNull<T>(string op, T? value, [CallerArgumentExpression(nameof(value))] string paramName = "") where T : class
    {
        if (value is null)
            throw new ArgumentNullException(paramName, ThrowHelper.Format(op, $"{paramName} must not be null"));
        return value;
    }
}
