using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
        ParallelWork.For(count, grain, threads,
            () => (Row: new float[dims], X: new double[dims], Err: new double[dims]),
            (s, start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    Read(readRow, r, s.Row, s.X, unit);
                    for (int d = 0; d < dims; d++)
                    {
                        double step = shadow.Step[d];
                        int c = step > 0 ? (int)Math.Clamp(Math.Round((s.X[d] - lo[d]) / step), 0, 255) : 0;
                        codes[shadow.Offset(r, d)] = (byte)c;
                        s.Err[d] = Math.Max(s.Err[d], Math.Abs(s.X[d] - (lo[d] + step * c)));
                    }
                }
            },
            s =>
            {
                lock (gate)
                {
                    for (int d = 0; d < dims; d++)
                        err[d] = Math.Max(err[d], s.Err[d]);
                }
            });
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
    /// One query made ready for the integer scan, with the bound that makes the pre-filter exact.
    /// </summary>
    /// <remarks>
    /// <para>With <c>q'_i = q_i · Step[i] = t·Q_i + e_i</c> (<c>Q_i</c> an integer of at most 16,000 in size,
    /// split as <c>Q = 128·Hi + Lo</c> into two signed bytes, Lo in −64…63), the estimate of <c>q · x</c> is
    /// <c>est = A + t·(128·S_hi + S_lo)</c> with <c>S = Σ Q_i c_i</c> exact integer sums and
    /// <c>A = Σ q_i Min[i] + 127.5 Σ e_i</c>. Then <c>|q·x − est| ≤ Bound = Σ |q_i| Error[i] + 127.5 Σ |e_i|</c>
    /// (the codes lie in 0…255, so <c>|c − 127.5| ≤ 127.5</c>). <c>Rounding</c> bounds the difference
    /// between <c>est</c> and its float evaluation in the scan.</para>
    /// </remarks>
    public QueryPlan Plan(ReadOnlySpan<float> q, Span<sbyte> hi, Span<sbyte> lo)
    {
        double max = 0;
        for (int d = 0; d < Dims; d++)
            max = Math.Max(max, Math.Abs(q[d] * Step[d]));
        float t = max > 0 ? (float)(max / 16000) : 1f;
        if (t == 0 || !float.IsFinite(t))
            t = 1f;
        double a = 0, bound = 0, sumHi = 0, sumLo = 0;
        hi.Clear();
        lo.Clear();
        for (int d = 0; d < Dims; d++)
        {
            double qs = q[d] * Step[d];
            int qi = (int)Math.Clamp(Math.Round(qs / t), -16000, 16000);
            int h = (qi + 64) >> 7;
            int l = qi - 128 * h;
            hi[d] = (sbyte)h;
            lo[d] = (sbyte)l;
            double e = qs - (double)t * qi;
            a += q[d] * Min[d] + 127.5 * e;
            bound += Math.Abs(q[d]) * Error[d] + 127.5 * Math.Abs(e);
            sumHi += Math.Abs(h);
            sumLo += Math.Abs(l);
        }
        double magnitude = Math.Abs(a) + t * 255.0 * (128 * sumHi + sumLo);
        // Float evaluation of A + 128t·S_hi + t·S_lo: five roundings of quantities no larger than the
        // magnitude, 2^-24 each; doubled for safety. The bound gets a relative margin for its double sums.
        return new QueryPlan((float)a, t, bound * (1 + 1e-9) + 1e-12, 10 * magnitude / (1 << 24));
    }

    /// <summary>A query's scan constants: <c>est = Offset + 128·T·S_hi + T·S_lo</c>, within <see cref="Bound"/> of <c>q·x</c>.</summary>
    public readonly record struct QueryPlan(float Offset, float T, double Bound, double Rounding);
}

