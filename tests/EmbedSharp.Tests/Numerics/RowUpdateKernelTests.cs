using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Tests.Numerics;

/// <summary>
/// The SIMD row updates of the optimizer rules against the same rule applied one element at a time
/// (a one-element row takes the scalar loop), bit for bit, over every length 0..256; and the
/// non-finite scan against its reference. ci reruns these with SIMD off.
/// </summary>
public sealed class RowUpdateKernelTests
{
    [Fact]
    public void Sgd_Adagrad_Adam_LazyAdam_VectorRowsEqualScalarElements()
    {
        var rng = new SeededRandom(21);
        for (int dims = 0; dims <= 256; dims++)
        {
            Check(new Sgd(0.1), dims, rng, 1);
            Check(new Sgd(0.1, momentum: 0.9, weightDecay: 0.01), dims, rng, 3);
            Check(new Sgd(0.1, momentum: 0.9, nesterov: true), dims, rng, 1);
            Check(new Adagrad(0.05, weightDecay: 0.02, initialAccumulatorValue: 0.1), dims, rng, 2);
            Check(new LazyAdam(1e-2), dims, rng, 4);
            Check(new Adam(1e-2, weightDecay: 0.01), dims, rng, 2);
            Check(new AdamW(1e-2), dims, rng, 5);
        }
    }

    /// <summary>Runs <paramref name="steps"/> steps on a whole row and on each element alone; all results must be identical.</summary>
    private static void Check<TRule>(TRule rule, int dims, SeededRandom rng, int steps) where TRule : struct, ISparseUpdateRule
    {
        int width = rule.StateWidth(dims);
        int perElement = dims == 0 ? 0 : width / dims; // state is [part0(dims), part1(dims), ...]
        float[] w = Floats(rng, dims), wScalar = (float[])w.Clone();
        float[] state = new float[width];
        rule.InitializeState(state);
        float[] stateScalar = (float[])state.Clone();
        for (int t = 1; t <= steps; t++)
        {
            float[] g = Floats(rng, dims);
            StepScalars s = rule.Prepare(t, 1);
            rule.UpdateRow(w, g, state, s);
            var one = new float[perElement];
            for (int i = 0; i < dims; i++)
            {
                for (int part = 0; part < perElement; part++)
                    one[part] = stateScalar[part * dims + i];
                rule.UpdateRow(wScalar.AsSpan(i, 1), g.AsSpan(i, 1), one, s);
                for (int part = 0; part < perElement; part++)
                    stateScalar[part * dims + i] = one[part];
            }
        }
        Assert.Equal(wScalar, w);
        Assert.Equal(stateScalar, state);
    }

    [Fact]
    public void FirstNonFinite_MatchesReference_ForEveryLengthAndPosition()
    {
        for (int n = 0; n <= 256; n++)
        {
            var x = new float[n];
            for (int i = 0; i < n; i++)
                x[i] = i * 0.5f - 3f;
            Assert.Equal(-1, Kernels.FirstNonFinite(x));
            if (n == 0)
                continue;
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                int at = (n * 7 + 3) % n;
                x[at] = bad;
                if (at + 1 < n)
                    x[n - 1] = float.NaN; // a later non-finite value must not win
                Assert.Equal(Kernels.FirstNonFiniteReference(x), Kernels.FirstNonFinite(x));
                Assert.Equal(at, Kernels.FirstNonFinite(x));
                x[at] = 0f;
                x[n - 1] = 0f;
            }
        }
    }

    [Fact]
    public void MaxAbsIfFiniteMatchesItsReferenceAtEveryLength()
    {
        var rng = new SeededRandom(12);
        // Every length to 256, and long spans, read with prefetching ahead, up to the last element.
        foreach (int n in Enumerable.Range(0, 257).Concat([2047, 2048, 2049, 2064, 5001, 70_000]))
        {
            float[] x = Floats(rng, n);
            if (n > 0)
                x[(n * 5 + 1) % n] = -7.5f; // the largest magnitude, negative
            float expected = n == 0 ? 0f : 7.5f;
            Assert.Equal(Kernels.MaxAbsIfFiniteReference(x), Kernels.MaxAbsIfFinite(x));
            Assert.Equal(expected, Kernels.MaxAbsIfFinite(x));
            if (n == 0)
                continue;
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            foreach (int at in new[] { (n * 7 + 3) % n, n - 1 })
            {
                float keep = x[at];
                x[at] = bad;
                Assert.Equal(float.PositiveInfinity, Kernels.MaxAbsIfFiniteReference(x));
                Assert.Equal(float.PositiveInfinity, Kernels.MaxAbsIfFinite(x));
                x[at] = keep;
            }
        }
    }

    [Fact]
    public void MaxAbsIfFiniteHandlesSignedZerosAndExtremesAsItsReference()
    {
        // Awkward lengths around the vector loops; the kernel's max is the plain one (no IEEE maximum), so
        // signed zeros, subnormals and the largest finite values must still come out as in the reference.
        foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 33, 67 })
        {
            var x = new float[n];
            Array.Fill(x, -0f);
            Assert.Equal(0f, Kernels.MaxAbsIfFinite(x));
            Assert.False(float.IsNegative(Kernels.MaxAbsIfFinite(x)));
            x[n / 2] = -float.Epsilon;
            Assert.Equal(float.Epsilon, Kernels.MaxAbsIfFinite(x));
            x[n - 1] = -float.MaxValue;
            x[0] = float.MaxValue;
            Assert.Equal(Kernels.MaxAbsIfFiniteReference(x), Kernels.MaxAbsIfFinite(x));
            Assert.Equal(float.MaxValue, Kernels.MaxAbsIfFinite(x));
        }
    }

    private static float[] Floats(SeededRandom rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)rng.NextNormal();
        return x;
    }
}
