using EmbedSharp.Numerics;

namespace EmbedSharp.Search;

/// <summary>
/// An 8-bit per-dimension copy of an index's rows (unit rows for Cosine), with the largest error of
/// each dimension: the pre-filter of <see cref="ExactIndex.PrefilterCandidates"/>.
/// </summary>
/// <remarks>
/// <para>Dimension <c>i</c> is quantized affinely over its own range: <c>x̂ = Min[i] + Step[i] · c</c>,
/// <c>c = round((x − Min[i]) / Step[i])</c> in 0…255, and <c>Error[i]</c> is the largest
/// <c>|x − x̂|</c> over all rows, measured in double while the codes are made (at most <c>Step[i]/2</c>).</para>
/// <para>Layout: rows in tiles of 16, dimensions in groups of 4 (the last group zero-padded). A tile's
/// group is 64 bytes: rows 0–7 then rows 8–15, each row's four codes together, so one 32-byte load holds
/// eight rows' codes for four dimensions — the operand order of the integer dot-product instruction
/// (<see cref="Int8Kernels.ScoreTile"/>). Rows past the end of the table are zero codes.</para>
/// </remarks>
internal sealed class Int8Shadow
{
    private Int8Shadow(int count, int dims)
    {
        Count = count;
        Dims = dims;
        Groups = (dims + 3) / 4;
        Tiles = (count + Int8Kernels.TileRows - 1) / Int8Kernels.TileRows;
        Codes = GC.AllocateUninitializedArray<byte>(checked(Tiles * Groups * Int8Kernels.TileBytesPerGroup), pinned: true);
        Codes.AsSpan().Clear();
        Min = new double[dims];
        Step = new double[dims];
        Error = new double[dims];
        CodeMean = new double[dims];
    }

    /// <summary>Rows covered.</summary>
    public int Count { get; }

    public int Dims { get; }

    /// <summary>Groups of four dimensions per row (the last zero-padded).</summary>
    public int Groups { get; }

    /// <summary>Tiles of 16 rows.</summary>
    public int Tiles { get; }

    /// <summary>The codes in the tiled layout of the class remarks.</summary>
    public byte[] Codes { get; }

    public double[] Min { get; }

    public double[] Step { get; }

    /// <summary>Largest <c>|x − x̂|</c> of each dimension over every row.</summary>
    public double[] Error { get; }

    /// <summary>The mean code of each dimension over every row.</summary>
    public double[] CodeMean { get; }

    /// <summary>Largest <c>‖x − x̂‖₂</c> of a row (its quantization residual) over every row.</summary>
    public double MaxResidual { get; private set; }

    /// <summary>Largest <c>‖c − CodeMean‖₂</c> of a row's codes over every row.</summary>
    public double MaxCodeDeviation { get; private set; }

    /// <summary>Where the code of (row, dimension) lives in <see cref="Codes"/>.</summary>
    public int Offset(int row, int d) =>
        ((row / Int8Kernels.TileRows) * Groups + d / 4) * Int8Kernels.TileBytesPerGroup + (row % Int8Kernels.TileRows) * 4 + d % 4;

