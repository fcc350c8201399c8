using EmbedSharp.Numerics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Redis.Tests;

/// <summary>Key layout, pointer values and row codecs: no server needed.</summary>
public sealed class LayoutTests
{
    [Fact]
    public void Buckets_are_the_core_routers_pinned_function_and_blocks_are_contiguous_bucket_ranges()
    {
        // SplitMix64 of id + γ, low 12 bits: recomputed here from the published constants.
        foreach (long id in new long[] { 0, 1, 2, -1, long.MaxValue, long.MinValue, 123_456_789 })
        {
            ulong z = unchecked((ulong)id + 0x9E3779B97F4A7C15UL);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            Assert.Equal((int)(z % 4096), RedisTableLayout.BucketOf(id));
            Assert.Equal(EmbedSharp.Stores.BucketRouter.BucketOf(id), RedisTableLayout.BucketOf(id));
        }
        var layout = new RedisTableLayout("t", 1, RedisRowFormat.Float32, 8, blocks: 64, rows: 0);
        var perBlock = new int[64];
        for (long id = 0; id < 64_000; id++)
        {
            int block = layout.BlockOf(id);
            Assert.Equal(RedisTableLayout.BucketOf(id) / 64, block);
            perBlock[block]++;
        }
        Assert.All(perBlock, n => Assert.InRange(n, 800, 1200)); // dense ids spread evenly
        Assert.Equal("emb:t:v1:{b63}", (string?)layout.BlockKey(63));
    }

    [Fact]
    public void A_pointer_value_round_trips_and_anything_else_is_a_clear_error()
    {
        var layout = new RedisTableLayout("users.v2", 17, RedisRowFormat.Int8, 128, 256, 400_000, numEmbeddings: 400_000);
        Assert.Equal("version=17 format=int8 dims=128 blocks=256 rows=400000 numEmbeddings=400000", layout.ToString());
        Assert.Equal(layout, RedisTableLayout.Parse("users.v2", layout.ToString()));
        var unbounded = new RedisTableLayout("h", 2, RedisRowFormat.Float16, 3, 1, 5);
        Assert.Null(RedisTableLayout.Parse("h", unbounded.ToString()).NumEmbeddings);

        foreach (string bad in new[]
        {
            "", "hello", "version=1 format=int8 dims=8 blocks=256", "version=1 format=int4 dims=8 blocks=256 rows=1",
            "version=1 format=int8 dims=0 blocks=256 rows=1", "version=1 format=int8 dims=8 blocks=100 rows=1",
            "version=1 format=int8 dims=8 blocks=8192 rows=1", "version=-1 format=int8 dims=8 blocks=8 rows=1",
            "version=1 version=2 format=int8 dims=8 blocks=8 rows=1", "version=99999999999999999999 format=int8 dims=8 blocks=8 rows=1",
        })
        {
            var e = Assert.Throws<FormatException>(() => RedisTableLayout.Parse("t", bad));
            Assert.StartsWith("[redis.layout] the pointer emb:t:current holds", e.Message);
        }
        Assert.ThrowsAny<ArgumentException>(() => new RedisTableLayout("a{b}", 1, RedisRowFormat.Float32, 8, 8, 0));
        Assert.ThrowsAny<ArgumentException>(() => new RedisTableLayout("", 1, RedisRowFormat.Float32, 8, 8, 0));
        Assert.ThrowsAny<ArgumentException>(() => new RedisTableLayout(new string('x', 65), 1, RedisRowFormat.Float32, 8, 8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedisTableLayout("t", 0, RedisRowFormat.Float32, 8, 8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedisTableLayout("t", 1, RedisRowFormat.Float32, 8, 3, 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(128)]
    public void Row_codecs_match_the_reference_conversions_on_awkward_widths(int dims)
    {
        const int rows = 5;
        var rng = new Random(dims);
        var x = new float[rows * dims];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(rng.NextDouble() * 6 - 3);
        x[0] = 0; // a constant row when dims = 1
        var decoded = new float[dims];

        byte[][] f32 = RowCodec.Encode(RedisRowFormat.Float32, x, rows, dims);
        byte[][] f16 = RowCodec.Encode(RedisRowFormat.Float16, x, rows, dims);
        byte[][] i8 = RowCodec.Encode(RedisRowFormat.Int8, x, rows, dims);
        RowwiseQuantizedTable reference = RowwiseQuantizedTable.Quantize(x, rows, dims, 8);
        var expected = new float[dims];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * dims, dims);
            Assert.Equal(4 * dims, f32[r].Length);
            RowCodec.Decode(RedisRowFormat.Float32, f32[r], decoded);
            Assert.Equal(row.ToArray(), decoded);

            Assert.Equal(2 * dims, f16[r].Length);
            RowCodec.Decode(RedisRowFormat.Float16, f16[r], decoded);
            for (int i = 0; i < dims; i++)
                Assert.Equal((float)(Half)row[i], decoded[i]);

            Assert.Equal(dims + 4, i8[r].Length);
            RowCodec.Decode(RedisRowFormat.Int8, i8[r], decoded);
            reference.DequantizeRow(r, expected);
            Assert.Equal(expected, decoded);
        }
    }
}
