using System.Buffers.Binary;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// Product quantization (Jégou, Douze &amp; Schmid 2011): a vector is cut into <see cref="M"/>
/// sub-vectors of <see cref="SubDims"/> values (the last may be shorter, <see cref="LastSubDims"/>, as
/// in fastText's <c>.ftz</c> files), each replaced by the id of its nearest of 256 centroids trained
/// by k-means for that sub-space, so a vector costs <see cref="M"/> bytes.
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

    private ProductQuantizer(int dims, int m, int subDims, float[] centroids)
    {
        Dims = dims;
        M = m;
        SubDims = subDims;
        LastSubDims = dims - (m - 1) * subDims;
        _centroids = centroids;
    }

    /// <summary>Vector length.</summary>
    public int Dims { get; }

    /// <summary>Sub-quantizers (bytes per code).</summary>
    public int M { get; }

    /// <summary>Values per sub-vector (<c>Dims / M</c> when the blocks are equal).</summary>
    public int SubDims { get; }

    /// <summary>Values in the last sub-vector: <see cref="SubDims"/>, or fewer when <see cref="M"/> does not divide <see cref="Dims"/>.</summary>
    public int LastSubDims { get; }

    /// <summary>
    /// The codebooks, block after block: block <c>j</c>'s 256 centroids of its own width start at
    /// <c>j · 256 · SubDims</c> (so <c>M × 256 × SubDims</c> row-major when the blocks are equal).
    /// </summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>Centroid <paramref name="code"/> of block <paramref name="block"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="block"/> is outside 0..M-1.</exception>
    public ReadOnlySpan<float> Centroid(int block, byte code)
    {
        Guard.InRange("pq.centroid", block, 0, M);
        return _centroids.AsSpan(CentroidOffset(block, code), Width(block));
    }

    private int Width(int block) => block == M - 1 ? LastSubDims : SubDims;

    private int CentroidOffset(int block, int code) => block * Ksub * SubDims + code * Width(block);

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
        return new ProductQuantizer(dims, m, sub, centroids);
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
        return FromCentroids(dims, m, dims / m, centroids);
    }

    /// <summary>
    /// A quantizer whose first <paramref name="m"/> − 1 blocks have <paramref name="subDims"/> values
    /// and whose last block has the rest (fastText's <c>dsub</c> and <c>lastdsub</c>); the codebooks
    /// hold <c>256 × dims</c> values, block after block.
    /// </summary>
    /// <exception cref="ArgumentException">The widths do not add up to <paramref name="dims"/>, the codebooks have the wrong length, or hold NaN.</exception>
    public static ProductQuantizer FromCentroids(int dims, int m, int subDims, ReadOnlySpan<float> centroids)
    {
        const string op = "pq.from_centroids";
        Guard.Positive(op, dims);
        Guard.Positive(op, m);
        Guard.Positive(op, subDims);
        if ((long)(m - 1) * subDims >= dims || (long)m * subDims < dims)
            ThrowHelper.Argument(op, nameof(subDims), $"m = {m} blocks of {subDims} (the last shorter) cannot make dims = {dims}; need (m − 1)·subDims < dims ≤ m·subDims");
        Guard.Length(op, centroids.Length, (long)Ksub * dims, "256 × dims");
        if (Kernels.FirstNonFinite(centroids) is int bad and >= 0)
            ThrowHelper.Argument(op, nameof(centroids), $"centroids[{bad}] is not finite");
        return new ProductQuantizer(dims, m, subDims, centroids.ToArray());
    }

    /// <summary>The code of <paramref name="vector"/>: per sub-space, the nearest centroid (ties to the lower id).</summary>
    /// <exception cref="ArgumentException">Lengths disagree.</exception>
    public void Encode(ReadOnlySpan<float> vector, Span<byte> code)
    {
        const string op = "pq.encode";
        Guard.Length(op, vector.Length, Dims, "Dims");
        Guard.Length(op, code.Length, M, "M");
        for (int j = 0; j < M; j++)
        {
            int w = Width(j);
            var x = vector.Slice(j * SubDims, w);
            float best = float.PositiveInfinity;
            int arg = 0;
            for (int c = 0; c < Ksub; c++)
            {
                float d = SquaredDistance(x, _centroids.AsSpan(CentroidOffset(j, c), w));
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
        for (int j = 0; j < M; j++)
            _centroids.AsSpan(CentroidOffset(j, code[j]), Width(j)).CopyTo(destination.Slice(j * SubDims));
    }

    /// <summary>
    /// <c>destination += alpha · Decode(code)</c>, element by element with a rounding after the product
    /// and after the sum (no fused multiply-add), as fastText adds a quantized row.
    /// </summary>
    public void AddDecoded(ReadOnlySpan<byte> code, float alpha, Span<float> destination)
    {
        const string op = "pq.add_decoded";
        Guard.Length(op, code.Length, M, "M");
        Guard.Length(op, destination.Length, Dims, "Dims");
        for (int j = 0; j < M; j++)
        {
            var c = _centroids.AsSpan(CentroidOffset(j, code[j]), Width(j));
            var d = destination.Slice(j * SubDims, c.Length);
            for (int i = 0; i < c.Length; i++)
                d[i] += alpha * c[i];
        }
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
        for (int j = 0; j < M; j++)
        {
            int w = Width(j);
            var x = query.Slice(j * SubDims, w);
            for (int c = 0; c < Ksub; c++)
            {
                var y = _centroids.AsSpan(CentroidOffset(j, c), w);
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

    /// <summary>
    /// Writes the quantizer: "EPQ1", dims, m, then the codebooks as little-endian float32; a quantizer
    /// with a shorter last block writes "EPQ2" and its <see cref="SubDims"/> after m.
    /// </summary>
    public void Save(Stream destination)
    {
        Guard.NotNull("pq.save", destination);
        bool ragged = LastSubDims != SubDims;
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, ragged ? MagicRagged : Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Dims);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], M);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], SubDims);
        destination.Write(header[..(ragged ? 16 : 12)]);
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
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != Magic && magic != MagicRagged)
            throw new InvalidDataException(ThrowHelper.Format(op, "at byte 0: not a product quantizer (magic is not EPQ1 or EPQ2)"));
        int dims = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        int headerBytes = 12, sub;
        if (magic == Magic)
        {
            if (dims <= 0 || dims > 65536 || m <= 0 || dims % m != 0)
                throw new InvalidDataException(ThrowHelper.Format(op, $"at byte 4: dims {dims} and m {m} are impossible (1 ≤ dims ≤ 65536, m divides dims)"));
            sub = dims / m;
        }
        else
        {
            Span<byte> more = stackalloc byte[4];
            if (source.ReadAtLeast(more, 4, false) < 4)
                throw new InvalidDataException(ThrowHelper.Format(op, "at byte 12: the stream ends inside the 16-byte header (truncated)"));
            sub = BinaryPrimitives.ReadInt32LittleEndian(more);
            headerBytes = 16;
            if (dims <= 0 || dims > 65536 || m <= 0 || sub <= 0 || (long)(m - 1) * sub >= dims || (long)m * sub < dims)
                throw new InvalidDataException(ThrowHelper.Format(op, $"at byte 4: dims {dims}, m {m} and sub-dims {sub} are impossible (1 ≤ dims ≤ 65536, (m − 1)·sub < dims ≤ m·sub)"));
        }
        var centroids = new float[Ksub * dims];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(centroids.AsSpan());
        int read = source.ReadAtLeast(bytes, bytes.Length, false);
        if (read < bytes.Length)
            throw new InvalidDataException(ThrowHelper.Format(op, $"at byte {headerBytes + read}: the codebooks end {bytes.Length - read} bytes early (truncated)"));
        if (Kernels.FirstNonFinite(centroids) is int bad and >= 0)
            throw new InvalidDataException(ThrowHelper.Format(op, $"at byte {headerBytes + 4L * bad}: a centroid value is not finite"));
        return new ProductQuantizer(dims, m, sub, centroids);
    }

    private const uint Magic = 0x31515045; // "EPQ1"
    private const uint MagicRagged = 0x32515045; // "EPQ2"

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
