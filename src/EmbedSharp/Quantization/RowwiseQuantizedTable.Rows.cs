using System.Runtime.CompilerServices;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;

namespace EmbedSharp.Quantization;

public sealed partial class RowwiseQuantizedTable
{
    /// <summary>Row <paramref name="row"/> dequantized (<see cref="IEmbeddingRows"/>'s name for <see cref="DequantizeRow"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is out of range.</exception>
    public void ReadRow(int row, Span<float> destination) => DequantizeRow(row, destination);

    /// <summary>
    /// <c>destination[b, n] = Σ_k x[b, k] · x̂[n, k]</c> for a row-major <c>batch × Dims</c> input: the blocked
    /// <see cref="Gemm"/> over this table's row source, each row dequantized once while it is packed.
    /// </summary>
    /// <exception cref="ArgumentException">The spans do not hold <c>batch · Dims</c> and at least <c>batch · NumEmbeddings</c> values.</exception>
    public unsafe void MatMulTransposed(ReadOnlySpan<float> x, int batch, Span<float> destination)
    {
        const string op = "rowwise.matmul";
        Guard.NonNegative(op, batch);
        Guard.Length(op, x.Length, (long)batch * Dims, $"batch × Dims = {batch} × {Dims}");
        Guard.MinLength(op, destination.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        fixed (byte* codes = _codes)
        fixed (Half* scales = _scales)
        fixed (Half* biases = _biases)
        fixed (float* xp = x)
        fixed (float* yp = destination)
            Gemm.MultiplyTransposed(xp, batch, Dims, new Rows(codes, scales, biases, BytesPerRow, Bits, Dims), NumEmbeddings, yp, NumEmbeddings, ParallelWork.DefaultThreads);
    }

    /// <summary>The gather after validation: the generic <see cref="Kernels.GatherRows{TRows}"/> over this table's row source.</summary>
    private unsafe void GatherUnchecked(ReadOnlySpan<int> indices, Span<float> destination)
    {
        fixed (byte* codes = _codes)
        fixed (Half* scales = _scales)
        fixed (Half* biases = _biases)
        fixed (int* ids = indices)
        fixed (float* d = destination)
        {
            var rows = new Rows(codes, scales, biases, BytesPerRow, Bits, Dims);
            Kernels.GatherRows(ref rows, ids, indices.Length, d, 1f, 8);
        }
    }

    /// <summary>
    /// The table as the kernels' row source (pinned by the caller): <c>x̂ = scale · q + bias</c> per element in
    /// float32, each row decoded into the scratch.
    /// </summary>
    private readonly unsafe struct Rows(byte* codes, Half* scales, Half* biases, int bytesPerRow, int bits, int dims) : IRowSource
    {
        public int Dims => dims;

        public static bool Prefetches => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int row) => Kernels.PrefetchRow(codes + (nint)row * bytesPerRow, Math.Min(bytesPerRow, Kernels.RowPrefetchLines * 64));

        public float* Row(int row, float* destination)
        {
            float scale = (float)scales[row], bias = (float)biases[row];
            byte* bytes = codes + (nint)row * bytesPerRow;
            int perByte = 8 / bits, mask = (1 << bits) - 1;
            switch (bits)
            {
                case 8:
                    for (int i = 0; i < dims; i++)
                        destination[i] = scale * bytes[i] + bias;
                    break;
                case 4:
                    for (int i = 0; i < bytesPerRow; i++)
                    {
                        destination[2 * i] = scale * (bytes[i] & 15) + bias;
                        destination[2 * i + 1] = scale * (bytes[i] >> 4) + bias;
                    }
                    break;
                default:
                    for (int i = 0; i < dims; i++)
                        destination[i] = scale * ((bytes[i / perByte] >> ((i % perByte) * bits)) & mask) + bias;
                    break;
            }
            return destination;
        }
    }
}
