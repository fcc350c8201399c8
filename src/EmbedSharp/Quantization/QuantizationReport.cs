using EmbedSharp.Diagnostics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

/// <summary>
/// How much a quantization saved and what it cost: sizes before and after, and the reconstruction
/// error between a dense table and its quantized form, row by row.
/// </summary>
/// <param name="NumEmbeddings">Rows compared.</param>
/// <param name="Dims">Row length.</param>
/// <param name="BytesBefore">Bytes of the dense table.</param>
/// <param name="BytesAfter">Bytes of the quantized storage (codes, scales, biases).</param>
/// <param name="MaxAbsError">Largest <c>|w − ŵ|</c> over all elements.</param>
/// <param name="RmsError">Root mean square of <c>w − ŵ</c> over all elements.</param>
/// <param name="MeanCosine">Mean cosine similarity between each original row and its dequantized row.</param>
/// <param name="MinCosine">Smallest of those cosines (the worst row).</param>
/// <remarks>
/// Errors and cosines are accumulated in double. The cosine of two all-zero rows is 1 and of a zero
/// row with a non-zero one is 0. With no elements the errors are 0 and the cosines 1.
/// </remarks>
public sealed record QuantizationReport(int NumEmbeddings, int Dims, long BytesBefore, long BytesAfter,
    double MaxAbsError, double RmsError, double MeanCosine, double MinCosine)
{
    /// <summary><c>BytesBefore / BytesAfter</c> (∞ when nothing is stored after).</summary>
    public double CompressionRatio => BytesAfter == 0 ? double.PositiveInfinity : (double)BytesBefore / BytesAfter;

    /// <summary>Compares a dense table with a quantized version of it (same shape).</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static QuantizationReport Compare(EmbeddingTable original, IQuantizedRows quantized)
    {
        const string op = "quantize.report";
        Guard.NotNull(op, original);
        Guard.NotNull(op, quantized);
        if (original.NumEmbeddings != quantized.NumEmbeddings || original.Dims != quantized.Dims)
            ThrowHelper.Argument(op, nameof(quantized), $"shape {quantized.NumEmbeddings} × {quantized.Dims} differs from the original's {original.NumEmbeddings} × {original.Dims}");
        int dims = original.Dims;
        var w = new float[dims];
        var q = new float[dims];
        double maxAbs = 0, sumSq = 0, cosSum = 0, cosMin = 1;
        for (int r = 0; r < original.NumEmbeddings; r++)
        {
            original.ReadRowUnchecked(r, w);
            quantized.DequantizeRow(r, q);
            double dot = 0, nw = 0, nq = 0;
            for (int d = 0; d < dims; d++)
            {
                double e = (double)w[d] - q[d];
                maxAbs = Math.Max(maxAbs, Math.Abs(e));
                sumSq += e * e;
                dot += (double)w[d] * q[d];
                nw += (double)w[d] * w[d];
                nq += (double)q[d] * q[d];
            }
            double cos = nw == 0 && nq == 0 ? 1 : nw == 0 || nq == 0 ? 0 : dot / (Math.Sqrt(nw) * Math.Sqrt(nq));
            cosSum += cos;
            cosMin = Math.Min(cosMin, cos);
        }
        long n = original.ElementCount;
        return new QuantizationReport(original.NumEmbeddings, dims, original.ByteLength, quantized.ByteLength,
            maxAbs, n == 0 ? 0 : Math.Sqrt(sumSq / n), original.NumEmbeddings == 0 ? 1 : cosSum / original.NumEmbeddings, cosMin);
    }

    /// <summary>Quantizes <paramref name="table"/> MLX-style with the given settings and reports on the result.</summary>
    /// <exception cref="QuantizationArgumentException">MLX would reject the arguments.</exception>
    public static QuantizationReport Measure(EmbeddingTable table, int? groupSize = null, int? bits = null,
        QuantizationMode mode = QuantizationMode.Affine, QuantizationBackend backend = QuantizationBackend.Cpu) =>
        Compare(table, QuantizedTable.Quantize(table, groupSize, bits, mode, null, backend));

    /// <summary>Quantizes <paramref name="table"/> row-wise (FBGEMM int8/int4/int2) and reports on the result.</summary>
    public static QuantizationReport MeasureRowwise(EmbeddingTable table, int bits = 8) =>
        Compare(table, RowwiseQuantizedTable.Quantize(table, bits));

    /// <summary>One line: sizes, ratio, errors and cosines.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{NumEmbeddings}×{Dims}: {BytesBefore} → {BytesAfter} bytes ({CompressionRatio:F2}×), max |err| {MaxAbsError:G4}, RMS {RmsError:G4}, cosine mean {MeanCosine:F6} min {MinCosine:F6}");
}
