namespace EmbedSharp.Numerics;

/// <summary>The three pooling rules as a plain value, for the scalar reference.</summary>
internal enum PoolRule
{
    Sum,
    Mean,
    Max,
}

public static partial class Kernels
{
    /// <summary>
    /// Plain scalar reference for <see cref="PoolBags{TPool, TRows}"/> over a float32 row-major
    /// table: one element at a time, no SIMD, no generics. Tests compare the fast kernel with it.
    /// </summary>
    internal static void PoolBagsReference(PoolRule rule, ReadOnlySpan<float> table, int dims, ReadOnlySpan<int> indices,
        ReadOnlySpan<int> offsets, int end, ReadOnlySpan<float> perSampleWeights, int paddingIdx, Span<float> destination,
        Span<int> source)
    {
        for (int b = 0; b < offsets.Length; b++)
        {
            int start = offsets[b];
            int stop = b + 1 < offsets.Length ? offsets[b + 1] : end;
            for (int d = 0; d < dims; d++)
            {
                float acc = 0;
                int src = -1;
                int count = 0;
                for (int j = start; j < stop; j++)
                {
                    int id = indices[j];
                    if (id == paddingIdx)
                        continue;
                    float v = table[id * dims + d];
                    float w = perSampleWeights.IsEmpty ? 1f : perSampleWeights[j];
                    switch (rule)
                    {
                        case PoolRule.Sum:
                            acc = count == 0 ? (w == 1f ? v : v * w) : (w == 1f ? acc + v : acc + v * w);
                            break;
                        case PoolRule.Mean:
                            acc = count == 0 ? v : acc + v;
                            break;
                        default:
                            if (count == 0 || v > acc || (float.IsNaN(v) && !float.IsNaN(acc)))
                            {
                                acc = v;
                                src = j;
                            }
                            break;
                    }
                    count++;
                }
                if (rule == PoolRule.Mean && count > 1)
                    acc *= 1f / count;
                destination[b * dims + d] = count == 0 ? 0f : acc;
                if (!source.IsEmpty)
                    source[b * dims + d] = src;
            }
        }
    }
}
