using System.Runtime.CompilerServices;
using EmbedSharp.Numerics;

namespace EmbedSharp.Quantization;

/// <summary>
/// The hot paths of <see cref="QuantizedTable"/> over the packed arrays: prefetching parallel gather,
/// the matrix–vector product that never forms ŵ, and the blocked matrix product that dequantizes rows
/// while packing them. The SIMD row kernels are <see cref="AffineKernels"/>; layouts they do not
/// cover go through <see cref="DequantizeRowUnchecked"/>.
/// </summary>
public sealed partial class QuantizedTable
{
    /// <summary>Rows ahead whose packed words, scales and biases are prefetched.</summary>
    private const int PrefetchDistance = 16;

    /// <summary>Output floats below which a gather stays on one thread.</summary>
    private const long GatherParallelThreshold = 1 << 18;

    private bool Fast => AffineKernels.Supports(Mode, Bits, DType, GroupSize);

    /// <summary><see cref="Gather"/> after validation: rows dequantized straight into the destination.</summary>
    /// <param name="indices">Row ids, all in range.</param>
    /// <param name="destination">Output, at least <c>indices.Length × Dims</c> floats.</param>
    /// <param name="threads">Threads to use at most (−1: the machine's).</param>
    /// <param name="streamingStores">Null: streaming stores for outputs of at least
    /// <see cref="Hardware.StreamingStoreThresholdBytes"/>; true or false forces the choice (tests).</param>
    internal unsafe void GatherUnchecked(ReadOnlySpan<int> indices, Span<float> destination, int threads = -1, bool? streamingStores = null)
    {
        if (indices.IsEmpty || Dims == 0)
            return;
        if (threads <= 0)
            threads = ParallelWork.DefaultThreads;
        if ((long)indices.Length * Dims < GatherParallelThreshold)
            threads = 1;
        fixed (int* ids = indices)
        fixed (float* dst = destination)
        {
            nint idsAddress = (nint)ids, dstAddress = (nint)dst;
            int grain = Math.Clamp((int)(GatherParallelThreshold / 4 / Dims), 64, 2048);
            var reader = new RowReader(this);
            try
            {
                RowReader r = reader;
                int dims = Dims;
                if (Kernels.StreamingFits(dst, Dims)
                    && (streamingStores ?? (long)indices.Length * Dims * sizeof(float) >= Hardware.StreamingStoreThresholdBytes))
                {
                    // As the float32 gather: an output this large is written with streaming stores, each row
                    // dequantized into a scratch row first (two alternate, for the line two rows share).
                    ParallelWork.For(indices.Length, grain, threads, () => new float[2 * dims], (scratch, start, end) =>
                    {
                        RowReader rows = r;
                        fixed (float* s = scratch)
                        {
                            if (rows.CanGatherDirect)
                                rows.Gather((int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * dims, PrefetchDistance, s);
                            else
                                Kernels.GatherStreaming(ref rows, (int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * dims, dims, s, PrefetchDistance);
                        }
                    }, static _ => { });
                    return;
                }
                ParallelWork.For(indices.Length, grain, threads, (start, end) =>
                {
                    RowReader rows = r;
                    if (rows.CanGatherDirect)
                        rows.Gather((int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * dims, PrefetchDistance);
                    else
                        Kernels.GatherRows(ref rows, (int*)idsAddress + start, end - start, (float*)dstAddress + (nint)start * dims, 1f, PrefetchDistance);
                });
            }
            finally
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>y (batch × NumEmbeddings) = x (batch × Dims) · ŵᵀ, on up to <paramref name="threads"/> threads.</summary>
    internal unsafe void MatMulTransposedUnchecked(ReadOnlySpan<float> x, int batch, Span<float> y, int threads = -1)
    {
        if (batch == 0 || NumEmbeddings == 0)
            return;
        if (threads <= 0)
            threads = ParallelWork.DefaultThreads;
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            if (batch == 1 && Fast && Dims > 0)
            {
                MatVecFast(xp, yp, threads);
                return;
            }
            var reader = new RowReader(this);
            try
            {
                Gemm.MultiplyTransposed(xp, batch, Dims, reader, NumEmbeddings, yp, NumEmbeddings, threads);
            }
            finally
            {
                reader.Dispose();
            }
        }
    }

    private unsafe void MatVecFast(float* x, float* y, int threads)
    {
        int groups = GroupsPerRow;
        float* sums = stackalloc float[groups];
        for (int g = 0; g < groups; g++)
        {
            float s = 0f;
            for (int i = 0; i < GroupSize; i++)
                s += x[g * GroupSize + i];
            sums[g] = s;
        }
        if ((long)NumEmbeddings * Dims < Gemv.ParallelThreshold)
            threads = 1;
        bool direct = AffineKernels.Direct;
        float[]? permuted = null;
        if (direct)
        {
            permuted = new float[Dims];
            AffineKernels.PermuteForDirectDot(new ReadOnlySpan<float>(x, Dims), Bits, permuted);
        }
        var reader = new RowReader(this);
        try
        {
            fixed (float* xp = permuted)
            {
                nint xAddress = (nint)(direct ? xp : x), yAddress = (nint)y, sumsAddress = (nint)sums;
                RowReader r = reader;
                ParallelWork.For(NumEmbeddings, 1024, threads, (start, end) =>
                {
                    for (int row = start; row < end; row++)
                        ((float*)yAddress)[row] = r.Dot(row, (float*)xAddress, (float*)sumsAddress, direct);
                });
            }
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>Dequantizes row <paramref name="row"/> into <paramref name="destination"/> (Dims floats), by the SIMD kernel when it applies.</summary>
    internal unsafe void DequantizeRowFast(int row, Span<float> destination)
    {
        var reader = new RowReader(this);
        try
        {
            fixed (float* d = destination)
                reader.Dequantize(row, d);
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>
    /// Raw access to the packed arrays for the duration of one operation (the arrays are pinned for
    /// life, so the reader can be copied into worker lambdas). Dispose at the end: it keeps the table alive.
    /// </summary>
    internal readonly unsafe struct RowReader : IRowSource, IDisposable
    {
        private readonly QuantizedTable _table;
        // Row r's codes start at _words + r·_stride; its scales and biases at _scales/_biases + r·_scaleStride.
        // MLX's arrays: _stride = the packed row's bytes, _scaleStride = a row of scales' bytes. Fused rows:
        // both are the record's bytes, and scales and biases sit after the codes in the same record.
        private readonly byte* _words, _scales, _biases;
        private readonly int _rowBytes, _groupSize, _bits, _dims, _scaleRowBytes;
        private readonly nint _stride, _scaleStride, _prefetchBytes;
        private readonly bool _fast, _fused, _fusedRows;

        public RowReader(QuantizedTable table)
        {
            _table = table;
            _fast = table.Fast;
            _fused = table.FusedDequantize;
            _rowBytes = table.WordsPerRow * 4;
            _groupSize = table.GroupSize;
            _bits = table.Bits;
            _dims = table.Dims;
            _scaleRowBytes = table.GroupsPerRow * table.ScaleElementSize;
            // The arrays live on the pinned object heap: their addresses are fixed for the table's life.
            _fusedRows = table.Layout == QuantizedRowLayout.FusedRows;
            if (_fusedRows)
            {
                _words = table._records.Pointer;
                _scales = _words + _rowBytes;
                _biases = table.HasBiases ? _scales + _scaleRowBytes : null;
                _stride = _scaleStride = table.RecordBytes;
                _prefetchBytes = AffineKernels.PrefetchBytes(_stride);
            }
            else
            {
                _words = (byte*)table._weight.Pointer;
                _scales = table._scales.Pointer;
                _biases = table._biases.Pointer;
                _stride = _rowBytes;
                _scaleStride = _scaleRowBytes;
                _prefetchBytes = AffineKernels.PrefetchBytes(_rowBytes);
            }
        }

        public int Dims => _dims;

        /// <summary>Ends the operation: keeps the table (and so its arrays) alive up to this point.</summary>
        public void Dispose() => GC.KeepAlive(_table);

        public static bool Prefetches => true;

        /// <summary>The row source's read: row <paramref name="row"/> dequantized into <paramref name="scratch"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int row, float* scratch)
        {
            Dequantize(row, scratch);
            return scratch;
        }

        /// <summary>Starts loading the packed words, scales and biases of <paramref name="row"/> into the cache.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int row)
        {
            if (_fusedRows)
                Kernels.PrefetchRow(_words + (nint)row * _stride, _prefetchBytes);
            else
                AffineKernels.PrefetchPackedRow(_words + (nint)row * _stride, _prefetchBytes, _scales + (nint)row * _scaleStride,
                    _biases == null ? null : _biases + (nint)row * _scaleStride);
        }

        /// <summary>Row <paramref name="row"/> dequantized into <paramref name="destination"/> (Dims floats).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dequantize(int row, float* destination)
        {
            if (!_fast)
            {
                _table.DequantizeRowUnchecked(row, new Span<float>(destination, _dims));
                return;
            }
            byte* codes = _words + (nint)row * _stride;
            float* s = (float*)(_scales + (nint)row * _scaleStride);
            float* b = (float*)(_biases + (nint)row * _scaleStride);
            if (_bits == 4)
                AffineKernels.DequantizeRow<Bits4>(codes, s, b, _groupSize, _fused, destination, _dims);
            else
                AffineKernels.DequantizeRow<Bits8>(codes, s, b, _groupSize, _fused, destination, _dims);
        }

        /// <summary>Whether <see cref="Accumulate"/> may be used (the SIMD affine layouts).</summary>
        public bool CanAccumulate => _fast;

        /// <summary>Fast path only: <c>acc += ŵ[row]</c>, each ŵ rounded as <see cref="Dequantize"/> rounds it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Accumulate(int row, float* acc)
        {
            byte* codes = _words + (nint)row * _stride;
            float* s = (float*)(_scales + (nint)row * _scaleStride);
            float* b = (float*)(_biases + (nint)row * _scaleStride);
            if (_bits == 4)
                AffineKernels.AccumulateRow<Bits4>(codes, s, b, _groupSize, _fused, acc, _dims);
            else
                AffineKernels.AccumulateRow<Bits8>(codes, s, b, _groupSize, _fused, acc, _dims);
        }

        /// <summary>Where the rows are, for the whole-bag kernels (fast path only).</summary>
        private AffineKernels.PackedRows Packed =>
            new(_words, _stride, (float*)_scales, (float*)_biases, _scaleStride / sizeof(float), _groupSize, _fusedRows ? 0 : _prefetchBytes);

        /// <summary>Whether <see cref="Sum"/> may be used (the SIMD affine layouts on x86).</summary>
        public bool CanSum => _fast && AffineKernels.Direct;

        /// <summary>Whether <see cref="Gather"/> may be used (as <see cref="CanSum"/>).</summary>
        public bool CanGatherDirect => CanSum;

        /// <summary>
        /// <see cref="CanSum"/> only: <c>dst = Σ_k ŵ[ids[k]]</c> (or <c>Σ_k weights[k]·ŵ[ids[k]]</c>) over <paramref name="count"/> ids,
        /// summed in registers, bit for bit the generic pool's <c>o + w·ŵ</c> row after row from a zeroed <paramref name="dst"/>;
        /// with <paramref name="max"/>, the element-wise maximum of the rows as the generic pool's (zeros for an empty bag).
        /// Rows of <c>ids[k + prefetchDistance]</c> are prefetched while <c>k + prefetchDistance &lt; prefetchLimit</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Sum(int* ids, int count, int prefetchLimit, int prefetchDistance, float* dst, float* weights = null, bool max = false)
        {
            if (_bits == 4)
                AffineKernels.SumRows<Bits4>(Packed, _fused, ids, count, prefetchLimit, prefetchDistance, dst, _dims, weights, max);
            else
                AffineKernels.SumRows<Bits8>(Packed, _fused, ids, count, prefetchLimit, prefetchDistance, dst, _dims, weights, max);
        }

        /// <summary>
        /// <see cref="CanGatherDirect"/> only: <c>destination[i] = ŵ[ids[i]]</c> for <paramref name="count"/> ids, by the gather loops
        /// specialised for this table's width and rounding (<see cref="AffineKernels.GatherRows{TBits}"/>); with a
        /// <paramref name="streamingScratch"/> (2·Dims floats), written with streaming stores.
        /// </summary>
        public void Gather(int* ids, int count, float* destination, int prefetchDistance, float* streamingScratch = null)
        {
            if (_bits == 4)
                AffineKernels.GatherRows<Bits4>(Packed, _fused, _dims, ids, count, destination, prefetchDistance, streamingScratch);
            else
                AffineKernels.GatherRows<Bits8>(Packed, _fused, _dims, ids, count, destination, prefetchDistance, streamingScratch);
        }

        /// <summary>Fast path only: x · ŵ[row] with the group sums of x precomputed; x permuted for the direct kernel when <paramref name="direct"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Dot(int row, float* x, float* groupSumsOfX, bool direct)
        {
            byte* codes = _words + (nint)row * _stride;
            float* s = (float*)(_scales + (nint)row * _scaleStride);
            float* b = (float*)(_biases + (nint)row * _scaleStride);
            if (direct)
            {
                return _bits == 4
                    ? AffineKernels.DotRowDirect<Bits4>(codes, s, b, _groupSize, x, groupSumsOfX, _dims)
                    : AffineKernels.DotRowDirect<Bits8>(codes, s, b, _groupSize, x, groupSumsOfX, _dims);
            }
            return _bits == 4
                ? AffineKernels.DotRow<Bits4>(codes, s, b, _groupSize, x, groupSumsOfX, _dims)
                : AffineKernels.DotRow<Bits8>(codes, s, b, _groupSize, x, groupSumsOfX, _dims);
        }
    }
}
