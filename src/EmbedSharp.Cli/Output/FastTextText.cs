using System.Globalization;

namespace EmbedSharp.Cli.Output;

/// <summary>fastText's text output conventions, so our output can be diffed against fastText's.</summary>
internal static class FastTextText
{
    /// <summary>
    /// A float as C++'s <c>ostream</c> prints it after <c>setprecision(5)</c> (printf <c>%.5g</c>):
    /// five significant digits, trailing zeros dropped, exponent form below 1e-4 or from 1e5 on.
    /// </summary>
    public static string Format(float value)
    {
        if (float.IsNaN(value))
            return float.IsNegative(value) ? "-nan" : "nan";
        if (float.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        // .NET's G5 switches to exponent form at the same thresholds as %g; only the letter differs.
        return ((double)value).ToString("G5", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>One <c>print-word-vectors</c> line: the word, then each value followed by a space.</summary>
    public static string VectorLine(string word, ReadOnlySpan<float> vector)
    {
        var sb = new System.Text.StringBuilder(word.Length + vector.Length * 10);
        sb.Append(word).Append(' ');
        foreach (float v in vector)
            sb.Append(Format(v)).Append(' ');
        return sb.ToString();
    }
}
