using System.Diagnostics.CodeAnalysis;

namespace EmbedSharp.Diagnostics;

/// <summary>
/// Builds the exceptions EmbedSharp throws at its public boundary. Every message starts with the
/// operation in brackets (<c>[embedding.forward]</c>), then names the argument, the offending value
/// and the valid values, so the reader knows what to change without opening the source.
/// </summary>
public static class ThrowHelper
{
    /// <summary>Formats a message as <c>[op] text</c>.</summary>
    public static string Format(string op, string text) => $"[{op}] {text}";

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for <paramref name="paramName"/>.</summary>
    [DoesNotReturn]
    public static void ArgumentOutOfRange(string op, string paramName, object? value, string text) =>
        throw new ArgumentOutOfRangeException(paramName, value, Format(op, text));

    /// <summary>Throws <see cref="ArgumentException"/> for <paramref name="paramName"/>.</summary>
    [DoesNotReturn]
    public static void Argument(string op, string paramName, string text) =>
        throw new ArgumentException(Format(op, text), paramName);

    /// <summary>Throws <see cref="InvalidOperationException"/>.</summary>
    [DoesNotReturn]
    public static void InvalidOperation(string op, string text) =>
        throw new InvalidOperationException(Format(op, text));

    /// <summary>Throws <see cref="NotSupportedException"/>.</summary>
    [DoesNotReturn]
    public static void NotSupported(string op, string text) =>
        throw new NotSupportedException(Format(op, text));

    /// <summary>Throws <see cref="ObjectDisposedException"/> for a disposed object.</summary>
    [DoesNotReturn]
    public static void Disposed(string op, string objectName) =>
        throw new ObjectDisposedException(objectName, Format(op, $"the {objectName} has been disposed"));

    /// <summary>
    /// Throws for an index outside <c>[0, count)</c>, naming its position (<c>indices[1, 3]</c> for a
    /// tensor with <paramref name="lengths"/>, <c>indices[7]</c> for a flat span).
    /// </summary>
    [DoesNotReturn]
    public static void IndexOutOfRange(string op, string paramName, long value, long position, long count,
        ReadOnlySpan<nint> lengths = default)
    {
        string where = FormatPosition(position, lengths);
        string text = count == 0
            ? $"{paramName}{where} = {value} but the table has no rows (numEmbeddings 0)"
            : $"{paramName}{where} = {value} is out of range; valid ids are 0..{count - 1} (numEmbeddings {count})";
        throw new ArgumentOutOfRangeException(paramName, value, Format(op, text));
    }

    /// <summary>Writes a flat position as tensor coordinates, <c>[i, j, k]</c>.</summary>
    public static string FormatPosition(long position, ReadOnlySpan<nint> lengths)
    {
        if (lengths.Length <= 1)
            return $"[{position}]";
        Span<long> coords = stackalloc long[lengths.Length];
        long rest = position;
        for (int d = lengths.Length - 1; d >= 0; d--)
        {
            long n = lengths[d];
            coords[d] = n == 0 ? 0 : rest % n;
            rest = n == 0 ? 0 : rest / n;
        }
        return "[" + string.Join(", ", coords.ToArray()) + "]";
    }
}
