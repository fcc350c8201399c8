using System.Buffers.Binary;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// Product quantization (Jégou, Douze &amp; Schmid 2011): a vector is cut into <see cref="M"/>
/// sub-vectors of <see cref="SubDims"/> values, each replaced by the id of its nearest of 256
/// centroids trained by k-means for that sub-space, so a vector costs <see cref="M"/> bytes.
/// </summary>
/// <remarks>
/// Distances to codes are computed asymmetrically (ADC): for a query, <see cref="ComputeTable"/>
/// fills an <c>M × 256</c> table of sub-space scores once, and a code's score is the sum of
/// <see cref="M"/> table lookups (<see cref="Score"/>). The table holds squared L2 distances
/// (<see cref="PqTable.L2"/>) or dot products (<see cref="PqTable.Dot"/>).
/// </remarks>
public sealed class ProductQuantizer
{
    /// <summary>Centroids per sub-quantizer (8-bit codes).</summary>
    public const int Ksub = 256;

    private readonly float[] _centroids;

    private ProductQuantizer(int dims, int m, float[] centroids)
    {
        Dims = dims;
        M = m;
        _centroids = centroids;
    }

    /// <summary>Vector length.</summary>
    public int Dims { get; }

    /// <summary>Sub-quantizers (bytes per code).</summary>
    public int M { get; }

    /// <summary>Values per sub-vector, <c>Dims / M</c>.</summary>
    public int SubDims => Dims / M;

