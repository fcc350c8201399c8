using EmbedSharp.Quantization;

namespace EmbedSharp.Search;

public sealed partial class ExactIndex
{
    /// <summary>Rows scored per step of the 4-bit integer scan before their candidates are collected.</summary>
    private const int PackedTile = 256;

    /// <summary>Rows the 4-bit scan scores per call (each call sets up its query pointers once).</summary>
    private const int PackedScanTile = 1024;

    /// <summary>Shortest row range the integer scan takes (shorter ones, such as single allowed ids, are scored row by row).</summary>
    private const int PackedMinRows = 32;

    /// <summary>
    /// The single-query scan over MLX 4-bit rows in the integer domain (<see cref="PackedScan4"/>): a tile of
    /// rows is scored into a small buffer, then collected by the same vectorised floor test as the batched tiles.
    /// With a float32 re-rank behind it the scan is a first pass, so its query is rounded to one byte (half the
    /// integer work); without one the scan's top k is the answer, so the query keeps 16 bits.
    /// </summary>
    private void ScanPacked4(QuantizedTable packed, float[] q, int start, int end, TopKCollector top, SearchFilter? filter)
    {
        var query = new PackedScan4.Query(q, packed.GroupSize, precise: _rerank is null);
        Span<float> scores = stackalloc float[PackedScanTile];
        for (int r0 = start; r0 < end; r0 += PackedScanTile)
        {
            int n = Math.Min(PackedScanTile, end - r0);
            PackedScan4.Score(packed, query, r0, n, scores[..n]);
            Collect(scores[..n], r0, top, filter);
        }
    }

    /// <summary>
    /// The single-query scan over float32 rows a tile at a time: <see cref="SearchKernels.DotRows"/> scores 256 rows
    /// into a small buffer, then the vectorised floor test collects them (no per-row horizontal sum or branch).
    /// </summary>
    private unsafe void ScanFloatTiles(float* rows, float* q, int start, int end, TopKCollector top, SearchFilter? filter)
    {
        float* scores = stackalloc float[PackedTile];
        for (int r0 = start; r0 < end; r0 += PackedTile)
        {
            int n = Math.Min(PackedTile, end - r0);
            SearchKernels.DotRows(rows + (nint)r0 * Dims, Dims, q, n, scores);
            Collect(new ReadOnlySpan<float>(scores, n), r0, top, filter);
        }
    }
}
