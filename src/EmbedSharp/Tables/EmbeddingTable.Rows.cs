using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;

namespace EmbedSharp.Tables;

public sealed unsafe partial class EmbeddingTable : IEmbeddingRows
{
    /// <inheritdoc/>
    void IEmbeddingRows.Gather(ReadOnlySpan<int> indices, Span<float> destination) => Gather(indices, destination);

    /// <summary>
    /// <c>destination = x · Tableᵀ</c> for a row-major <c>batch × Dims</c> input: one vector is a matrix–vector
    /// product streaming the table once (<see cref="Gemv"/>), a batch a blocked matrix product (<see cref="Gemm"/>)
    /// that widens 16-bit rows while it packs them. Results do not depend on the thread count.
    /// </summary>
    /// <exception cref="ArgumentException">The spans do not hold <c>batch · Dims</c> and at least <c>batch · NumEmbeddings</c> values.</exception>
    public void MatMulTransposed(ReadOnlySpan<float> x, int batch, Span<float> destination)
    {
        const string op = "table.matmul";
        Guard.NonNegative(op, batch);
        Guard.Length(op, x.Length, (long)batch * Dims, $"batch × Dims = {batch} × {Dims}");
        Guard.MinLength(op, destination.Length, (long)batch * NumEmbeddings, $"batch × NumEmbeddings = {batch} × {NumEmbeddings}");
        MatMulTransposedUnchecked(x, batch, destination);
    }

    /// <summary><see cref="MatMulTransposed"/> after validation, on up to <paramref name="threads"/> threads (−1: the machine's).</summary>
    internal void MatMulTransposedUnchecked(ReadOnlySpan<float> x, int batch, Span<float> destination, int threads = -1)
    {
        if (threads <= 0)
            threads = ParallelWork.DefaultThreads;
        switch (DType)
        {
            case DType.Float32: MatMulTransposed<float>(x, batch, destination, threads); break;
            case DType.Float16: MatMulTransposed<Half>(x, batch, destination, threads); break;
            default: MatMulTransposed<BFloat16>(x, batch, destination, threads); break;
        }
    }

    private void MatMulTransposed<T>(ReadOnlySpan<float> x, int batch, Span<float> destination, int threads) where T : unmanaged
    {
        int rows = NumEmbeddings, dims = Dims;
        if (batch == 0 || rows == 0)
            return;
        System.Diagnostics.Debug.Assert(x.Length >= (long)batch * dims && destination.Length >= (long)batch * rows);
        T* b = (T*)Pointer;
        fixed (float* xp = x)
        fixed (float* yp = destination)
        {
            if (batch == 1)
                Gemv.MultiplyVector(b, rows, dims, xp, yp, threads);
            else
                Gemm.MultiplyTransposed(xp, batch, dims, b, rows, yp, rows, threads);
        }
    }
}
