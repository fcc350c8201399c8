using System.Numerics.Tensors;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Layers;

public sealed class EmbeddingTests
{
    private static Embedding Arange(int v, int d, EmbeddingOptions? o = null) =>
        Embedding.FromPretrained(Enumerable.Range(0, v * d).Select(i => (float)i).ToArray(), v, d, freeze: false, o);

    private static int[] RandomIds(int n, int v, ulong seed)
    {
        var r = new SeededRandom(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextInt(v)).ToArray();
    }

    private static float[] RandomFloats(int n, ulong seed)
    {
        var r = new SeededRandom(seed);
        return Enumerable.Range(0, n).Select(_ => (float)r.NextNormal()).ToArray();
    }

    [Theory]
    [InlineData(-1, 3)]
    [InlineData(3, -1)]
    public void Constructor_RejectsNegativeSizes(int v, int d)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(v, d));
        Assert.StartsWith("[embedding.create]", ex.Message);
        Assert.Contains("must be ≥ 0", ex.Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(0f)]
    [InlineData(-2f)]
    public void Constructor_RejectsBadMaxNorm(float maxNorm)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(4, 2, new EmbeddingOptions { MaxNorm = maxNorm }));
        Assert.Contains("MaxNorm must be a finite number > 0", ex.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void Constructor_RejectsBadNormType(double p)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(4, 2, new EmbeddingOptions { MaxNorm = 1, NormType = p }));
        Assert.Contains("NormType must be > 0", ex.Message);
    }

    [Fact]
    public void Constructor_RejectsNonFiniteScaleAndUnknownDType()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(4, 2, new EmbeddingOptions { Scale = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Embedding(4, 2, new EmbeddingOptions { DType = (DType)99 }));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 3)]
    [InlineData(-1, 4)]
    [InlineData(-5, 0)]
    public void PaddingIdx_IsNormalisedAndStartsAtZero(int given, int normalised)
    {
        using var e = new Embedding(5, 3, new EmbeddingOptions { PaddingIdx = given, Seed = 3 });
        Assert.Equal(normalised, e.PaddingIdx);
        var row = new float[3];
        e.Weight.ReadRow(normalised, row);
        Assert.All(row, x => Assert.Equal(0f, x));
        // Other rows are drawn normally.
        e.Weight.ReadRow((normalised + 1) % 5, row);
        Assert.Contains(row, x => x != 0);
    }

    [Fact]
    public void Forward_AnyRank_ShapeIsIndicesPlusDims()
    {
        using var e = Arange(10, 4);
        var t = e.Forward(Tensor.Create(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2 }, [2, 3, 2]));
        Assert.Equal(new nint[] { 2, 3, 2, 4 }, t.Lengths.ToArray());
        var flat = new float[t.FlattenedLength];
        t.FlattenTo(flat);
        Assert.Equal(new float[] { 4, 5, 6, 7 }, flat[..4]);
        Assert.Equal(new float[] { 8, 9, 10, 11 }, flat[^4..]);

        var empty = e.Forward(Tensor.Create(Array.Empty<int>(), [2, 0]));
        Assert.Equal(new nint[] { 2, 0, 4 }, empty.Lengths.ToArray());
    }

    [Fact]
    public void Forward_Int64MatchesInt32()
    {
        using var e = new Embedding(50, 7, new EmbeddingOptions { Seed = 9 });
        int[] ids = RandomIds(33, 50, 1);
        var a = new float[33 * 7];
        var b = new float[33 * 7];
        e.Forward(ids, a);
        e.Forward(ids.Select(i => (long)i).ToArray(), b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Forward_BadIndex_NamesTensorPositionAndRange_AndWritesNothing()
    {
        using var e = Arange(5, 2, new EmbeddingOptions { MaxNorm = 1 });
        float[] before = e.Weight.ToArray();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => e.Forward(Tensor.Create(new[] { 0, 1, 2, 3, 9, 4 }, [2, 3])));
        Assert.Equal("[embedding.forward] indices[1, 1] = 9 is out of range; valid ids are 0..4 (numEmbeddings 5) (Parameter 'indices')\nActual value was 9.", ex.Message.Replace("\r", ""));
        Assert.Equal(before, e.Weight.ToArray());

        var exLong = Assert.Throws<ArgumentOutOfRangeException>(() => e.Forward(new long[] { 2, long.MaxValue }, new float[4]));
        Assert.Contains($"indices[1] = {long.MaxValue}", exLong.Message);
        Assert.Equal(before, e.Weight.ToArray());
    }

    [Fact]
    public void Forward_ShortDestination_Throws()
    {
        using var e = Arange(5, 2);
        var ex = Assert.Throws<ArgumentException>(() => e.Forward([1, 2], new float[3]));
        Assert.Contains("destination has 3 elements but at least 4 are needed", ex.Message);
    }

    [Fact]
    public void Scale_MultipliesOutputAndGradient()
    {
        float s = MathF.Sqrt(4);
        using var e = Arange(3, 4, new EmbeddingOptions { Scale = s });
        var o = new float[4];
        e.Forward([2], o);
        Assert.Equal(new float[] { 16, 18, 20, 22 }, o);
        var g = e.Backward([2, 2], [1, 1, 1, 1, 1, 1, 1, 1]);
        Assert.Equal(new float[] { 4, 4, 4, 4 }, g.GetRow(0).ToArray());
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(0.5)]
    [InlineData(3.0)]
    [InlineData(double.PositiveInfinity)]
    public void MaxNorm_RescalesOnlyLookedUpRowsAboveTheLimit(double p)
    {
        using var e = Arange(4, 3, new EmbeddingOptions { MaxNorm = 5, NormType = p });
        float[] before = e.Weight.ToArray();
        e.Forward([3, 0, 3], new float[9]);
        float[] after = e.Weight.ToArray();
        if (p >= 1)
            Assert.Equal(before[..3], after[..3]);       // row 0 = (0,1,2): p-norms ≤ 5 for p ≥ 1 (p = 0.5 gives 5.83)
        else
            Assert.True(Kernels.Norm(after.AsSpan(0, 3), p) <= 5.0000005);
        Assert.Equal(before[3..9], after[3..9]);         // rows 1, 2 not looked up
        double n = Kernels.Norm(after.AsSpan(9, 3), p);
        Assert.True(n <= 5.0000005, $"norm {n}");
        Assert.True(n > 4.99, $"norm {n}");
    }

    [Fact]
    public void Backward_HonoursPaddingAndFrequency()
    {
        using var e = Arange(6, 2, new EmbeddingOptions { PaddingIdx = 1, ScaleGradByFreq = true });
        int[] ids = [1, 4, 4, 0, 1, 4];
        float[] g = Enumerable.Range(1, 12).Select(i => (float)i).ToArray();
        var grad = e.Backward(ids, g);
        Assert.Equal(new[] { 0, 4 }, grad.Rows.ToArray());
        Assert.Equal(new float[] { 7, 8 }, grad.GetRow(0).ToArray());
        Assert.Equal(new float[] { (3 + 5 + 11) / 3f, (4 + 6 + 12) / 3f }, grad.GetRow(1).ToArray());
    }

    [Theory]
    [InlineData(0, 5, 3)]
    [InlineData(1, 1, 1)]
    [InlineData(57, 13, 7)]
    [InlineData(300, 40, 33)]
    public void Backward_SparseEqualsDense_AndIsDeterministic(int n, int v, int d)
    {
        using var e = new Embedding(v, d, new EmbeddingOptions { PaddingIdx = v > 2 ? 2 : null, ScaleGradByFreq = n % 2 == 1, Seed = 5 });
        int[] ids = RandomIds(n, v, 77);
        float[] g = RandomFloats(n * d, 78);
        var sparse = e.Backward(ids, g);
        var dense = new float[v * d];
        e.BackwardDense(ids, g, dense);
        Assert.Equal(dense, sparse.ToDense());
        Assert.Equal(sparse.Values.ToArray(), e.Backward(ids, g).Values.ToArray());
        Assert.True(sparse.Rows.ToArray().SequenceEqual(sparse.Rows.ToArray().Distinct().Order()));
    }

    [Fact]
    public void Backward_ShapeMismatch_NamesBothShapes()
    {
        using var e = Arange(5, 3);
        var ex = Assert.Throws<ArgumentException>(() => e.Backward([1, 2], new float[5]));
        Assert.Contains("gradOutput has 5 elements but 6 are needed", ex.Message);
        var ext = Assert.Throws<ArgumentException>(() => e.Backward(
            Tensor.Create(new[] { 1, 2 }, [2]).AsReadOnlyTensorSpan(), Tensor.Create(new float[6], [3, 2]).AsReadOnlyTensorSpan()));
        Assert.Contains("gradOutput has shape [3, 2] but must be [2, 3]", ext.Message);
        Assert.Throws<ArgumentException>(() => e.BackwardDense([1], new float[3], new float[14]));
    }

    [Fact]
    public void Backward_TensorFormMatchesSpanForm()
    {
        using var e = new Embedding(9, 4, new EmbeddingOptions { Seed = 2 });
        int[] ids = [1, 8, 1, 3, 0, 8];
        float[] g = RandomFloats(24, 3);
        var a = e.Backward(ids, g);
        var b = e.Backward(Tensor.Create(ids, [2, 3]).AsReadOnlyTensorSpan(), Tensor.Create(g, [2, 3, 4]).AsReadOnlyTensorSpan());
        Assert.Equal(a.Rows.ToArray(), b.Rows.ToArray());
        Assert.Equal(a.Values.ToArray(), b.Values.ToArray());
    }

    [Fact]
    public void Frozen_RefusesBackward_UntilUnfrozen()
    {
        using var e = Embedding.FromPretrained(new float[6], 3, 2);
        Assert.True(e.Frozen);
        var ex = Assert.Throws<InvalidOperationException>(() => e.Backward([0], [1, 1]));
        Assert.Contains("Unfreeze()", ex.Message);
        e.Unfreeze();
        Assert.Equal(1, e.Backward([0], [1, 1]).Count);
        e.Freeze();
        Assert.Throws<InvalidOperationException>(() => e.BackwardDense([0], [1, 1], new float[6]));
    }

    [Fact]
    public void SemiFrozenRows_GetNoGradient_OthersTrain()
    {
        using var e = new Embedding(6, 2, new EmbeddingOptions { Seed = 1 });
        e.FreezeRows([0, 1, 2, 2]);
        Assert.Equal(3, e.FrozenRowCount);
        Assert.True(e.IsRowFrozen(1));
        int[] ids = [0, 3, 1, 5, 3];
        float[] g = Enumerable.Repeat(1f, 10).ToArray();
        var grad = e.Backward(ids, g);
        Assert.Equal(new[] { 3, 5 }, grad.Rows.ToArray());
        var dense = new float[12];
        e.BackwardDense(ids, g, dense);
        Assert.Equal(grad.ToDense(), dense);

        e.UnfreezeRows([1]);
        Assert.Equal(new[] { 1, 3, 5 }, e.Backward(ids, g).Rows.ToArray());
        Assert.Equal(2, e.FrozenRowCount);
    }

    [Fact]
    public void FreezeRows_ValidatesAllBeforeMarkingAny()
    {
        using var e = new Embedding(4, 2);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => e.FreezeRows([1, 2, 7]));
        Assert.Contains("rows[2] = 7", ex.Message);
        Assert.Equal(0, e.FrozenRowCount);
        Assert.False(e.IsRowFrozen(1));
    }

    [Fact]
    public void FromPretrained_CopiesTheCallersData()
    {
        float[] w = [1, 2, 3, 4];
        using var e = Embedding.FromPretrained(w, 2, 2, freeze: false, new EmbeddingOptions { MaxNorm = 1 });
        e.Forward([1], new float[2]);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, w);
        Assert.NotEqual(w, e.Weight.ToArray());
        Assert.Throws<ArgumentException>(() => Embedding.FromPretrained(w, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.FromPretrained(w, 2, 2, options: new EmbeddingOptions { PaddingIdx = 2 }));
    }

    [Fact]
    public void FromPretrained_Table_ConvertsDTypeWhenAsked()
    {
        using var t = new EmbeddingTable(2, 3, DType.Float32);
        t.CopyFrom([1.00390625f, 2, 3, 4, 5, 6]);
        using var e = Embedding.FromPretrained(t, options: new EmbeddingOptions { DType = DType.BFloat16 });
        Assert.Equal(DType.BFloat16, e.Weight.DType);
        Assert.Equal(1f, e.Weight.ToArray()[0]); // rounded to even on write
        using var same = Embedding.FromPretrained(t);
        Assert.Equal(DType.Float32, same.Weight.DType);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    public void AsLinear_MatchesReference(DType dtype)
    {
        foreach (var (v, d, batch) in new[] { (1, 1, 1), (7, 3, 2), (65, 17, 5), (130, 33, 1), (2000, 40, 13), (0, 3, 2), (4, 5, 0) })
        {
            using var e = new Embedding(v, d, new EmbeddingOptions { Seed = 11, DType = dtype });
            float[] x = RandomFloats(batch * d, 12);
            var fast = new float[batch * v];
            var slow = new float[batch * v];
            e.AsLinear(x, fast);
            Linear.ProjectReference(e.Weight, x, batch, slow);
            for (int i = 0; i < fast.Length; i++)
                Assert.True(Math.Abs(fast[i] - slow[i]) <= 1e-4f * (1 + Math.Abs(slow[i])), $"{v}×{d} batch {batch} [{i}]: {fast[i]} vs {slow[i]}");
        }
    }

    [Fact]
    public void AsLinear_Tensor_KeepsLeadingShape_AndValidates()
    {
        using var e = Arange(3, 2);
        var y = e.AsLinear(Tensor.Create(new float[] { 1, 0, 0, 1, 1, 1, 2, 2 }, [2, 2, 2]).AsReadOnlyTensorSpan());
        Assert.Equal(new nint[] { 2, 2, 3 }, y.Lengths.ToArray());
        var flat = new float[12];
        y.FlattenTo(flat);
        Assert.Equal(new float[] { 0, 2, 4, 1, 3, 5, 1, 5, 9, 2, 10, 18 }, flat);
        Assert.Throws<ArgumentException>(() => e.AsLinear(Tensor.Create(new float[3], [3]).AsReadOnlyTensorSpan()));
        Assert.Throws<ArgumentException>(() => e.AsLinear(new float[3], new float[3]));
        Assert.Throws<ArgumentException>(() => e.AsLinear(new float[4], new float[5]));
    }

    [Fact]
    public void ReducedPrecisionStorage_ForwardReturnsRoundedWeights()
    {
        float[] w = RandomFloats(40, 21);
        using var bf = Embedding.FromPretrained(w, 10, 4, options: new EmbeddingOptions { DType = DType.BFloat16 });
        using var h = Embedding.FromPretrained(w, 10, 4, options: new EmbeddingOptions { DType = DType.Float16 });
        var ob = new float[40];
        var oh = new float[40];
        int[] all = Enumerable.Range(0, 10).ToArray();
        bf.Forward(all, ob);
        h.Forward(all, oh);
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal((float)(BFloat16)w[i], ob[i]);
            Assert.Equal((float)(Half)w[i], oh[i]);
        }
    }

    [Fact]
    public void Dispose_FreesTheTable()
    {
        var e = new Embedding(3, 2);
        e.Dispose();
        Assert.True(e.Weight.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => e.Forward([0], new float[2]));
    }
}