    /// <summary>The codebooks, <c>M × 256 × SubDims</c> row-major.</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>
    /// Trains <paramref name="m"/> codebooks of 256 centroids on the row-major <c>n × dims</c>
    /// <paramref name="data"/> (at least 256 rows) with seeded k-means++ and <paramref name="iterations"/> Lloyd steps.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="m"/> does not divide <paramref name="dims"/>, or there are fewer than 256 rows.</exception>
    public static ProductQuantizer Train(ReadOnlySpan<float> data, int dims, int m, int iterations = 20, ulong seed = 1, int threads = -1)
    {
        const string op = "pq.train";
        Guard.Positive(op, dims);
        Guard.Positive(op, m);
        if (dims % m != 0)
            ThrowHelper.Argument(op, nameof(m), $"m = {m} does not divide dims = {dims}; pick a divisor of dims");
        if (data.Length % dims != 0)
            ThrowHelper.Argument(op, nameof(data), $"{data.Length} values is not a whole number of {dims}-long rows");
        int n = data.Length / dims;
        if (n < Ksub)
            ThrowHelper.Argument(op, nameof(data), $"{n} rows cannot train {Ksub} centroids per sub-quantizer; give at least {Ksub}");
        int sub = dims / m;
        var centroids = new float[(long)m * Ksub * sub];
        var slice = new float[(long)n * sub];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < n; i++)
                data.Slice(i * dims + j * sub, sub).CopyTo(slice.AsSpan(i * sub, sub));
            KMeans.Train(slice, sub, Ksub, iterations, seed + (ulong)j, threads).CopyTo(centroids.AsSpan(j * Ksub * sub));
        }
        return new ProductQuantizer(dims, m, centroids);
    }

    /// <summary>A quantizer from existing codebooks (<c>m × 256 × dims/m</c>).</summary>
    /// <exception cref="ArgumentException">The codebooks have the wrong length or hold NaN.</exception>
    public static ProductQuantizer FromCentroids(int dims, int m, ReadOnlySpan<float> centroids)
    {
        const string op = "pq.from_centroids";
        Guard.Positive(op, dims);
        Guard.Positive(op, m);
        if (dims % m != 0)
            ThrowHelper.Argument(op, nameof(m), $"m = {m} does not divide dims = {dims}");
        Guard.Length(op, centroids.Length, (long)m * Ksub * (dims / m), "m × 256 × dims/m");
        if (Kernels.FirstNonFinite(centroids) is int bad and >= 0)
            ThrowHelper.Argument(op, nameof(centroids), $"centroids[{bad}] is not finite");
        return new ProductQuantizer(dims, m, centroids.ToArray());
    }

    /// <summary>The code of <paramref name="vector"/>: per sub-space, the nearest centroid (ties to the lower id).</summary>
    /// <exception cref="ArgumentException">Lengths disagree.</exception>
    public void Encode(ReadOnlySpan<float> vector, Span<byte> code)
    {
        const string op = "pq.encode";
        Guard.Length(op, vector.Length, Dims, "Dims");
        Guard.Length(op, code.Length, M, "M");
        int sub = SubDims;
        for (int j = 0; j < M; j++)
        {
            var x = vector.Slice(j * sub, sub);
            float best = float.PositiveInfinity;
            int arg = 0;
            for (int c = 0; c < Ksub; c++)
            {
                float d = SquaredDistance(x, _centroids.AsSpan((j * Ksub + c) * sub, sub));
                if (d < best)
                {
                    best = d;
                    arg = c;
                }
            }
            code[j] = (byte)arg;
        }
    }

    /// <summary>The reconstruction of <paramref name="code"/>: the chosen centroids side by side.</summary>
    public void Decode(ReadOnlySpan<byte> code, Span<float> destination)
    {
        const string op = "pq.decode";
        Guard.Length(op, code.Length, M, "M");
        Guard.Length(op, destination.Length, Dims, "Dims");
        int sub = SubDims;
        for (int j = 0; j < M; j++)
            _centroids.AsSpan((j * Ksub + code[j]) * sub, sub).CopyTo(destination.Slice(j * sub, sub));
    }

    /// <summary>
    /// The ADC table of <paramref name="query"/>: <c>table[j·256 + c]</c> is the squared distance (L2)
    /// or dot product (Dot) between sub-vector j of the query and centroid c of sub-space j.
    /// </summary>
    public void ComputeTable(ReadOnlySpan<float> query, PqTable kind, Span<float> table)
    {
        const string op = "pq.table";
        Guard.Length(op, query.Length, Dims, "Dims");
        Guard.Length(op, table.Length, (long)M * Ksub, "M × 256");
        int sub = SubDims;
        for (int j = 0; j < M; j++)
        {
            var x = query.Slice(j * sub, sub);
            for (int c = 0; c < Ksub; c++)
            {
                var y = _centroids.AsSpan((j * Ksub + c) * sub, sub);
                table[j * Ksub + c] = kind == PqTable.L2 ? SquaredDistance(x, y) : System.Numerics.Tensors.TensorPrimitives.Dot(x, y);
            }
        }
    }

    /// <summary><c>Σ_j table[j·256 + code[j]]</c>: a code's score from an ADC table (no bounds checks beyond the spans').</summary>
    public static float Score(ReadOnlySpan<float> table, ReadOnlySpan<byte> code)
    {
        float s0 = 0, s1 = 0;
        int j = 0;
        for (; j + 1 < code.Length; j += 2)
        {
            s0 += table[j * Ksub + code[j]];
            s1 += table[(j + 1) * Ksub + code[j + 1]];
        }
        if (j < code.Length)
            s0 += table[j * Ksub + code[j]];
        return s0 + s1;
    }

    /// <summary>Writes the quantizer: "EPQ1", dims, m, then the codebooks as little-endian float32.</summary>
    public void Save(Stream destination)
    {
        Guard.NotNull("pq.save", destination);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Dims);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], M);
        destination.Write(header);
        destination.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_centroids.AsSpan()));
    }

    /// <summary>Reads a quantizer written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, impossible sizes, truncation or non-finite codebooks.</exception>
    public static ProductQuantizer Load(Stream source)
    {
        const string op = "pq.load";
        Guard.NotNull(op, source);
        Span<byte> header = stackalloc byte[12];
        if (source.ReadAtLeast(header, 12, false) < 12)
            throw new InvalidDataException(ThrowHelper.Format(op, "at byte 0: the stream ends inside the 12-byte header (truncated)"));
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw new InvalidDataException(ThrowHelper.Format(op, "at byte 0: not a product quantizer (magic is not EPQ1)"));
        int dims = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (dims <= 0 || dims > 65536 || m <= 0 || dims % m != 0)
            throw new InvalidDataException(ThrowHelper.Format(op, $"at byte 4: dims {dims} and m {m} are impossible (1 ≤ dims ≤ 65536, m divides dims)"));
        var centroids = new float[Ksub * dims];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(centroids.AsSpan());
        int read = source.ReadAtLeast(bytes, bytes.Length, false);
        if (read < bytes.Length)
            throw new InvalidDataException(ThrowHelper.Format(op, $"at byte {12 + read}: the codebooks end {bytes.Length - read} bytes early (truncated)"));
        if (Kernels.FirstNonFinite(centroids) is int bad and >= 0)
            throw new InvalidDataException(ThrowHelper.Format(op, $"at byte {12 + 4L * bad}: a centroid value is not finite"));
        return new ProductQuantizer(dims, m, centroids);
    }

    private const uint Magic = 0x31515045; // "EPQ1"

    private static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float d = System.Numerics.Tensors.TensorPrimitives.Distance(x, y);
        return d * d;
    }
}

/// <summary>What an ADC table of <see cref="ProductQuantizer"/> holds.</summary>
public enum PqTable
{
    /// <summary>Squared Euclidean distances (lower is nearer).</summary>
    L2,
    /// <summary>Dot products (higher is nearer).</summary>
    Dot,
}
