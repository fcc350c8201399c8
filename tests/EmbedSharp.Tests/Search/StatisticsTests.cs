using EmbedSharp.Search;

namespace EmbedSharp.Tests.Search;

/// <summary>Reference values from SciPy 1.10 (<c>pearsonr</c>, <c>spearmanr</c>, <c>rankdata</c>).</summary>
public sealed class StatisticsTests
{
    private static void Close(double expected, double actual, double rel = 1e-9) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1e-300, Math.Abs(expected)) + 1e-15, $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Pearson_and_spearman_match_scipy()
    {
        double[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        double[] y = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2, 13.8, 16.1, 18.3, 19.9];
        var (r, p) = Statistics.Pearson(x, y);
        Close(0.9995731777706598, r);
        Close(1.4512549681192734e-13, p, 1e-6);
        double[] a = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
        double[] b = [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4];
        (r, p) = Statistics.Pearson(a, b);
        Close(0.09422924859889797, r);
        Close(0.782872102218333, p, 1e-9);
        var (rho, sp) = Statistics.Spearman(a, b);
        Close(0.1384567651467695, rho);
        Close(0.6847503048108998, sp, 1e-9);
        Assert.Equal([4.5, 1.5, 6, 1.5, 8, 11, 3, 10, 8, 4.5, 8], Statistics.Ranks(a));
    }

    [Fact]
    public void Degenerate_inputs_give_NaN_like_scipy()
    {
        Assert.True(double.IsNaN(Statistics.Pearson([1.0], [2.0]).R));
        Assert.True(double.IsNaN(Statistics.Pearson([1.0, 1, 1], [1.0, 2, 3]).R));
        var (r2, p2) = Statistics.Pearson([1.0, 2], [3.0, 5]);
        Assert.Equal(1.0, r2, 12);
        Assert.Equal(1.0, p2);
        Assert.True(double.IsNaN(Statistics.Spearman([1.0, 2], [3.0, 5]).PValue));
        Assert.Throws<ArgumentException>(() => Statistics.Pearson([1.0], [1.0, 2]));
    }
}
