using System.Text;
using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Tests.Common;

public class CorpusTests
{
    private static List<string> ReadAll(TextCorpus corpus, int shard = 0, int shards = 1)
    {
        var lines = new List<string>();
        using var cursor = corpus.Open(shard, shards);
        while (cursor.NextLine())
        {
            var words = new List<string>();
            while (cursor.NextToken(out ReadOnlySpan<char> t))
                words.Add(t.ToString());
            lines.Add(string.Join(' ', words));
        }
        return lines;
    }

    /// <summary>A stream that cannot seek, to exercise line-number sharding.</summary>
    private sealed class ForwardOnly(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    [Fact]
    public void ReadsLinesAndTokensIncludingCrLfAndTabs()
    {
        var corpus = TextCorpus.FromText("a b\r\n\tc  d\n\nhéllo wörld");
        Assert.Equal(["a b", "c d", "", "héllo wörld"], ReadAll(corpus));
        Assert.Equal(["hello", "world"], Tokenizer.WhitespaceLowercase.Split("  HeLLo\tWORLD "));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ShardsCoverEveryLineExactlyOnce(bool seekable)
    {
        var lines = Enumerable.Range(0, 97).Select(i => string.Join(' ', Enumerable.Repeat("w" + i, i % 7 + 1))).ToList();
        byte[] bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        var corpus = new TextCorpus(() => seekable ? new MemoryStream(bytes, writable: false) : new ForwardOnly(bytes));
        for (int shards = 1; shards <= 6; shards++)
        {
            var seen = new List<string>();
            for (int s = 0; s < shards; s++)
                seen.AddRange(ReadAll(corpus, s, shards));
            Assert.Equal(lines.OrderBy(x => x, StringComparer.Ordinal), seen.OrderBy(x => x, StringComparer.Ordinal));
        }
    }

    [Fact]
    public void TextReadersGiveTheSameLinesAndShards()
    {
        string text = "a b\r\n\tc  d\n\nhéllo wörld\n" + string.Join('\n', Enumerable.Range(0, 50).Select(i => "x" + i));
        var fromStream = TextCorpus.FromText(text);
        var fromReader = TextCorpus.FromTextReader(() => new StringReader(text));
        Assert.Equal(ReadAll(fromStream), ReadAll(fromReader));
        for (int shards = 2; shards <= 4; shards++)
        {
            var seen = Enumerable.Range(0, shards).SelectMany(s => ReadAll(fromReader, s, shards)).OrderBy(x => x, StringComparer.Ordinal);
            Assert.Equal(ReadAll(fromStream).OrderBy(x => x, StringComparer.Ordinal), seen);
        }
        var big = string.Concat(Enumerable.Repeat("gamma ", TextReaderLines.MaxLineChars / 6 + 100));
        var pieces = ReadAll(TextCorpus.FromTextReader(() => new StringReader(big)));
        Assert.True(pieces.Count >= 2);
        Assert.Equal(TextReaderLines.MaxLineChars / 6 + 100, pieces.Sum(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
        Assert.Throws<ArgumentNullException>(() => TextCorpus.FromTextReader(null!));
    }

    [Fact]
    public void AnOverLongLineStreamsInPiecesCutAtSpaces()
    {
        // A text8-style single line longer than the reader's line limit.
        int words = LineReader.MaxLineBytes / 5 + 1000;
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
            sb.Append(i % 2 == 0 ? "alpha " : "beta ");
        var corpus = TextCorpus.FromText(sb.ToString());
        var pieces = ReadAll(corpus);
        Assert.True(pieces.Count >= 2);
        var tokens = pieces.SelectMany(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(words, tokens.Count);
        Assert.All(tokens, t => Assert.True(t is "alpha" or "beta"));
    }

    [Fact]
    public void VocabularyIsCountedInOnePassSortedByCount()
    {
        var corpus = TextCorpus.FromText("b a b\nc b a\nd");
        var vocab = CorpusVocabulary.Build(corpus, minCount: 2);
        Assert.Equal(["b", "a"], vocab.Tokens);
        Assert.Equal([3L, 2L], vocab.Counts.ToArray());
        var withEos = CorpusVocabulary.Build(corpus, 1, "</s>");
        Assert.Equal(3, withEos.GetCount(withEos.GetId("</s>")));
        Assert.Throws<ArgumentOutOfRangeException>(() => CorpusVocabulary.Build(corpus, 0));
    }

    [Fact]
    public void FactoryProblemsAreReportedClearly()
    {
        var corpus = new TextCorpus(() => null!);
        var e = Assert.Throws<InvalidOperationException>(() => CorpusVocabulary.Build(corpus, 1));
        Assert.StartsWith("[corpus.open]", e.Message);
        Assert.Throws<ArgumentNullException>(() => new TextCorpus(null!));
    }
}
