using EmbedSharp.Diagnostics;

namespace EmbedSharp.Vocabularies;

/// <summary>
/// Masks and padded batches for sequence models: what a PyTorch <c>PaddingIdx</c> user pads with and
/// what a Keras <c>mask_zero</c> user's later layers consume.
/// </summary>
/// <remarks>
/// The mask follows Keras: <c>true</c> marks a real token, <c>false</c> a padding position
/// (<c>mask[i] = ids[i] ≠ paddingId</c>). With <c>mask_zero</c> the padding id is 0, so the vocabulary
/// must reserve id 0 (<see cref="VocabularyOptions.PadUnk"/> does). The mask does not change the
/// lookup itself: row <c>paddingId</c> is still read (torch's padding row is zero and gets no gradient;
/// Keras's row 0 is an ordinary trainable row).
/// </remarks>
public static class PaddingMask
{
    /// <summary>Writes <c>destination[i] = ids[i] ≠ paddingId</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="ids"/>.</exception>
    public static void Compute(ReadOnlySpan<int> ids, int paddingId, Span<bool> destination)
    {
        Guard.MinLength("padding_mask", destination.Length, ids.Length, "one flag per id");
        for (int i = 0; i < ids.Length; i++)
            destination[i] = ids[i] != paddingId;
    }

    /// <summary>Keras <c>mask_zero=True</c>: <c>destination[i] = ids[i] ≠ 0</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="ids"/>.</exception>
    public static void MaskZero(ReadOnlySpan<int> ids, Span<bool> destination) => Compute(ids, 0, destination);

    /// <summary>
    /// Packs sequences into a row-major <c>[sequences.Count, length]</c> id block, right-padded with
    /// <paramref name="paddingId"/> and truncated to <paramref name="length"/>, plus its mask.
    /// </summary>
    /// <param name="sequences">Token ids per sequence.</param>
    /// <param name="paddingId">The id padding positions get (the vocabulary's <see cref="Vocabulary.PaddingId"/>).</param>
    /// <param name="length">Row length; longer sequences are cut.</param>
    /// <param name="ids">Destination ids, at least <c>sequences.Count · length</c>.</param>
    /// <param name="mask">Destination mask of the same size (true = real token), or empty to skip it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="sequences"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="ArgumentException">A destination is too short.</exception>
    public static void Pad(IReadOnlyList<int[]> sequences, int paddingId, int length, Span<int> ids, Span<bool> mask = default)
    {
        const string op = "padding_mask.pad";
        Guard.NotNull(op, sequences);
        Guard.NonNegative(op, length);
        long size = (long)sequences.Count * length;
        Guard.MinLength(op, ids.Length, size, "sequences.Count × length");
        if (!mask.IsEmpty)
            Guard.MinLength(op, mask.Length, size, "sequences.Count × length");
        for (int b = 0; b < sequences.Count; b++)
            if (sequences[b] is null)
                ThrowHelper.Argument(op, nameof(sequences), $"sequences[{b}] is null");
        for (int b = 0; b < sequences.Count; b++)
        {
            int[] seq = sequences[b];
            int n = Math.Min(seq.Length, length);
            Span<int> row = ids.Slice(b * length, length);
            seq.AsSpan(0, n).CopyTo(row);
            row[n..].Fill(paddingId);
            if (!mask.IsEmpty)
            {
                Span<bool> m = mask.Slice(b * length, length);
                m[..n].Fill(true);
                m[n..].Fill(false);
            }
        }
    }
}
