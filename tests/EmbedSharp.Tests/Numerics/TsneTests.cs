using EmbedSharp.Numerics;

namespace EmbedSharp.Tests.Numerics;

public sealed class TsneTests
{
    private static float[] Blobs(int perCluster, int clusters, int dims, ulong seed, out int[] labels)
    {
        var r = new SeededRandom(seed);
        int n = perCluster * clusters;
        var data = new float[n * dims];
        labels = new int[n];
        var centres = new double[clusters * dims];
        for (int i = 0; i < centres.Length; i++)
            centres[i] = 10 * r.NextNormal();
        for (int i = 0; i < n; i++)
        {
            int c = i % clusters;
            labels[i] = c;
            for (int d = 0; d < dims; d++)
                data[i * dims + d] = (float)(centres[c * dims + d] + r.NextNormal());
        }
        return data;
    }

    private static double[] RandomLayout(int n, ulong seed)
    {
        var r = new SeededRandom(seed);
        var y = new double[2 * n];
        for (int i = 0; i < y.Length; i++)
            y[i] = 3 * r.NextNormal();
        return y;
    }

    /// <summary>Fraction of points whose nearest other point in the layout has the same label.</summary>
    private static double NearestLabelAgreement(float[] layout, int[] labels)
    {
        int agree = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int best = -1;
            double bestD = double.PositiveInfinity;
            for (int j = 0; j < labels.Length; j++)
            {
                if (j == i)
                    continue;
                double dx = layout[2 * i] - layout[2 * j], dy = layout[2 * i + 1] - layout[2 * j + 1];
                if (dx * dx + dy * dy < bestD)
                {
                    bestD = dx * dx + dy * dy;
                    best = j;
                }
            }
            agree += labels[best] == labels[i] ? 1 : 0;
        }
        return (double)agree / labels.Length;
    }

    [Fact]
    public void ExactGradient_MatchesFiniteDifferencesOfTheKlCost()
    {
        const int n = 11;
        var data = Blobs(4, 3, 5, 1, out _)[..(n * 5)];
        var p = TsneAffinities.Dense(data, n, 5, 3);
        var exact = new TsneGradient.Exact(p, n);
        var y = RandomLayout(n, 2);
        var grad = new double[2 * n];
        exact.Compute(y, 1, grad);
        const double h = 1e-6;
        for (int i = 0; i < y.Length; i++)
        {
            double keep = y[i];
            y[i] = keep + h;
            double up = exact.Cost(y);
            y[i] = keep - h;
            double down = exact.Cost(y);
            y[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - grad[i]) <= 1e-6 + 1e-5 * Math.Abs(numeric), $"coordinate {i}: analytic {grad[i]}, numeric {numeric}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(40)]
    public void SparseAffinities_OverAllPairs_EqualTheDenseReference(int n)
    {
        const int dims = 9;
        var data = Blobs(n, 1, dims, (ulong)n, out _);
        // Perplexity ≥ (n − 1) / 3 makes k = n − 1: every pair, as the dense reference.
        double perplexity = Kernels.EffectivePerplexity(1000, n);
        var sparse = TsneAffinities.Sparse(data, n, dims, perplexity, 2);
        var dense = TsneAffinities.Dense(data, n, dims, perplexity);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(n - 1, sparse.Offsets[i + 1] - sparse.Offsets[i]);
            for (int t = sparse.Offsets[i]; t < sparse.Offsets[i + 1]; t++)
            {
                int j = sparse.Columns[t];
                Assert.NotEqual(i, j);
                Assert.Equal(dense[i * n + j], sparse.Values[t], 1e-6);
                total += sparse.Values[t];
            }
        }
        Assert.Equal(1.0, total, 1e-9);
    }

    [Fact]
    public void ConditionalProbabilities_HaveTheRequestedPerplexity()
    {
        var r = new SeededRandom(3);
        var d = new double[50];
        for (int i = 0; i < d.Length; i++)
            d[i] = 20 * r.NextDouble();
        var p = new double[d.Length];
        TsneAffinities.Conditional(d, 10, p);
        double entropy = -p.Where(x => x > 0).Sum(x => x * Math.Log(x));
        Assert.Equal(Math.Log(10), entropy, 1e-4);
        Assert.Equal(1.0, p.Sum(), 1e-12);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(12.0)]
    public void BarnesHut_AtThetaZero_EqualsTheExactGradient(double exaggeration)
    {
        const int n = 33, dims = 6;
        var data = Blobs(11, 3, dims, 4, out _);
        var sparse = TsneAffinities.Sparse(data, n, dims, 3, 2);
        var dense = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int t = sparse.Offsets[i]; t < sparse.Offsets[i + 1]; t++)
                dense[i * n + sparse.Columns[t]] = sparse.Values[t];
        // Two points on top of each other exercise a leaf holding several points.
        var y = RandomLayout(n, 5);
        y[2] = y[0];
        y[3] = y[1];
        var expected = new double[2 * n];
        var actual = new double[2 * n];
        new TsneGradient.Exact(dense, n).Compute(y, exaggeration, expected);
        new TsneGradient.BarnesHut(sparse, n, 0, 2) { Packets = false }.Compute(y, exaggeration, actual);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], actual[i], 1e-12);

        // θ = 0.5 approximates it: small error relative to the gradient's size.
        var approx = new double[2 * n];
        new TsneGradient.BarnesHut(sparse, n, 0.5, 2).Compute(y, exaggeration, approx);
        double err = 0, size = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            err += (approx[i] - expected[i]) * (approx[i] - expected[i]);
            size += expected[i] * expected[i];
        }
        Assert.True(Math.Sqrt(err / size) < 0.05, $"relative error {Math.Sqrt(err / size)}");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(12.0)]
    public void PacketRepulsion_MatchesTheExactGradientAtThetaZero_AndIsAsCloseAsOnePointAtATimeAtThetaHalf(double exaggeration)
    {
        // 257 points (not a whole number of packets), two of them on top of each other.
        const int n = 257, dims = 5;
        var data = Blobs(257, 1, dims, 8, out _);
        var sparse = TsneAffinities.Sparse(data, n, dims, 10, 2);
        var dense = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int t = sparse.Offsets[i]; t < sparse.Offsets[i + 1]; t++)
                dense[i * n + sparse.Columns[t]] = sparse.Values[t];
        var y = RandomLayout(n, 9);
        y[20] = y[10];
        y[21] = y[11];
        var exact = new double[2 * n];
        new TsneGradient.Exact(dense, n).Compute(y, exaggeration, exact);
        double RelativeError(double theta, bool packets)
        {
            var g = new double[2 * n];
            new TsneGradient.BarnesHut(sparse, n, theta, 2) { Packets = packets }.Compute(y, exaggeration, g);
            double err = 0, size = 0;
            for (int i = 0; i < g.Length; i++)
            {
                err += (g[i] - exact[i]) * (g[i] - exact[i]);
                size += exact[i] * exact[i];
            }
            return Math.Sqrt(err / size);
        }
        // Packets sum in single precision.
        Assert.True(RelativeError(0, packets: true) < 1e-5, $"packets at θ = 0: {RelativeError(0, packets: true)}");
        Assert.True(RelativeError(0, packets: false) < 1e-12);
        double single = RelativeError(0.5, packets: false), packet = RelativeError(0.5, packets: true);
        Assert.True(single > 1e-6, "θ = 0.5 should approximate");
        Assert.True(packet < 0.05, $"packet relative error {packet}");
        Assert.True(packet <= single * 1.5, $"packets {packet} against one point at a time {single}");
    }

    [Fact]
    public void FastLayout_HasAKlCostCloseToTheExactReferencesLayout()
    {
        // Both layouts scored by the exact cost KL(P ‖ Q) over the dense affinities of the reference.
        const int dims = 12;
        var data = Blobs(30, 5, dims, 12, out var labels);
        int n = labels.Length;
        var options = new TsneOptions { Perplexity = 15 };
        var fast = new float[2 * n];
        var reference = new float[2 * n];
        Kernels.Tsne(data, n, dims, fast, options);
        Kernels.TsneReference(data, n, dims, reference, options);
        var cost = new TsneGradient.Exact(TsneAffinities.Dense(data, n, dims, 15), n);
        double klFast = cost.Cost(Array.ConvertAll(fast, v => (double)v));
        double klReference = cost.Cost(Array.ConvertAll(reference, v => (double)v));
        var random = RandomLayout(n, 3);
        double klRandom = cost.Cost(random);
        Assert.True(klFast < klReference * 1.15 + 0.02, $"KL fast {klFast:F4}, exact reference {klReference:F4}");
        Assert.True(klFast < klRandom / 2, $"KL fast {klFast:F4}, random layout {klRandom:F4}");
    }

    [Fact]
    public void SeparatesPlantedClusters_AsTheExactReferenceDoes()
    {
        const int dims = 20;
        var data = Blobs(40, 4, dims, 6, out var labels);
        int n = labels.Length;
        var options = new TsneOptions { Iterations = 400, ExaggerationIterations = 100, Perplexity = 10 };
        var fast = new float[2 * n];
        var reference = new float[2 * n];
        Kernels.Tsne(data, n, dims, fast, options);
        Kernels.TsneReference(data, n, dims, reference, options);
        Assert.Equal(1.0, NearestLabelAgreement(fast, labels));
        Assert.Equal(1.0, NearestLabelAgreement(reference, labels));
        Assert.All(fast, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void IsDeterministic_WhateverTheThreadCount_AndReportsProgress()
    {
        const int dims = 8;
        var data = Blobs(50, 3, dims, 7, out var labels);
        int n = labels.Length;
        var reports = new List<TsneProgress>();
        var one = new float[2 * n];
        var two = new float[2 * n];
        var again = new float[2 * n];
        Kernels.Tsne(data, n, dims, one, new TsneOptions { Iterations = 100, ExaggerationIterations = 50, Threads = 1, Progress = new Collect(reports) });
        Kernels.Tsne(data, n, dims, two, new TsneOptions { Iterations = 100, ExaggerationIterations = 50, Threads = 2 });
        Kernels.Tsne(data, n, dims, again, new TsneOptions { Iterations = 100, ExaggerationIterations = 50, Threads = 2 });
        Assert.Equal(one, two);
        Assert.Equal(two, again);
        Assert.Equal([25, 50, 75, 100], reports.Select(r => r.Iteration));
        Assert.All(reports, r => Assert.Equal(100, r.Iterations));
        var other = new float[2 * n];
        Kernels.Tsne(data, n, dims, other, new TsneOptions { Iterations = 100, ExaggerationIterations = 50, Seed = 99 });
        Assert.NotEqual(one, other);
    }

    private sealed class Collect(List<TsneProgress> into) : IProgress<TsneProgress>
    {
        public void Report(TsneProgress value) => into.Add(value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void TinyInputs_GiveFiniteLayouts(int n)
    {
        const int dims = 3;
        var data = Blobs(Math.Max(n, 1), 1, dims, 8, out _)[..(n * dims)];
        var fast = new float[2 * n + 1];
        fast[^1] = 123; // past the output: untouched
        Kernels.Tsne(data, n, dims, fast, new TsneOptions { Iterations = 60, ExaggerationIterations = 20 });
        Assert.All(fast, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(123, fast[^1]);
        var reference = new float[2 * n];
        Kernels.TsneReference(data, n, dims, reference, new TsneOptions { Iterations = 60, ExaggerationIterations = 20 });
        Assert.All(reference, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RepeatedRows_StayFinite()
    {
        var data = new float[30 * 4]; // thirty identical rows
        var y = new float[60];
        Kernels.Tsne(data, 30, 4, y, new TsneOptions { Iterations = 50, ExaggerationIterations = 10 });
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void BadInput_IsRefusedWithTheOpName()
    {
        var data = new float[] { 1, 2, float.NaN, 4, 5, 6 };
        var y = new float[6];
        var ex = Assert.Throws<ArgumentException>(() => Kernels.Tsne(data, 3, 2, y));
        Assert.StartsWith("[tsne] row 1", ex.Message);
        Assert.Throws<ArgumentException>(() => Kernels.Tsne(new float[5], 3, 2, y));
        Assert.Throws<ArgumentException>(() => Kernels.Tsne(new float[6], 3, 2, new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.Tsne(new float[6], 3, 2, y, new TsneOptions { Theta = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.Tsne(new float[6], 3, 2, y, new TsneOptions { Perplexity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.Tsne(new float[6], 3, 2, y, new TsneOptions { Iterations = 10, ExaggerationIterations = 11 }));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Kernels.Tsne(new float[6], 3, 2, y, new TsneOptions { CancellationToken = cancelled.Token }));
    }
}
