using EmbedSharp.Graphs.Training;
using EmbedSharp.Initializers;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Graphs.Tests;

/// <summary>The negative-sampling gradient gatherer: rows come out ascending with their summed values, whether few rows were touched (sorted) or most (scanned), and it is empty again after a build.</summary>
public sealed class RowGradientsTests
{
    [Theory]
    [InlineData(1000)] // few rows of many: sorted
    [InlineData(12)] // most rows: one scan of the slot map
    public void BuildGivesAscendingRowsWithSummedValues(int numRows)
    {
        var g = new RowGradients(numRows, 3);
        int[] touched = [9, 2, 11, 2, 0, 9, 7];
        for (int i = 0; i < touched.Length; i++)
        {
            var row = g.Row(touched[i]);
            row[0] += 1;
            row[2] += i;
        }
        var built = g.Build();
        Assert.Equal([0, 2, 7, 9, 11], built.Rows.ToArray());
        Assert.Equal([1f, 0f, 4f], built.GetRow(0).ToArray());   // row 0: touch 4
        Assert.Equal([2f, 0f, 4f], built.GetRow(1).ToArray());   // row 2: touches 1 and 3
        Assert.Equal([1f, 0f, 6f], built.GetRow(2).ToArray());   // row 7: touch 6
        Assert.Equal([2f, 0f, 5f], built.GetRow(3).ToArray());   // row 9: touches 0 and 5
        Assert.Equal([1f, 0f, 2f], built.GetRow(4).ToArray());   // row 11: touch 2
        Assert.Equal(0, g.Count);
        g.Row(5)[1] = 3;
        var again = g.Build();
        Assert.Equal([5], again.Rows.ToArray());
        Assert.Equal([0f, 3f, 0f], again.GetRow(0).ToArray());
    }

    [Fact]
    public void StepAndClearIsBitForBitAStepOfTheBuiltGradient()
    {
        using var a = new Embedding(30, 5, new EmbeddingOptions { Seed = 4, Initializer = Initializer.Uniform(-1, 1) });
        using var b = new Embedding(30, 5, new EmbeddingOptions { Seed = 4, Initializer = Initializer.Uniform(-1, 1) });
        using var optA = FusedSparseBackward.Create(a.Weight, new Adam(0.01));
        using var optB = FusedSparseBackward.Create(b.Weight, new Adam(0.01));
        var ga = new RowGradients(30, 5);
        var gb = new RowGradients(30, 5);
        var r = new Random(3);
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < 12; i++)
            {
                int row = r.Next(30);
                float v = (float)(r.NextDouble() - 0.5);
                ga.Row(row)[i % 5] += v;
                gb.Row(row)[i % 5] += v;
            }
            ga.StepAndClear(a, optA);
            optB.Step(gb.Build());
            Assert.Equal(0, ga.Count);
        }
        Assert.Equal(b.Weight.AsSpan<float>().ToArray(), a.Weight.AsSpan<float>().ToArray());
    }
}
