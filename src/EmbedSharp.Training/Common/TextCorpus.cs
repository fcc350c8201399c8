using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Training.Word2Vec;

namespace EmbedSharp.Training.Common;

/// <summary>
/// A text corpus the trainers stream line by line: each epoch (and each worker thread) opens its own
/// stream (or text reader, <see cref="FromTextReader"/>) through the factory, so the corpus is never held
/// in memory and can be of any size.
/// </summary>
/// <remarks>
/// The text is UTF-8 (invalid bytes become U+FFFD). A line is a sentence: context windows never
/// cross line ends. With several worker threads a seekable stream is cut into byte-range chunks
/// (16 per thread per epoch) that the workers claim one after another, each chunk opened through the
/// factory and seeked to; a line belongs to the chunk its first byte falls in, so every line is read
/// exactly once. A non-seekable stream (or a text reader) is split into one part per thread, every
/// <c>n</c>-th line, each a full read. The factory must return a new stream positioned at the start on
/// every call; the trainers dispose it.
/// Training does no file IO of its own: pass <c>() =&gt; File.OpenRead(path)</c>.
/// </remarks>
public sealed class TextCorpus
{
    private readonly Func<Stream>? _open;
    private readonly Func<TextReader>? _openReader;

    /// <summary>A corpus read through <paramref name="open"/>, split by <paramref name="tokenizer"/> (default: white space).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="open"/> is null.</exception>
    public TextCorpus(Func<Stream> open, Tokenizer? tokenizer = null)
        : this(Guard.NotNull("corpus.create", open), tokenizer ?? Tokenizer.Whitespace, null)
    {
    }

    private TextCorpus(Func<Stream>? open, Func<TextReader>? openReader, Tokenizer tokenizer, PhraseSet? phrases)
    {
        _open = open;
        _openReader = openReader;
        Tokenizer = tokenizer;
        Phrases = phrases;
    }

    private TextCorpus(Func<Stream> open, Tokenizer tokenizer, PhraseSet? phrases)
        : this(open, null, tokenizer, phrases)
    {
    }

    /// <summary>
    /// A corpus read through text readers (already decoded text); worker <c>k</c> of <c>n</c> takes every
    /// <c>n</c>-th line. The factory must return a new reader at the start on every call; the trainers dispose it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="open"/> is null.</exception>
    public static TextCorpus FromTextReader(Func<TextReader> open, Tokenizer? tokenizer = null) =>
        new(null, Guard.NotNull("corpus.create", open), tokenizer ?? Tokenizer.Whitespace, null);

    /// <summary>How lines are split into tokens.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Phrases joined into single tokens as the text is read (see <see cref="WithPhrases"/>), or null.</summary>
    public PhraseSet? Phrases { get; }

    /// <summary>An in-memory corpus over <paramref name="text"/> (lines separated by <c>\n</c>).</summary>
    public static TextCorpus FromText(string text, Tokenizer? tokenizer = null)
    {
        Guard.NotNull("corpus.from_text", text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return new TextCorpus(() => new MemoryStream(bytes, writable: false), tokenizer);
    }

    /// <summary>An in-memory corpus with one line per item.</summary>
    public static TextCorpus FromLines(IEnumerable<string> lines, Tokenizer? tokenizer = null)
    {
        Guard.NotNull("corpus.from_lines", lines);
        return FromText(string.Join('\n', lines), tokenizer);
    }

    /// <summary>
    /// The same text with word2phrase's joining applied while reading: where two adjacent tokens form a
    /// phrase of <paramref name="phrases"/> they become one token <c>a_b</c> (greedily, left to right).
    /// </summary>
    public TextCorpus WithPhrases(PhraseSet phrases) => new(_open, _openReader, Tokenizer, Guard.NotNull("corpus.with_phrases", phrases));

    /// <summary>Whether the factory's streams can seek (byte-range chunks are possible); opens one stream to find out.</summary>
    internal bool IsSeekable()
    {
        if (_open is null)
            return false;
        using Stream? s = _open();
        return s is not null && s.CanSeek;
    }

    internal CorpusCursor Open(int shard = 0, int shardCount = 1)
    {
        if (_openReader is not null)
        {
            TextReader reader = _openReader() ?? throw new InvalidOperationException(ThrowHelper.Format("corpus.open", "the text reader factory returned null"));
            return new CorpusCursor(new TextReaderLines(reader, shard, shardCount), Tokenizer, Phrases);
        }
        Stream s = _open!() ?? throw new InvalidOperationException(ThrowHelper.Format("corpus.open", "the stream factory returned null"));
        if (!s.CanRead)
        {
            s.Dispose();
            ThrowHelper.InvalidOperation("corpus.open", "the stream factory returned a stream that cannot be read");
        }
        return new CorpusCursor(new LineReader(s, shard, shardCount), Tokenizer, Phrases);
    }
}

/// <summary>
/// Walks the tokens of a corpus line by line, applying the tokenizer's normalisation and the phrases.
/// Token spans are valid until the next call.
/// </summary>
internal sealed class CorpusCursor : IDisposable
{
    private readonly LineSource _lines;
    private readonly Tokenizer _tokenizer;
    private readonly PhraseSet? _phrases;
    private char[] _merged = new char[256];
    private int _pos;
    private Range _pending;
    private bool _hasPending;

    public CorpusCursor(LineSource lines, Tokenizer tokenizer, PhraseSet? phrases)
    {
        _lines = lines;
        _tokenizer = tokenizer;
        _phrases = phrases;
    }

    /// <summary>True when the current line continues the previous one (a split over-long line).</summary>
    public bool IsContinuation => _lines.IsContinuation;

    public bool NextLine()
    {
        if (!_lines.ReadLine())
            return false;
        _tokenizer.Normalize(_lines.WritableLine);
        _pos = 0;
        _hasPending = false;
        return true;
    }

    public bool NextToken(out ReadOnlySpan<char> token)
    {
        ReadOnlySpan<char> line = _lines.Line;
        if (_phrases is null)
        {
            if (_tokenizer.TryReadToken(line, ref _pos, out Range r))
            {
                token = line[r];
                return true;
            }
            token = default;
            return false;
        }
        // Greedy word2phrase joining: hold one token back and join it with the next when the pair is a phrase.
        if (!_hasPending)
        {
            if (!_tokenizer.TryReadToken(line, ref _pos, out _pending))
            {
                token = default;
                return false;
            }
        }
        _hasPending = false;
        if (_tokenizer.TryReadToken(line, ref _pos, out Range next))
        {
            ReadOnlySpan<char> a = line[_pending], b = line[next];
            int len = a.Length + 1 + b.Length;
            if (_merged.Length < len)
                _merged = new char[Math.Max(len, _merged.Length * 2)];
            a.CopyTo(_merged);
            _merged[a.Length] = PhraseSet.Joiner;
            b.CopyTo(_merged.AsSpan(a.Length + 1));
            if (_phrases.Contains(_merged.AsSpan(0, len)))
            {
                token = _merged.AsSpan(0, len);
                return true;
            }
            token = a;
            _pending = next;
            _hasPending = true;
            return true;
        }
        token = line[_pending];
        return true;
    }

    public void Dispose() => _lines.Dispose();
}
