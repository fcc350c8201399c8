using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Quantization;

public sealed partial class QuantizedTable
{
    /// <summary>How the codes, scales and biases are kept in memory (<see cref="QuantizedRowLayout.Mlx"/> unless converted).</summary>
    public QuantizedRowLayout Layout { get; }

    /// <summary>
    /// Bytes of one <see cref="QuantizedRowLayout.FusedRows"/> record: the row's <see cref="WordsPerRow"/> words,
    /// its scales, then its biases (affine), rounded up to a multiple of 4 (whatever the layout).
    /// </summary>
    /// <remarks>For 128 dims at 4 bits in groups of 64 with float32 scales: 64 + 8 + 8 = 80 bytes.</remarks>
    public int RecordBytes => (CodeBytes + ScaleRowBytes * (HasBiases ? 2 : 1) + 3) & ~3;

    private int CodeBytes => WordsPerRow * 4;

    private int ScaleRowBytes => GroupsPerRow * ScaleElementSize;

    /// <summary>
    /// This table in <paramref name="layout"/>: the same values rearranged (this table when it is already in that
    /// layout). <see cref="QuantizedRowLayout.FusedRows"/> makes one record per row out of MLX's three arrays;
    /// <see cref="QuantizedRowLayout.Mlx"/> splits the records back into them, byte for byte as they were.
    /// <see cref="FusedDequantize"/> carries over.
    /// </summary>
    /// <remarks>
    /// Every read of the result (rows, gathers, bags, products, <see cref="Weight"/>/<see cref="Scales"/>/<see cref="Biases"/>,
    /// MLX checkpoint saves) gives the same bits as the source table. Costs one copy of the table.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layout"/> is not defined, or the records would not fit one array.</exception>
    public QuantizedTable ToLayout(QuantizedRowLayout layout)
    {
        const string op = "quantized.to_layout";
        if (!Enum.IsDefined(layout))
            ThrowHelper.ArgumentOutOfRange(op, nameof(layout), layout, $"layout {(int)layout} is unknown; valid values are Mlx, FusedRows");
        if (layout == Layout)
            return this;
        QuantizedTable result;
        if (layout == QuantizedRowLayout.Mlx)
        {
            result = new QuantizedTable(NumEmbeddings, Dims, GroupSize, Bits, Mode, DType, GlobalScale, SplitWeight(),
                SplitScales(biases: false), HasBiases ? SplitScales(biases: true) : null);
        }
        else
        {
            long total = (long)NumEmbeddings * RecordBytes;
            if (total > Array.MaxLength)
                ThrowHelper.ArgumentOutOfRange(op, nameof(layout), layout,
                    $"{NumEmbeddings} records of {RecordBytes} bytes are too many for one array (at most {Array.MaxLength} bytes); keep the Mlx layout");
            var records = new byte[total];
            int codeBytes = CodeBytes, scaleBytes = ScaleRowBytes, record = RecordBytes;
            for (int r = 0; r < NumEmbeddings; r++)
            {
                Span<byte> rec = records.AsSpan(r * record, record);
                MemoryMarshal.AsBytes(CodesOf(r)).CopyTo(rec);
                ScalesOf(r).CopyTo(rec[codeBytes..]);
                if (HasBiases)
                    BiasesOf(r).CopyTo(rec[(codeBytes + scaleBytes)..]);
            }
            result = new QuantizedTable(NumEmbeddings, Dims, GroupSize, Bits, Mode, DType, GlobalScale, records);
        }
        result.FusedDequantize = FusedDequantize;
        return result;
    }

    /// <summary>The packed words of <paramref name="row"/> (unchecked), in either layout.</summary>
    internal ReadOnlySpan<uint> CodesOf(int row) => Layout == QuantizedRowLayout.Mlx
        ? _weight.Span.Slice(row * WordsPerRow, WordsPerRow)
        : MemoryMarshal.Cast<byte, uint>(_records.Span.Slice(row * RecordBytes, CodeBytes));

    /// <summary>The raw scale bytes of <paramref name="row"/> (unchecked), in either layout.</summary>
    internal ReadOnlySpan<byte> ScalesOf(int row) => Layout == QuantizedRowLayout.Mlx
        ? _scales.Span.Slice(row * ScaleRowBytes, ScaleRowBytes)
        : _records.Span.Slice(row * RecordBytes + CodeBytes, ScaleRowBytes);

    /// <summary>The raw bias bytes of <paramref name="row"/> (unchecked; empty without biases), in either layout.</summary>
    internal ReadOnlySpan<byte> BiasesOf(int row)
    {
        if (!HasBiases)
            return default;
        return Layout == QuantizedRowLayout.Mlx
            ? _biases.Span.Slice(row * ScaleRowBytes, ScaleRowBytes)
            : _records.Span.Slice(row * RecordBytes + CodeBytes + ScaleRowBytes, ScaleRowBytes);
    }

    /// <summary>MLX's <c>wq</c> as a new array, from either layout.</summary>
    private uint[] SplitWeight()
    {
        var weight = new uint[(long)NumEmbeddings * WordsPerRow];
        for (int r = 0; r < NumEmbeddings; r++)
            CodesOf(r).CopyTo(weight.AsSpan(r * WordsPerRow, WordsPerRow));
        return weight;
    }

    /// <summary>MLX's <c>scales</c> (or <c>biases</c>: empty without them) as a new array, from either layout.</summary>
    private byte[] SplitScales(bool biases)
    {
        if (biases && !HasBiases)
            return [];
        int rowBytes = ScaleRowBytes;
        var result = new byte[(long)NumEmbeddings * rowBytes];
        for (int r = 0; r < NumEmbeddings; r++)
            (biases ? BiasesOf(r) : ScalesOf(r)).CopyTo(result.AsSpan(r * rowBytes, rowBytes));
        return result;
    }
}
