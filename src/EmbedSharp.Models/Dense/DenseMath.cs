namespace EmbedSharp.Models.Dense;

/// <summary>Small helpers shared by the dense layers and losses.</summary>
internal static class DenseMath
{
    /// <summary><c>destination[c, r] = source[r, c]</c> for a <c>rows × cols</c> source, in 32 × 32 blocks.</summary>
    internal static void Transpose(ReadOnlySpan<float> source, int rows, int cols, Span<float> destination)
    {
        const int block = 32;
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int r1 = Math.Min(rows, r0 + block);
            for (int c0 = 0; c0 < cols; c0 += block)
            {
                int c1 = Math.Min(cols, c0 + block);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++)
                        destination[c * rows + r] = source[r * cols + c];
            }
        }
    }
}
