using System.Runtime.InteropServices;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Layers;

/// <summary>64-bit ids at the layer boundary: remapped to local slots, and tables past 2³¹ elements.</summary>
public sealed class IdRemapTests
{
    // Global ids far beyond int32, one negative, mapped to slots 0..4 in this order.
    private static readonly long[] GlobalIds = [1L << 40, 5_000_000_123L, -7L, long.MaxValue, 3L];

    private static float[] Weights(int v, int d) => Enumerable.Range(0, v * d).Select(i => (float)Math.Sin(i + 1)).ToArray();

    [Fact]
    public void Embedding_Int64IdsThroughRemap_EqualSlotLookup()
    {
        var remap = IdRemap.FromIds(GlobalIds);
        using var layer = Embedding.FromPretrained(Weights(5, 3), 5, 3, freeze: false, new EmbeddingOptions { Remap = remap });
        long[] ids = [5_000_000_123L, 1L << 40, long.MaxValue, 5_000_000_123L, -7L];
        int[] slots = [1, 0, 3, 1, 2];
        var viaIds = new float[15];
        var viaSlots = new float[15];
        layer.Forward(ids, viaIds);
        layer.Forward(slots, viaSlots);
        Assert.Equal(viaSlots, viaIds);
        Assert.NotEqual(new float[15], viaIds);

        var grad = Enumerable.Range(0, 15).Select(i => i * 0.25f).ToArray();
        SparseGradient a = layer.Backward(ids, grad), b = layer.Backward(slots, grad);
        Assert.Equal(b.Rows.ToArray(), a.Rows.ToArray());
        Assert.Equal(b.Values.ToArray(), a.Values.ToArray());
    }

    [Fact]
    public void Embedding_Int64Ids_UnknownIdIsRejectedBeforeAnythingChanges()
    {
        using var layer = Embedding.FromPretrained(Weights(5, 3), 5, 3, freeze: false,
            new EmbeddingOptions { Remap = IdRemap.FromIds(GlobalIds), MaxNorm = 0.1f });
        float[] before = layer.Weight.ToArray();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Forward([3L, 1L << 41], new float[6]));
        Assert.Contains("indices[1] = 2199023255552 has no slot", ex.Message);
        Assert.StartsWith("[embedding.forward]", ex.Message);
        Assert.Equal(before, layer.Weight.ToArray());
    }

    [Fact]
    public void Embedding_IdentityRemap_KeepsTheInt32Message()
    {
        using var layer = new Embedding(4, 2);
        Assert.True(layer.Remap.IsIdentity);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Forward([1L, 4L], new float[4]));
        Assert.Contains("indices[1] = 4 is out of range; valid ids are 0..3", ex.Message);
    }

    [Fact]
    public void EmbeddingBag_Int64IdsThroughRemap_EqualSlotLookupAndStep()
    {
        var remap = IdRemap.FromIds(GlobalIds);
        var options = new EmbeddingBagOptions { Mode = PoolingMode.Sum, Remap = remap, Seed = 3 };
        using var a = new EmbeddingBag(5, 4, options);
        using var b = new EmbeddingBag(5, 4, options);
        long[] ids = [3L, -7L, 1L << 40, 3L, long.MaxValue];
        int[] slots = [4, 2, 0, 4, 3];
        int[] offsets = [0, 2, 2];
        Assert.Equal(slots, a.ToSlots(ids));
        Assert.Equal(b.Forward(slots, offsets), a.Forward(a.ToSlots(ids), offsets));

        var grad = Enumerable.Range(0, 12).Select(i => 0.5f - i * 0.1f).ToArray();
        a.BackwardAndStep(a.ToSlots(ids), offsets, grad, FusedSparseBackward.Create(a.Weight, new Sgd(0.1)));
        b.BackwardAndStep(slots, offsets, grad, FusedSparseBackward.Create(b.Weight, new Sgd(0.1)));
        Assert.Equal(b.Weight.ToArray(), a.Weight.ToArray());
    }

    [Fact]
    public unsafe void Embedding_TablePast2To31Elements_LooksUpAndStepsItsLastRows()
    {
        // 2²⁴ + 2 rows × 128 floats = 2³¹ + 256 elements (8 GiB of address space). The memory is
        // zeroed lazily by the OS, so only the pages of the rows touched here are ever made resident.
        const int rows = (1 << 24) + 2, dims = 128;
        long bytes = (long)rows * dims * sizeof(float);
        nint memory = (nint)NativeMemory.AllocZeroed((nuint)bytes);
        Assert.NotEqual(0, memory);
        var table = EmbeddingTable.FromExternalMemory(memory, bytes, rows, dims, DType.Float32, new Free(memory));
        Assert.True(table.ElementCount > int.MaxValue);
        using var layer = Embedding.Over(table);
        var row = Enumerable.Range(0, dims).Select(i => i * 0.5f).ToArray();
        layer.Weight.WriteRow(rows - 1, row);

        long[] ids = [rows - 1, 7, rows - 2];
        var output = new float[3 * dims];
        layer.Forward(ids, output);
        Assert.Equal(row, output.AsSpan(0, dims).ToArray());
        Assert.Equal(new float[dims], output.AsSpan(dims, dims).ToArray());

        var grad = new float[3 * dims];
        grad.AsSpan().Fill(1f);
        layer.BackwardAndStep(ids, grad, FusedSparseBackward.Create(layer.Weight, new Sgd(0.5)));
        var after = new float[dims];
        layer.Weight.ReadRow(rows - 1, after);
        Assert.Equal(row.Select(x => x - 0.5f).ToArray(), after);
        layer.Weight.ReadRow(rows - 2, after);
        Assert.All(after, x => Assert.Equal(-0.5f, x));

    }

    private sealed class Free(nint memory) : IDisposable
    {
        public unsafe void Dispose() => NativeMemory.Free((void*)memory);
    }
}
