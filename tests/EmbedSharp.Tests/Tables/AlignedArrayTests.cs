using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Tables;

/// <summary>The pinned, cache-line-aligned arrays that hold quantized tables' packed data.</summary>
public sealed unsafe class AlignedArrayTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(3_000_001)] // > 4 MiB of uints: the huge-page path
    public void CopyOfIsAlignedAndEqual(int length)
    {
        uint[] source = Enumerable.Range(0, length).Select(i => (uint)(i * 2654435761u)).ToArray();
        var copy = AlignedArray<uint>.CopyOf(source);
        Assert.False(copy.IsNull);
        Assert.Equal(length, copy.Length);
        Assert.Equal(0, (long)copy.Pointer % 64);
        Assert.True(copy.Span.SequenceEqual(source));
        if (length > 0)
        {
            source[0] ^= 1u; // a copy: the source can change freely
            Assert.NotEqual(source[0], copy.Span[0]);
        }
    }

    [Fact]
    public void DefaultIsNullAndEmpty()
    {
        AlignedArray<byte> none = default;
        Assert.True(none.IsNull);
        Assert.True(none.Span.IsEmpty);
        Assert.True(none.Pointer == null);
    }
}
