using EmbedSharp.Vocabularies;


namespace EmbedSharp.Tests.Vocabularies;

public sealed class VocabularyTests
{
    private static readonly string[] Stream = "b a c a b d a e c f f".Split(' ');

    [Fact]
    public void Build_sorts_by_count_with_first_occurrence_breaking_ties()
    {
        Vocabulary v = Vocabulary.Build(Stream);
        // a:3, then b,c,f:2 in first-seen order (b, c, f), then d,e:1.
        Assert.Equal(["a", "b", "c", "f", "d", "e"], v.Tokens);
        Assert.Equal([3L, 2, 2, 2, 1, 1], v.Counts.ToArray());
        Assert.Equal(11, v.TotalCount);
        Assert.Null(v.UnknownId);
    }

    [Fact]
    public void Ordinal_tie_break_sorts_equal_counts_by_string()
    {
        Vocabulary v = Vocabulary.Build("z y x y z w".Split(' '), new VocabularyOptions { TieBreak = TieBreak.Ordinal });
        Assert.Equal(["y", "z", "w", "x"], v.Tokens);
    }

    [Fact]
    public void Special_tokens_take_fixed_ids_and_are_never_pruned()
    {
        var options = new VocabularyOptions
        {
            SpecialTokens = [SpecialTokens.Pad, SpecialTokens.Unknown, SpecialTokens.Cls, SpecialTokens.Sep, SpecialTokens.Mask, "<user>"],
            UnknownToken = SpecialTokens.Unknown,
            PaddingToken = SpecialTokens.Pad,
            MinCount = 2,
            MaxSize = 8,
        };
        Vocabulary v = Vocabulary.Build(Stream.Append("[CLS]"), options);
        Assert.Equal(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "<user>", "a", "b"], v.Tokens);
        Assert.Equal(6, v.SpecialCount);
        Assert.Equal(1L, v.GetCount(2)); // observed count of a special token is kept
        Assert.Equal(0, v.PaddingId);
        Assert.Equal(1, v.UnknownId);
        Assert.True(v.IsSpecial(5));
        Assert.False(v.IsSpecial(6));
        Assert.Equal(1, v.GetId("zebra"));
        Assert.Equal(6, v.GetId("a"));
    }

    [Fact]
    public void Min_count_and_max_size_prune_the_rarest()
    {
        Assert.Equal(["a", "b", "c", "f"], Vocabulary.Build(Stream, new VocabularyOptions { MinCount = 2 }).Tokens);
        Assert.Equal(["a", "b"], Vocabulary.Build(Stream, new VocabularyOptions { MaxSize = 2 }).Tokens);
        Assert.Empty(Vocabulary.Build(Stream, new VocabularyOptions { MinCount = 100 }).Tokens);
        Assert.Empty(Vocabulary.Build([]).Tokens);
    }

    [Fact]
    public void Lookups_encode_and_decode()
    {
        Vocabulary v = Vocabulary.Build(Stream, VocabularyOptions.PadUnk);
        Assert.True(v.TryGetId("c".AsSpan(), out int id));
        Assert.Equal("c", v.GetToken(id));
        Assert.False(v.TryGetId("q", out int none));
        Assert.Equal(-1, none);
        int[] ids = v.Encode(["a", "nope", "e"]);
        Assert.Equal([2, 1, v.GetId("e")], ids);
        Assert.Equal(["a", "<unk>", "e"], v.Decode(ids));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Decode([99]));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.GetToken(-1));
    }

    [Fact]
    public void Without_an_unknown_token_unknown_lookups_throw_before_writing()
    {
        Vocabulary v = Vocabulary.Build(Stream);
        var ex = Assert.Throws<KeyNotFoundException>(() => v.GetId("zzz"));
        Assert.Contains("[vocabulary.id]", ex.Message);
        int[] dst = [7, 7, 7];
        Assert.Throws<KeyNotFoundException>(() => v.Encode(["a", "b", "zzz"], dst));
        Assert.Equal([7, 7, 7], dst);
    }

    [Fact]
    public void Inconsistent_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Vocabulary.Build(Stream, new VocabularyOptions { SpecialTokens = ["<pad>", "<pad>"] }));
        Assert.Throws<ArgumentException>(() => Vocabulary.Build(Stream, new VocabularyOptions { UnknownToken = "<unk>" }));
        Assert.Throws<ArgumentException>(() => Vocabulary.Build(Stream, new VocabularyOptions { PaddingToken = "<pad>" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Vocabulary.Build(Stream, new VocabularyOptions { SpecialTokens = ["a", "b"], MaxSize = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Vocabulary.Build(Stream, new VocabularyOptions { MinCount = -1 }));
    }

    [Fact]
    public void FromTokens_keeps_the_given_order_and_checks_it()
    {
        Vocabulary v = Vocabulary.FromTokens(["[PAD]", "[UNK]", "hello", "world"], [0, 0, 5, 9],
            new VocabularyOptions { SpecialTokens = ["[PAD]", "[UNK]"], UnknownToken = "[UNK]", PaddingToken = "[PAD]" });
        Assert.Equal(3, v.GetId("world"));
        Assert.Equal(9, v.GetCount(3));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["a", "b", "a"]));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["a", "[PAD]"], default, new VocabularyOptions { SpecialTokens = ["[PAD]"] }));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["a"], [1, 2]));
        Assert.Throws<ArgumentException>(() => Vocabulary.FromTokens(["a"], [-1]));
    }

    [Fact]
    public void Save_and_load_round_trip()
    {
        Vocabulary v = Vocabulary.Build(Stream.Concat(["naïve", "東京", ""]), VocabularyOptions.PadUnk);
        var ms = new MemoryStream();
        v.Save(ms);
        ms.Position = 0;
        Vocabulary back = Vocabulary.Load(ms);
        Assert.Equal(v.Tokens, back.Tokens);
        Assert.Equal(v.Counts.ToArray(), back.Counts.ToArray());
        Assert.Equal(v.SpecialCount, back.SpecialCount);
        Assert.Equal(v.UnknownId, back.UnknownId);
        Assert.Equal(v.PaddingId, back.PaddingId);
        Assert.Equal(ms.Length, ms.Position);
    }

    [Fact]
    public void Every_truncation_is_a_clear_error()
    {
        var ms = new MemoryStream();
        Vocabulary.Build(Stream, VocabularyOptions.PadUnk).Save(ms);
        byte[] bytes = ms.ToArray();
        for (int n = 0; n < bytes.Length; n++)
        {
            var ex = Assert.Throws<InvalidDataException>(() => Vocabulary.Load(new MemoryStream(bytes, 0, n)));
            Assert.StartsWith("[vocabulary.load]", ex.Message);
            // A stream that cannot seek must fail the same way.
            Assert.Throws<InvalidDataException>(() => Vocabulary.Load(new NonSeekable(bytes.AsSpan(0, n).ToArray())));
        }
    }

    [Fact]
    public void Hostile_headers_are_rejected_without_large_allocations()
    {
        var ms = new MemoryStream();
        Vocabulary.FromTokens(["<pad>", "x", "y"], [0, 1, 2], new VocabularyOptions { SpecialTokens = ["<pad>"], PaddingToken = "<pad>" }).Save(ms);
        byte[] good = ms.ToArray();

        byte[] Patch(int offset, int value)
        {
            byte[] b = (byte[])good.Clone();
            BitConverter.TryWriteBytes(b.AsSpan(offset), value);
            return b;
        }

        void Rejects(byte[] data, string fragment)
        {
            var ex = Assert.Throws<InvalidDataException>(() => Vocabulary.Load(new MemoryStream(data)));
            Assert.Contains(fragment, ex.Message);
            Assert.Throws<InvalidDataException>(() => Vocabulary.Load(new NonSeekable(data)));
        }

        byte[] magic = (byte[])good.Clone();
        magic[0] = (byte)'X';
        Rejects(magic, "not an EmbedSharp vocabulary");
        Rejects(Patch(8, 2), "version 2");
        Rejects(Patch(12, int.MaxValue), "");
        Rejects(Patch(12, -5), "negative");
        Rejects(Patch(16, 9), "special count");
        Rejects(Patch(20, 2), "unknown id");
        Rejects(Patch(24, 7), "padding id");
        const int firstEntry = 28;
        Rejects(Patch(firstEntry + 8, int.MaxValue), "length");
        Rejects(Patch(firstEntry + 8, -1), "length");
        byte[] negCount = (byte[])good.Clone();
        BitConverter.TryWriteBytes(negCount.AsSpan(firstEntry), -3L);
        Rejects(negCount, "negative count");
        // "x" and "y" entries: make both "x" → duplicate.
        int second = firstEntry + 12 + "<pad>".Length + 12;
        byte[] dup = (byte[])good.Clone();
        dup[second] = (byte)'x';
        dup[second + 1 + 12] = (byte)'x';
        Rejects(dup, "twice");
        byte[] badUtf8 = (byte[])good.Clone();
        badUtf8[second] = 0xFF;
        Rejects(badUtf8, "UTF-8");
    }

    private sealed class NonSeekable(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 3));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public sealed class PaddingMaskTests
{
    [Fact]
    public void Mask_marks_real_tokens_true()
    {
        bool[] mask = new bool[5];
        PaddingMask.MaskZero([3, 0, 5, 0, 1], mask);
        Assert.Equal([true, false, true, false, true], mask);
        PaddingMask.Compute([3, 0, 5], 5, mask);
        Assert.Equal([true, true, false], mask[..3]);
        Assert.Throws<ArgumentException>(() => PaddingMask.Compute([1, 2], 0, new bool[1]));
    }

    [Fact]
    public void Pad_right_pads_truncates_and_masks()
    {
        int[] ids = new int[3 * 4];
        bool[] mask = new bool[12];
        PaddingMask.Pad([[5, 6], [], [1, 2, 3, 4, 5]], paddingId: 0, length: 4, ids, mask);
        Assert.Equal([5, 6, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], ids);
        Assert.Equal([true, true, false, false, false, false, false, false, true, true, true, true], mask);
        Assert.Throws<ArgumentException>(() => PaddingMask.Pad([[1]], 0, 4, new int[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PaddingMask.Pad([[1]], 0, -1, new int[3]));
    }
}