    /// <summary>
    /// Quantizes <paramref name="count"/> rows read by <paramref name="readRow"/>, each scaled to unit length
    /// first when <paramref name="unit"/> (a zero row stays zero).
    /// </summary>
    public static Int8Shadow Build(int count, int dims, Action<int, Span<float>> readRow, bool unit, int threads)
    {
        var shadow = new Int8Shadow(count, dims);
        var lo = shadow.Min;
        var hi = new double[dims];
        Array.Fill(lo, double.PositiveInfinity);
        Array.Fill(hi, double.NegativeInfinity);
        var gate = new object();
        const int grain = 2048;
        ParallelWork.For(count, grain, threads,
            () => (Row: new float[dims], X: new double[dims], Lo: Filled(dims, double.PositiveInfinity), Hi: Filled(dims, double.NegativeInfinity)),
            (s, start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    Read(readRow, r, s.Row, s.X, unit);
                    for (int d = 0; d < dims; d++)
                    {
                        s.Lo[d] = Math.Min(s.Lo[d], s.X[d]);
                        s.Hi[d] = Math.Max(s.Hi[d], s.X[d]);
                    }
                }
            },
            s =>
            {
                lock (gate)
                {
                    for (int d = 0; d < dims; d++)
                    {
                        lo[d] = Math.Min(lo[d], s.Lo[d]);
                        hi[d] = Math.Max(hi[d], s.Hi[d]);
                    }
                }
            });
        for (int d = 0; d < dims; d++)
        {
            if (count == 0)
                lo[d] = hi[d] = 0;
            shadow.Step[d] = hi[d] > lo[d] ? (hi[d] - lo[d]) / 255 : 0;
        }
        var codes = shadow.Codes;
        var err = shadow.Error;
        var codeSums = new long[dims];
        double maxResidual2 = 0;
        ParallelWork.For(count, grain, threads,
            () => (Row: new float[dims], X: new double[dims], Err: new double[dims], Sums: new long[dims], Residual2: new double[1]),
            (s, start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    Read(readRow, r, s.Row, s.X, unit);
                    double residual2 = 0;
                    for (int d = 0; d < dims; d++)
                    {
                        double step = shadow.Step[d];
                        int c = step > 0 ? (int)Math.Clamp(Math.Round((s.X[d] - lo[d]) / step), 0, 255) : 0;
                        codes[shadow.Offset(r, d)] = (byte)c;
                        double diff = Math.Abs(s.X[d] - (lo[d] + step * c));
                        s.Err[d] = Math.Max(s.Err[d], diff);
                        s.Sums[d] += c;
                        residual2 += diff * diff;
                    }
                    s.Residual2[0] = Math.Max(s.Residual2[0], residual2);
                }
            },
            s =>
            {
                lock (gate)
                {
                    for (int d = 0; d < dims; d++)
                    {
                        err[d] = Math.Max(err[d], s.Err[d]);
                        codeSums[d] += s.Sums[d];
                    }
                    maxResidual2 = Math.Max(maxResidual2, s.Residual2[0]);
                }
            });
        var mean = shadow.CodeMean;
        for (int d = 0; d < dims; d++)
            mean[d] = count > 0 ? (double)codeSums[d] / count : 0;
        double maxDeviation2 = 0;
        ParallelWork.For(count, grain, threads,
            () => new double[1],
            (s, start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    double deviation2 = 0;
                    for (int d = 0; d < dims; d++)
                    {
                        double v = codes[shadow.Offset(r, d)] - mean[d];
                        deviation2 += v * v;
                    }
                    s[0] = Math.Max(s[0], deviation2);
                }
            },
            s =>
            {
                lock (gate)
                    maxDeviation2 = Math.Max(maxDeviation2, s[0]);
            });
        shadow.MaxResidual = Math.Sqrt(maxResidual2);
        shadow.MaxCodeDeviation = Math.Sqrt(maxDeviation2);
        return shadow;
    }

    private static double[] Filled(int n, double value)
    {
        var a = new double[n];
        Array.Fill(a, value);
        return a;
    }

    private static void Read(Action<int, Span<float>> readRow, int r, float[] row, double[] x, bool unit)
    {
        readRow(r, row);
        double scale = 1;
        if (unit)
        {
            double n2 = 0;
            foreach (float v in row)
                n2 += (double)v * v;
            scale = n2 > 0 ? 1 / Math.Sqrt(n2) : 0;
        }
        for (int d = 0; d < row.Length; d++)
            x[d] = row[d] * scale;
    }

    /// <summary>
    /// One query made ready for the integer scan (one signed byte a dimension), with the bound that makes the pre-filter exact.
    /// </summary>
    /// <remarks>
    /// <para>With <c>q'_i = q_i · Step[i] = t·Q_i + e_i</c> (<c>Q_i</c> an integer in −127…127, <c>t</c> the largest
    /// <c>|q'_i|</c> over 127), the estimate of <c>q · x</c> is <c>est = A + t·S</c> with <c>S = Σ Q_i c_i</c> an exact
    /// integer sum and <c>A = Σ q_i Min[i] + Σ e_i μ_i</c> (<c>μ</c>: <see cref="CodeMean"/>). Its error is
    /// <c>q·x − est = Σ q_i (x_i − x̂_i) + Σ e_i (c_i − μ_i)</c>. Each sum has two bounds, and the smaller is kept:
    /// the first by <c>Σ |q_i| Error[i]</c> or by Cauchy–Schwarz <c>‖q‖ · MaxResidual</c>; the second by
    /// <c>Σ |e_i| max(μ_i, 255 − μ_i)</c> or <c>‖e‖ · MaxCodeDeviation</c>. The Cauchy–Schwarz forms are what make
    /// one byte enough: the rounding errors <c>e_i</c> have both signs, and a row's codes do not all sit at the
    /// far end of their range. <c>Rounding</c> bounds the difference between <c>est</c> and its float evaluation.</para>
    /// </remarks>
    public QueryPlan Plan(ReadOnlySpan<float> q, Span<sbyte> bytes)
    {
        double max = 0;
        for (int d = 0; d < Dims; d++)
            max = Math.Max(max, Math.Abs(q[d] * Step[d]));
        float t = max > 0 ? (float)(max / QueryLimit) : 1f;
        if (t == 0 || !float.IsFinite(t))
            t = 1f;
        double a = 0, codeL1 = 0, q2 = 0, roundL1 = 0, e2 = 0, sumQ = 0;
        bytes.Clear();
        for (int d = 0; d < Dims; d++)
        {
            double qs = q[d] * Step[d];
            int qi = (int)Math.Clamp(Math.Round(qs / t), -QueryLimit, QueryLimit);
            bytes[d] = (sbyte)qi;
            double e = qs - (double)t * qi;
            a += q[d] * Min[d] + e * CodeMean[d];
            codeL1 += Math.Abs(q[d]) * Error[d];
            q2 += (double)q[d] * q[d];
            roundL1 += Math.Abs(e) * Math.Max(CodeMean[d], 255 - CodeMean[d]);
            e2 += e * e;
            sumQ += Math.Abs(qi);
        }
        double bound = Math.Min(codeL1, Math.Sqrt(q2) * MaxResidual) + Math.Min(roundL1, Math.Sqrt(e2) * MaxCodeDeviation);
        double magnitude = Math.Abs(a) + t * 255.0 * sumQ;
        // Float evaluation of A + t·S: the int-to-float conversion, the product and the sum, plus A itself rounded
        // to float; 2^-24 of the magnitude each, with a factor of two for safety. The bound gets a relative margin
        // for its double sums and square roots.
        return new QueryPlan((float)a, t, bound * (1 + 1e-9) + 1e-12, 10 * magnitude / (1 << 24));
    }

    /// <summary>Largest size of a query's integer values (one signed byte).</summary>
    public const int QueryLimit = 127;

    /// <summary>A query's scan constants: <c>est = Offset + T·S</c>, within <see cref="Bound"/> of <c>q·x</c>.</summary>
    public readonly record struct QueryPlan(float Offset, float T, double Bound, double Rounding);
}
