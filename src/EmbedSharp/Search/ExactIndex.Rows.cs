using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EmbedSharp.Numerics;
using EmbedSharp.Quantization;

namespace EmbedSharp.Search;

/// <summary>Where a scan's dot products come from: <c>q · row[r]</c> for one prepared query.</summary>
internal interface IRowDots
{
    float Dot(int row);
}

/// <summary>How a dot product and the row's squared norm become "goodness" (higher is nearer).</summary>
internal interface IGoodness
{
    /// <summary>Goodness from the dot product and the row term (<c>|row|²</c>, or <c>1/|row|</c> for Cosine).</summary>
    static abstract float Of(float dot, float rowNorm2);

    /// <summary>Eight goodness values at once: <paramref name="aux"/> holds the rows' <c>1/|row|</c> (Cosine) or <c>|row|²</c> (L2).</summary>
    static abstract Vector256<float> Of(Vector256<float> dot, Vector256<float> aux);

    /// <summary>Whether the goodness reads the row term at all (Dot does not, so its scan never touches the norms).</summary>
    static abstract bool UsesRowTerm { get; }
}

/// <summary>Dot metric: the dot product itself.</summary>
internal readonly struct DotGoodness : IGoodness
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(float dot, float rowNorm2) => dot;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Of(Vector256<float> dot, Vector256<float> aux) => dot;

    public static bool UsesRowTerm => false;
}

/// <summary>Cosine with a unit query: <c>dot · (1/|row|)</c>, the inverse norm (0 for a zero row) passed as the row term.</summary>
internal readonly struct CosineGoodness : IGoodness
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(float dot, float rowNorm2) => dot * rowNorm2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Of(Vector256<float> dot, Vector256<float> aux) => dot * aux;

    public static bool UsesRowTerm => true;
}

/// <summary>L2: <c>2 q·row − |row|²</c>, which is <c>|q|² − |q − row|²</c> (same order as the distance, reversed).</summary>
internal readonly struct L2Goodness : IGoodness
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(float dot, float rowNorm2) => 2f * dot - rowNorm2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Of(Vector256<float> dot, Vector256<float> aux) => dot + dot - aux;

    public static bool UsesRowTerm => true;
}

/// <summary>Float32 rows, read in place.</summary>
internal readonly unsafe struct FloatRows(float* rows, int dims, float* q) : IRowDots
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Dot(int row) => SearchKernels.DotUnrolled(rows + (nint)row * dims, q, dims);
}

/// <summary>16-bit rows (float16, bfloat16), widened a block at a time into registers by the widening dot.</summary>
internal readonly unsafe struct WideningRows<T>(T* rows, int dims, float* q) : IRowDots where T : unmanaged
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Dot(int row)
    {
        Span<float> wide = stackalloc float[256];
        T* src = rows + (nint)row * dims;
        float sum = 0;
        for (int j = 0; j < dims; j += 256)
        {
            int n = Math.Min(256, dims - j);
            Kernels.WidenRow(new ReadOnlySpan<T>(src + j, n), wide[..n]);
            sum += SearchKernels.Dot(wide[..n], new ReadOnlySpan<float>(q + j, n));
        }
        return sum;
    }
}

/// <summary>8-bit row-wise quantized rows: <c>q·ŵ = scale · Σ q_i c_i + bias · Σ q_i</c>.</summary>
internal readonly unsafe struct Int8Rows(byte* codes, Half* scales, Half* biases, int dims, float* q, float sumQ) : IRowDots
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Dot(int row) =>
        (float)scales[row] * SearchKernels.DotBytes(codes + (nint)row * dims, q, dims) + (float)biases[row] * sumQ;
}

/// <summary>MLX affine packed rows, scored by <see cref="AffineKernels"/> on the codes (or a dequantized scratch row off the SIMD layouts).</summary>
internal readonly unsafe struct PackedRows : IRowDots
{
    private readonly QuantizedTable.RowReader _reader;
    private readonly QuantizedTable _table;
    private readonly float[] _x;
    private readonly float[] _groupSums;
    private readonly float[] _query;
    private readonly bool _fast, _direct;

    public PackedRows(QuantizedTable.RowReader reader, QuantizedTable table, float[] query)
    {
        _reader = reader;
        _table = table;
        _query = query;
        _fast = AffineKernels.Supports(table.Mode, table.Bits, table.DType, table.GroupSize);
        _direct = _fast && AffineKernels.Direct;
        _groupSums = new float[table.GroupsPerRow];
        for (int g = 0; g < _groupSums.Length; g++)
        {
            float s = 0f;
            for (int i = 0; i < table.GroupSize; i++)
                s += query[g * table.GroupSize + i];
            _groupSums[g] = s;
        }
        if (_direct)
        {
            _x = new float[query.Length];
            AffineKernels.PermuteForDirectDot(query, table.Bits, _x);
        }
        else
        {
            _x = query;
        }
    }

    public float Dot(int row)
    {
        if (!_fast)
        {
            Span<float> w = stackalloc float[_query.Length];
            _table.DequantizeRowUnchecked(row, w);
            return SearchKernels.Dot(w, _query);
        }
        fixed (float* x = _x)
        fixed (float* sums = _groupSums)
            return _reader.Dot(row, x, sums, _direct);
    }
}
