using EmbedSharp.Diagnostics;

namespace EmbedSharp.Training.Common;

/// <summary>
/// Splits one line of a corpus into tokens, without allocating: it returns ranges into the line.
/// </summary>
/// <remarks>
/// The trainers treat each line as a sentence (context windows never cross a line). Override
/// <see cref="Normalize"/> to rewrite characters in place first (the built-in lower-casing
/// tokenizer does); tokens are the maximal runs of characters for which <see cref="IsSeparator"/> is false.
/// </remarks>
public abstract class Tokenizer
{
    /// <summary>Splits on Unicode white space; keeps case (the corpora of <c>make_corpus.sh</c> are already lower-cased).</summary>
    public static Tokenizer Whitespace { get; } = new WhitespaceTokenizer(lowercase: false);

    /// <summary>Splits on Unicode white space and lower-cases each character (invariant culture).</summary>
    public static Tokenizer WhitespaceLowercase { get; } = new WhitespaceTokenizer(lowercase: true);

    /// <summary>Rewrites the line in place before it is split (the default does nothing).</summary>
    public virtual void Normalize(Span<char> line)
    {
    }

    /// <summary>True for characters that separate tokens.</summary>
    public abstract bool IsSeparator(char c);

    /// <summary>
    /// Finds the next token at or after <paramref name="position"/>; on success <paramref name="position"/>
    /// moves past it.
    /// </summary>
    public bool TryReadToken(ReadOnlySpan<char> line, ref int position, out Range token)
    {
        int i = position;
        while (i < line.Length && IsSeparator(line[i]))
            i++;
        if (i >= line.Length)
        {
            position = line.Length;
            token = default;
            return false;
        }
        int start = i;
        while (i < line.Length && !IsSeparator(line[i]))
            i++;
        position = i;
        token = start..i;
        return true;
    }

    /// <summary>All tokens of <paramref name="line"/> as strings (convenience for small inputs and tests).</summary>
    public string[] Split(string line)
    {
        Guard.NotNull("tokenizer.split", line);
        char[] chars = line.ToCharArray();
        Normalize(chars);
        var result = new List<string>();
        int pos = 0;
        while (TryReadToken(chars, ref pos, out Range r))
            result.Add(new string(chars.AsSpan(r)));
        return [.. result];
    }

    private sealed class WhitespaceTokenizer(bool lowercase) : Tokenizer
    {
        public override bool IsSeparator(char c) => c <= ' ' ? c is ' ' or '\t' or '\r' or '\n' or '\v' or '\f' : char.IsWhiteSpace(c);

        public override void Normalize(Span<char> line)
        {
            if (!lowercase)
                return;
            for (int i = 0; i < line.Length; i++)
                line[i] = char.ToLowerInvariant(line[i]);
        }
    }
}
