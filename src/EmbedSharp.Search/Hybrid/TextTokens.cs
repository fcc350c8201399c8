using System.Globalization;
using System.Text;

namespace EmbedSharp.Search.Hybrid;

/// <summary>
/// The default tokenizer of the hybrid search: maximal runs of letters, digits and combining marks,
/// lower-cased with the invariant culture (so "Café-au-lait" is café, au, lait). Callers that need
/// another rule (a Microsoft.ML.Tokenizers model, stemming) pass their own function instead.
/// </summary>
public static class TextTokens
{
    /// <summary>The tokens of <paramref name="text"/>, in order.</summary>
    public static IEnumerable<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder();
        foreach (char c in text)
        {
            var cat = char.GetUnicodeCategory(c);
            if (char.IsLetterOrDigit(c) || cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
            {
                sb.Append(char.ToLowerInvariant(c));
                continue;
            }
            if (sb.Length > 0)
            {
                yield return sb.ToString();
                sb.Clear();
            }
        }
        if (sb.Length > 0)
            yield return sb.ToString();
    }
}
