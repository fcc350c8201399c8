using EmbedSharp.Graphs.Training;

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
}
