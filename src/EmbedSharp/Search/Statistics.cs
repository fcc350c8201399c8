namespace EmbedSharp.Search;

/// <summary>Correlation coefficients with two-sided p-values, as SciPy's <c>pearsonr</c> and <c>spearmanr</c> report them.</summary>
public static class Statistics
{
    /// <summary>Pearson's r and its two-sided p-value (Student's t with n − 2 degrees of freedom).</summary>
    /// <remarks>NaN when fewer than 2 points or either side is constant; p is 1 for n = 2.</remarks>
    public static (double R, double PValue) Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException(Diagnostics.ThrowHelper.Format("stats.pearson", $"x has {x.Length} values but y has {y.Length}"), nameof(y));
        int n = x.Length;
        if (n < 2)
            return (double.NaN, double.NaN);
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++)
        {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0)
            return (double.NaN, double.NaN);
        double r = sxy / (Math.Sqrt(sxx) * Math.Sqrt(syy));
        r = Math.Clamp(r, -1.0, 1.0);
        return (r, TwoSidedP(r, n));
    }

    /// <summary>Spearman's ρ (Pearson's r of the average ranks, ties sharing their mean rank) and its p-value (NaN for n ≤ 2).</summary>
    public static (double Rho, double PValue) Spearman(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException(Diagnostics.ThrowHelper.Format("stats.spearman", $"x has {x.Length} values but y has {y.Length}"), nameof(y));
        var (rho, _) = Pearson(Ranks(x), Ranks(y));
        // With two points the t statistic has no degrees of freedom: SciPy reports NaN.
        return (rho, double.IsNaN(rho) || x.Length <= 2 ? double.NaN : TwoSidedP(rho, x.Length));
    }

    /// <summary>1-based ranks; tied values share the mean of their ranks (SciPy's <c>rankdata(method='average')</c>).</summary>
    public static double[] Ranks(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++)
            order[i] = i;
        var copy = values.ToArray();
        Array.Sort(order, (a, b) => copy[a].CompareTo(copy[b]) is var c && c != 0 ? c : a.CompareTo(b));
        var ranks = new double[n];
        int start = 0;
        while (start < n)
        {
            int end = start;
            while (end + 1 < n && copy[order[end + 1]].Equals(copy[order[start]]))
                end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++)
                ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>P(|T| ≥ |t|) for a correlation r over n points: <c>I_{df/(df+t²)}(df/2, 1/2)</c>, df = n − 2.</summary>
    internal static double TwoSidedP(double r, int n)
    {
        if (n == 2)
            return 1.0;
        double df = n - 2;
        double oneMinus = (1 - r) * (1 + r);
        if (oneMinus <= 0)
            return 0.0;
        double t2 = r * r * df / oneMinus;
        return RegularizedIncompleteBeta(df / 2, 0.5, df / (df + t2));
    }

    /// <summary>I_x(a, b), by the continued fraction (modified Lentz), using the symmetry for x past the mean.</summary>
    internal static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0)
            return 0;
        if (x >= 1)
            return 1;
        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x < (a + 1) / (a + b + 2))
            return Math.Exp(lnFront) * BetaFraction(a, b, x) / a;
        return 1 - Math.Exp(lnFront) * BetaFraction(b, a, 1 - x) / b;
    }

    private static double BetaFraction(double a, double b, double x)
    {
        const double Tiny = 1e-300, Eps = 1e-15;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < Tiny)
            d = Tiny;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 10000; m++)
        {
            int m2 = 2 * m;
            double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + num * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + num / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            h *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + num * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + num / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Eps)
                break;
        }
        return h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7,
        ];
        if (x < 0.5)
            return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++)
            sum += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
