namespace EmbedSharp.Tables;

/// <summary>
/// The public read contract of a table, whatever its storage: dense <see cref="EmbeddingTable"/> rows of any
/// dtype, or MLX-quantized <see cref="Quantization.QuantizedTable"/> rows decoded on the fly. Layers are one
/// type each over this contract (<see cref="EmbeddingBag"/> pools dense or quantized rows alike), and code
/// that only reads rows (search, export, a web explorer) takes it instead of a concrete table.
/// </summary>
/// <remarks>
/// Every method validates its arguments before writing anything and returns float32 values, equal bit for
/// bit across methods (a gathered row equals <see cref="ReadRow"/> of it).
/// </remarks>
public interface IEmbeddingRows
{
    /// <summary>Number of rows (ids <c>0 .. NumEmbeddings-1</c>).</summary>
    int NumEmbeddings { get; }

    /// <summary>Length of each row.</summary>
    int Dims { get; }

    /// <summary><c>destination[i·Dims .. (i+1)·Dims) = row(indices[i])</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside <c>[0, NumEmbeddings)</c>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <c>indices.Length · Dims</c>.</exception>
    void Gather(ReadOnlySpan<int> indices, Span<float> destination);

    /// <summary>Row <paramref name="row"/> as float32 into <paramref name="destination"/> (at least Dims long).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside <c>[0, NumEmbeddings)</c>.</exception>
    void ReadRow(int row, Span<float> destination);

    /// <summary>
    /// The product with the transposed table: for a row-major <c>batch × Dims</c> input <paramref name="x"/>,
    /// <c>destination[b, n] = Σ_k x[b, k] · row(n)[k]</c> (row-major <c>batch × NumEmbeddings</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The spans do not hold <c>batch · Dims</c> and at least <c>batch · NumEmbeddings</c> values.</exception>
    void MatMulTransposed(ReadOnlySpan<float> x, int batch, Span<float> destination);
}