/// <summary>
/// The pre-filter's integer scan: unsigned 8-bit codes against signed 8-bit query values, 32-bit exact
/// sums. An AVX-VNNI path (<c>vpdpbusd</c>: four byte products summed into each 32-bit lane) and a
/// scalar path over the same layout, with a plain reference over row-major codes beside them; all
/// three give identical integers.
/// </summary>
internal static class Int8Kernels
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 16;

    /// <summary>Bytes of one tile's group of four dimensions.</summary>
    public const int TileBytesPerGroup = TileRows * 4;

    /// <summary>Queries per call of <see cref="ScoreTile"/>.</summary>
    public const int QueryBlock = 4;

    /// <summary>
    /// Integer dot products of one 16-row tile with four queries: <c>scores[j·stride + r] = Σ_d code[r, d] · query_j[d]</c>.
    /// <paramref name="queries"/> holds four queries of <c>groups × 4</c> signed bytes each, one after the other.
    /// </summary>
    /// <remarks>
    /// Lanes: a 32-byte load of a group holds rows 0–7 (then 8–15), four codes each; a query's four bytes
    /// for the group are broadcast to every lane, and <c>vpdpbusd</c> adds the four products into the row's
    /// lane. Two row halves × four queries = eight accumulators, which fit the 16 registers of AVX2 encoding.
    /// No tail: groups are zero-padded and tiles are whole.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ScoreTile(byte* tile, int groups, sbyte* queries, int* scores, int stride)
    {
        if (AvxVnni.IsSupported)
        {
            int* q0 = (int*)queries, q1 = q0 + groups, q2 = q1 + groups, q3 = q2 + groups;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default;
            for (int g = 0; g < groups; g++)
            {
                var top = Vector256.Load(tile + g * TileBytesPerGroup);
                var bottom = Vector256.Load(tile + g * TileBytesPerGroup + 32);
                var w = Vector256.Create(q0[g]).AsSByte();
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, top, w);
                b0 = AvxVnni.MultiplyWideningAndAdd(b0, bottom, w);
                w = Vector256.Create(q1[g]).AsSByte();
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, top, w);
                b1 = AvxVnni.MultiplyWideningAndAdd(b1, bottom, w);
                w = Vector256.Create(q2[g]).AsSByte();
                a2 = AvxVnni.MultiplyWideningAndAdd(a2, top, w);
                b2 = AvxVnni.MultiplyWideningAndAdd(b2, bottom, w);
                w = Vector256.Create(q3[g]).AsSByte();
                a3 = AvxVnni.MultiplyWideningAndAdd(a3, top, w);
                b3 = AvxVnni.MultiplyWideningAndAdd(b3, bottom, w);
            }
            a0.Store(scores);
            b0.Store(scores + 8);
            a1.Store(scores + stride);
            b1.Store(scores + stride + 8);
            a2.Store(scores + 2 * stride);
            b2.Store(scores + 2 * stride + 8);
            a3.Store(scores + 3 * stride);
            b3.Store(scores + 3 * stride + 8);
            return;
        }
        ScoreTileScalar(tile, groups, queries, scores, stride);
    }

    /// <summary>The scalar path of <see cref="ScoreTile"/>, over the same tiled layout.</summary>
    public static unsafe void ScoreTileScalar(byte* tile, int groups, sbyte* queries, int* scores, int stride)
    {
        for (int j = 0; j < QueryBlock; j++)
        {
            sbyte* q = queries + (nint)j * groups * 4;
            for (int r = 0; r < TileRows; r++)
            {
                int sum = 0;
                for (int g = 0; g < groups; g++)
                {
                    byte* c = tile + g * TileBytesPerGroup + r * 4;
                    sbyte* v = q + g * 4;
                    sum += c[0] * v[0] + c[1] * v[1] + c[2] * v[2] + c[3] * v[3];
                }
                scores[j * stride + r] = sum;
            }
        }
    }

    /// <summary>The reference: <c>Σ_d codes[d] · query[d]</c> over one row-major row.</summary>
    public static int DotReference(ReadOnlySpan<byte> codes, ReadOnlySpan<sbyte> query)
    {
        int sum = 0;
        for (int d = 0; d < codes.Length; d++)
            sum += codes[d] * query[d];
        return sum;
    }
}
